"""Desired state: files -> rendered, ordered documents with line maps; ${VAR} rules; secret places.

The secret rules themselves are tested in tests/test_secrets.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sp_tasks.desired import build_state, load_desired, load_project, render
from sp_tasks.errors import ValidationFailed
from sp_tasks.model import ProcessorState
from sp_tasks.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
PID = "0123456789abcdef01234567"


def make_project(tmp_path: Path, files: dict[str, object], config: str = "") -> Path:
    env = tmp_path / "environments" / "dev"
    env.mkdir(parents=True)
    (env / "config.env").write_text(f"PROJECT_ID={PID}\nWORKSPACE_NAME=ws\n{config}")
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else
                         (content if isinstance(content, str) else json.dumps(content, indent=2)).encode())
    return tmp_path


def test_the_repository_examples_load_rendered_and_in_key_order():
    state = load_desired(load_settings("local", REPO, environ={}))
    assert {p.name for p in state.processors} >= {"solarHighOutput", "solarGroupStats", "solarValidated",
                                                 "solarEventsToKafka"}
    kafka = state.connection("eventsKafka")
    assert kafka.body["authentication"]["password"] == "local-only"
    assert kafka.secret_paths == ("/authentication/password",)
    assert "local-only" not in repr(kafka)
    assert state.connection("solarCluster").body["clusterName"] == "LocalCluster"
    window = state.processor("solarGroupStats")
    assert window.tier == "SP10" and window.file == "processors/solarGroupStats.json"
    group = window.pipeline[1]["$tumblingWindow"]["pipeline"][0]["$group"]
    assert list(group) == ["_id", "max_temp", "avg_watts", "max_watts", "min_watts", "readings"]


def test_processor_fields_and_file_only_keys(tmp_path):
    proc = {"$schema": "x", "description": "d", "name": "p", "state": "STOPPED",
            "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "__testLog"}}]}
    conn = {"description": "d", "name": "c", "type": "Https", "url": "https://x", "headers": {"X-Api-Key": "${KEY}"}}
    root = make_project(tmp_path, {"processors/p.json": proc, "connections/c.json": conn}, "KEY=k\n")
    project = load_project(load_settings("dev", root, environ={}))
    assert [f.path for f in project.files] == ["processors/p.json", "connections/c.json"]
    spec = project.files[0]
    assert spec.line_of("/pipeline/1") == 12  # json.dumps(indent=2): one key per line
    state = build_state(project)
    assert state.processors[0].desired_state is ProcessorState.STOPPED and state.processors[0].options is None
    assert state.connections[0].body == {"name": "c", "type": "Https", "url": "https://x", "headers": {"X-Api-Key": "k"}}
    assert state.connections[0].secret_paths == ("/headers/X-Api-Key",)


def test_render_replaces_placeholders_in_strings_only():
    problems = []
    doc = {"${K}": "a-${A}-b", "path": "$obs.watts", "n": 3, "l": ["${A}"]}
    out = render(doc, {"A": "1", "K": "x"}.get, "", problems)
    assert out == {"${K}": "a-1-b", "path": "$obs.watts", "n": 3, "l": ["1"]} and problems == []


def test_typed_placeholders_convert_whole_string_values():
    values = {"N": "8", "F": "0.5", "B": "true", "S": "08"}.get
    problems = []
    out = render(["${N:int}", "${F:number}", "${N:number}", "${B:bool}", "${S:string}"], values, "", problems)
    assert out == [8, 0.5, 8, True, "08"] and problems == []


@pytest.mark.parametrize("value, rule", [
    ("${MISSING}", "unset-variable"),
    ("x ${MISSING} y", "unset-variable"),
    ("${N:int} partitions", "placeholder-syntax"),
    ("${not valid}", "placeholder-syntax"),
    ("${HIGH_COLL", "placeholder-syntax"),  # no closing brace: would be sent as a collection name
    ("coll_${A}_${B", "placeholder-syntax"),
    ("${WORD:int}", "placeholder-type"),
])
def test_placeholder_problems_are_reported_and_the_text_kept(value, rule):
    problems = []
    out = render({"a": [value]}, {"N": "8", "WORD": "eight"}.get, "", problems, "environments/dev/config.env")
    assert out == {"a": [value]}
    assert [(p.pointer, p.rule) for p in problems] == [("/a/0", rule)]
    if rule == "unset-variable":
        assert "add MISSING=... to environments/dev/config.env or export MISSING" in problems[0].message


def test_an_unclosed_placeholder_names_the_fix():
    problems = []
    render("${HIGH_COLL", {"HIGH_COLL": "x"}.get, "/coll", problems)
    assert problems[0].message == '"${HIGH_COLL" has no closing brace: write ${HIGH_COLL}'


def test_load_desired_refuses_an_invalid_project_with_every_diagnostic(tmp_path):
    root = make_project(tmp_path, {"processors/a.json": "{ nope", "processors/b.json": {"name": "c", "pipeline": []}})
    with pytest.raises(ValidationFailed) as info:
        load_desired(load_settings("dev", root, environ={}))
    assert {(d.file, d.rule) for d in info.value.diagnostics} >= {
        ("processors/a.json", "json-syntax"), ("processors/b.json", "name-mismatch"), ("processors/b.json", "invalid-value")}
    assert info.value.exit_status == 4


def test_unreadable_bytes_and_bom(tmp_path):
    proc = b'\xef\xbb\xbf{"name": "p", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},' \
           b' {"$emit": {"connectionName": "__testLog"}}]}'
    root = make_project(tmp_path, {"processors/p.json": proc, "processors/q.json": b'{"name": "\xff"}'})
    files = load_project(load_settings("dev", root, environ={})).files
    assert files[0].syntax_error is None and files[0].doc["name"] == "p"
    assert files[1].syntax_error.reason == "byte 0xff is not UTF-8 text; save the definition file as UTF-8"
    assert (files[1].syntax_error.line, files[1].syntax_error.column) == (1, 11)


def test_values_rendered_from_secret_looking_variables_are_secret_places(tmp_path):
    stage = {"$https": {"connectionName": "api", "as": "r", "onError": "ignore",
                        "headers": {"Authorization": "Bearer ${API_TOKEN}", "X-Client": "${CLIENT_SIGNING_KEY}"},
                        "parameters": {"region": "${REGION}"}}}
    proc = {"name": "p", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}}, stage,
                                      {"$emit": {"connectionName": "__testLog"}}]}
    conn = {"name": "api", "type": "Https", "url": "https://x/?k=${API_TOKEN}", "description": "${API_TOKEN}"}
    config = "API_TOKEN=tok-1\nCLIENT_SIGNING_KEY=sk-2\nREGION=eu\n"
    root = make_project(tmp_path, {"processors/p.json": proc, "connections/api.json": conn}, config)
    state = build_state(load_project(load_settings("dev", root, environ={})))
    spec = state.processor("p")
    assert spec.secret_paths == ("/pipeline/1/$https/headers/Authorization", "/pipeline/1/$https/headers/X-Client")
    assert "tok-1" not in repr(spec) and "sk-2" not in repr(spec) and "'region': 'eu'" in repr(spec)
    assert state.connection("api").secret_paths == ("/url",)  # the description is never sent

