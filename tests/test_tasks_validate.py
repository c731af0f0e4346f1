"""`invoke validate` and `invoke tier-advise` as a user and CI run them: output formats and exit codes."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Config, Context, Exit

import tasks

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "cases" / "validate"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the repository's definitions and environments, as the tasks' ROOT."""
    for folder in ("processors", "connections", "environments"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    return tmp_path


def run(task, **kwargs):
    return task(Context(Config(overrides={"sp": {"env": "local"}})), **kwargs)


def break_it(root: Path) -> None:
    shutil.copy(CASES / "missing-sink" / "processors" / "solarNoSink.json", root / "processors")


def test_valid_project_exits_zero(project, capsys):
    run(tasks.validate)
    assert capsys.readouterr().out.strip() == "all definitions are valid"


def test_errors_exit_4_with_text_by_default(project, capsys):
    break_it(project)
    with pytest.raises(Exit) as info:
        run(tasks.validate)
    assert info.value.code == 4
    out = capsys.readouterr().out
    assert "processors/solarNoSink.json:" in out and "[sink-missing]" in out and "::error" not in out


def test_json_format_is_machine_readable(project, capsys):
    break_it(project)
    with pytest.raises(Exit):
        run(tasks.validate, format="json")
    body = json.loads(capsys.readouterr().out)
    assert body["errors"] == 1 and body["diagnostics"][0]["rule"] == "sink-missing"


def test_github_actions_adds_annotations_unless_a_format_is_chosen(project, capsys, monkeypatch):
    break_it(project)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with pytest.raises(Exit):
        run(tasks.validate)
    out = capsys.readouterr().out
    assert "[sink-missing]" in out and "::error file=processors/solarNoSink.json,line=" in out
    with pytest.raises(Exit):
        run(tasks.validate, format="json")
    json.loads(capsys.readouterr().out)


def test_an_unknown_format_exits_1_and_an_unknown_environment_4(project):
    with pytest.raises(Exit) as info:
        run(tasks.validate, format="xml")
    assert info.value.code == 1
    with pytest.raises(Exit) as info:
        run(tasks.validate, env="nowhere")
    assert info.value.code == 4 and "available: local" in str(info.value.message)


def test_tier_advise_uses_recorded_profiles(project, capsys):
    history = project / ".sp" / "local" / "history.csv"  # PERF_ARTIFACTS=.sp: the local environment's default
    history.parent.mkdir(parents=True)
    history.write_text("run_id,timestamp,git_sha,processor,metric,value\n"
                       "r1,2026-01-01T00:00:00Z,abc,solarGroupStats,state_mb,1500\n")
    run(tasks.tier_advise, format="json")
    advice = {a["processor"]: a for a in json.loads(capsys.readouterr().out)["advice"]}
    assert advice["solarGroupStats"]["tier"] == "SP10" and advice["solarHighOutput"]["tier"] == "SP2"


def test_tier_advise_refuses_invalid_definitions_listing_them(project):
    break_it(project)
    with pytest.raises(Exit) as info:
        run(tasks.tier_advise)
    assert info.value.code == 4 and "[sink-missing]" in info.value.message


def test_the_command_line_path_imports_no_heavy_modules():
    script = ("import sys\nfrom invoke import Program\nimport tasks\ncode = 0\n"
              "try:\n    Program(namespace=tasks.ns).run(['invoke', 'validate', '--format', 'json'])\n"
              "except SystemExit as e:\n    code = e.code\n"
              "print([m for m in ('pandas', 'matplotlib', 'scipy', 'mongomock', 'requests') if m in sys.modules])\n"
              "print('exit', code)")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.rstrip().endswith("[]\nexit 0") and '"errors": 0' in out
