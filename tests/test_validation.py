"""Validation: the golden corpus in tests/cases/validate, plus placement, lines and renderings.

Each corpus scenario is a small project (processors/, connections/, optional config.env lines)
with ``expected.json`` listing every (file, rule) error and warning it must produce — exactly:
a broken file gets its errors, a valid file gets none, and nothing else is reported.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sp_tasks.desired import load_project
from sp_tasks.diagnostics import Diagnostic, render_github, render_json, render_text
from sp_tasks.settings import load_settings
from sp_tasks.validation import validate_project

CASES = Path(__file__).parent / "cases" / "validate"
SCENARIOS = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def validate_dir(source: Path, tmp_path: Path) -> list[Diagnostic]:
    root = tmp_path / "project"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("README", "expected.json", "config.env"))
    env = root / "environments" / "test"
    env.mkdir(parents=True)
    extra = (source / "config.env").read_text() if (source / "config.env").exists() else ""
    (env / "config.env").write_text((CASES / "config.env").read_text() + extra)
    return validate_project(load_project(load_settings("test", root, environ={})))


def test_corpus_is_large_and_covers_valid_and_broken_files():
    expected = [json.loads((CASES / s / "expected.json").read_text()) for s in SCENARIOS]
    assert len(SCENARIOS) >= 40
    assert sum(not e["errors"] for e in expected) >= 15
    assert len({rule for e in expected for _, rule in e["errors"]}) >= 30


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_corpus_scenario(scenario, tmp_path):
    source = CASES / scenario
    assert (source / "README").read_text().strip(), "every scenario says why it exists"
    expected = json.loads((source / "expected.json").read_text())
    found = validate_dir(source, tmp_path)
    errors = sorted({(d.file, d.rule) for d in found if d.is_error})
    warnings = sorted({(d.file, d.rule) for d in found if not d.is_error})
    assert errors == sorted(map(tuple, expected["errors"])), render_text(found)
    assert warnings == sorted(map(tuple, expected["warnings"])), render_text(found)
    files = {p.relative_to(source).as_posix() for p in source.glob("*/*.json")}
    assert {f for f, _ in errors} <= files and all(d.line >= 1 for d in found)


def test_repository_examples_are_valid_in_every_environment():
    repo = Path(__file__).resolve().parents[1]
    environ = {"MONGODB_ATLAS_PROJECT_ID": "0123456789abcdef01234567", "KAFKA_BOOTSTRAP_SERVERS": "b:9092",
               "KAFKA_USERNAME": "u", "KAFKA_PASSWORD": "p"}
    for env in ("local", "staging", "production"):
        assert validate_project(load_project(load_settings(env, repo, environ=environ))) == [], env


def test_diagnostics_point_at_the_line_of_the_problem(tmp_path):
    found = validate_dir(CASES / "sink-in-the-middle", tmp_path)
    [sink] = [d for d in found if d.rule == "sink-not-last"]
    text = (CASES / "sink-in-the-middle" / sink.file).read_text().splitlines()
    # The element starts on its own "{" line (json.dumps layout); its operator is on the next.
    assert sink.pointer == "/pipeline/1" and text[sink.line - 1].strip() == "{" and '"$merge"' in text[sink.line]
    [syntax] = validate_dir(CASES / "malformed-json-processor", tmp_path / "b")
    assert (syntax.line, syntax.pointer) == (6, "") and "column 3" in syntax.message


def test_one_mistake_seen_by_schema_and_rules_is_reported_once(tmp_path):
    found = validate_dir(CASES / "dlq-missing-coll", tmp_path)
    assert [(d.pointer, d.rule) for d in found] == [("/options/dlq/coll", "required-field")]


def test_unset_variable_names_the_variable_and_where_to_set_it(tmp_path):
    [diag] = validate_dir(CASES / "unset-variable", tmp_path)
    assert diag.pointer == "/bootstrapServers"
    assert "${KAFKA_BROKERS} is not set" in diag.message and "environments/test/config.env" in diag.message


def test_inline_secret_message_never_repeats_the_secret(tmp_path):
    found = validate_dir(CASES / "inline-kafka-password", tmp_path)
    assert [d.pointer for d in found] == ["/authentication/password"]
    assert "s3cr3t" not in render_json(found) and "${EVENTSKAFKA_PASSWORD}" in found[0].message


SAMPLE = [Diagnostic("processors/a.json", 12, "/pipeline/2", "sink-missing", "error", "add a sink, 100%: now"),
          Diagnostic("connections/k.json", 1, "/name", "unused-connection", "warning", "unused")]


def test_json_rendering_is_the_documented_contract():
    body = json.loads(render_json(SAMPLE))
    assert set(body) == {"diagnostics", "errors", "warnings"} and (body["errors"], body["warnings"]) == (1, 1)
    assert body["diagnostics"][1] == {"file": "processors/a.json", "line": 12, "pointer": "/pipeline/2",
                                      "rule": "sink-missing", "severity": "error", "message": "add a sink, 100%: now"}


def test_github_annotations_escape_their_data():
    lines = render_github(SAMPLE).splitlines()
    assert lines[1] == "::error file=processors/a.json,line=12,title=sink-missing::add a sink, 100%25: now"
    assert lines[0].startswith("::warning file=connections/k.json,line=1,")


def test_text_rendering_is_compiler_style_with_a_summary():
    text = render_text(SAMPLE)
    assert "processors/a.json:12: error: add a sink, 100%: now [sink-missing] at /pipeline/2" in text
    assert text.endswith("1 error, 1 warning")
    assert render_text([]) == "all definitions are valid"
