"""Every bad input file exits 4 with the file and the place named, sends nothing, and never
shows a traceback: deep nesting, bytes that are not UTF-8, directories, unknown environments."""
from __future__ import annotations

import json

import pytest
from invoke import Config, Context, Exit

import tasks

DEEP = 400  # the adversarial run's case: a RecursionError traceback before


def _nested(levels: int) -> dict:
    doc: dict = {"x": 1}
    for _ in range(levels):
        doc = {"$and": [doc]}
    return doc


@pytest.fixture
def ctx(project, monkeypatch):
    for key, value in project.environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(tasks, "ROOT", project.root)
    return Context(Config(overrides={"sp": {"env": "test"}}))


@pytest.fixture
def _exit(capsys):
    """Run a task that must fail: (exit code, its message and everything it printed)."""
    def run(call) -> tuple[int, str]:
        capsys.readouterr()
        with pytest.raises(Exit) as caught:
            call()
        printed = capsys.readouterr()
        return caught.value.code, f"{caught.value.message}\n{printed.out}\n{printed.err}"

    return run


def _deep_text(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_deeply_nested_definition_files_are_invalid_definitions(ctx, project, _exit):
    project.write("processors", {"name": "deep", "pipeline": [
        {"$source": {"connectionName": "sample_stream_solar"}}, {"$match": _nested(DEEP // 2)},
        {"$emit": {"connectionName": "__testLog"}}]})
    (project.root / "connections" / "deepconn.json").write_text('{"name": "deepconn", "x": ' + _deep_text(DEEP) + "}")
    for call in (lambda: tasks.validate(ctx), lambda: tasks.deploy(ctx, yes=True), lambda: tasks.plan(ctx)):
        code, message = _exit(call)
        assert code == 4
        assert "processors/deep.json" in message and "connections/deepconn.json" in message
        assert "nested more than 100 levels deep" in message
    assert project.emulator.writes_served() == 0


def test_the_mongodb_nesting_limit_itself_is_accepted(ctx, project):
    project.write("processors", {"name": "deep", "pipeline": [
        {"$source": {"connectionName": "sample_stream_solar"}}, {"$match": _nested(46)},  # 1+1+1+1+92+1 = 97 levels
        {"$emit": {"connectionName": "__testLog"}}]})
    tasks.validate(ctx)
    tasks.deploy(ctx, yes=True)
    assert tasks.plan(ctx, detailed_exitcode=True) is None  # deployed, and a second plan is clean


def test_a_deep_or_malformed_plan_file_exits_4_naming_it(ctx, project, tmp_path, _exit):
    tasks.deploy(ctx, yes=True)
    project.emulator.admin("DELETE", "requests")
    deep = tmp_path / "deep-plan.json"
    deep.write_text('{"format_version": 1, "changes": ' + _deep_text(DEEP) + "}")
    latin = tmp_path / "latin-plan.json"
    latin.write_bytes(b'{"environment": "t\xe9st"}')
    cases = {str(deep): "deep-plan.json:1:", str(latin): "latin-plan.json:1:19: byte 0xe9 is not UTF-8",
             str(tmp_path / "missing.json"): "missing.json: no such file", str(tmp_path): "is a directory"}
    for path, fragment in cases.items():
        code, message = _exit(lambda: tasks.deploy(ctx, yes=True, plan=path))
        assert code == 4 and fragment in message, message
    assert project.emulator.writes_served() == 0


def test_a_deep_snapshot_or_a_directory_as_snapshot_exits_4_naming_it(ctx, project, tmp_path, _exit):
    tasks.deploy(ctx, yes=True)
    project.emulator.admin("DELETE", "requests")
    deep = tmp_path / "deep-snapshot.json"
    deep.write_text(json.dumps({"format_version": 1, "environment": "test", "workspace": "ws-test",
                                "connections": [], "processors": []})[:-1] + ', "x": ' + _deep_text(DEEP) + "}")
    for path, fragment in ((deep, "deep-snapshot.json:1:"), (tmp_path, "is a directory"),
                           (tmp_path / "nope.json", "nope.json: no such file")):
        code, message = _exit(lambda: tasks.rollback(ctx, yes=True, snapshot=str(path)))
        assert code == 4 and fragment in message, message
    assert project.emulator.writes_served() == 0


def test_environment_file_problems_exit_4_naming_file_and_line(ctx, project, _exit):
    config = project.root / "environments" / "test" / "config.env"
    good = config.read_bytes()
    config.write_bytes(good + b"REGION=S\xe3o_Paulo\n")
    code, message = _exit(lambda: tasks.plan(ctx))
    assert code == 4 and "environments/test/config.env:6:9: byte 0xe3 is not UTF-8" in message
    config.write_bytes(good + b"this is not a setting\n")
    code, message = _exit(lambda: tasks.deploy(ctx, yes=True))
    assert code == 4 and "config.env line 6: expected KEY=VALUE" in message
    config.write_bytes(good)
    (project.root / "environments" / "test" / "thresholds.json").write_text('{"health": ' + _deep_text(DEEP) + "}")
    code, message = _exit(lambda: tasks.deploy(ctx, yes=True))
    assert code == 4 and "environments/test/thresholds.json:1:" in message
    (project.root / "environments" / "test" / "thresholds.json").write_text('{"health": {"windw_s": 1}}')
    code, message = _exit(lambda: tasks.deploy(ctx, yes=True))
    assert code == 4 and "unknown key(s) windw_s" in message
    code, message = _exit(lambda: tasks.deploy(ctx, env="nowhere", yes=True))
    assert code == 4 and "environment 'nowhere' not found" in message
    assert project.emulator.writes_served() == 0
