"""The invoke tasks as CI calls them: exit codes, formats, confirmation, rollback by Git revision."""
import json
import subprocess

import pytest
from invoke import Config, Context, Exit

import tasks
from deploy_project import FILTER


@pytest.fixture
def ctx(project, monkeypatch):
    monkeypatch.setattr(tasks, "ROOT", project.root)
    for key, value in project.environ.items():
        monkeypatch.setenv(key, value)
    return Context(Config(overrides={"sp": {"env": "test"}}))


def _exit_code(call) -> int:
    try:
        call()
    except Exit as exc:
        return exc.code
    return 0


def test_plan_detailed_exitcode_is_2_with_changes_then_0_after_deploy(ctx, capsys):
    assert _exit_code(lambda: tasks.plan(ctx, detailed_exitcode=True)) == 2
    assert "Plan: 5 to create" in capsys.readouterr().out  # 3 processors, cluster, sample source
    tasks.deploy(ctx, yes=True, format="json")
    result = json.loads(capsys.readouterr().out)
    assert result["applied"]["ok"] and result["message"] == "applied and verified"
    assert _exit_code(lambda: tasks.plan(ctx, detailed_exitcode=True)) == 0
    assert _exit_code(lambda: tasks.drift(ctx)) == 0


def test_a_deploy_says_when_it_retries_a_429(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    project.emulator.faults({"method": "GET", "path": "/processors$", "status": 429,
                             "headers": {"Retry-After": "0"}, "count": 1})
    capsys.readouterr()
    assert _exit_code(lambda: tasks.deploy(ctx, yes=True)) == 0
    err = capsys.readouterr().err
    assert "retrying GET" in err and "429" in err, err  # the wait is said, not silent


def test_deploy_without_yes_in_a_non_interactive_session_refuses_and_sends_nothing(ctx, project, capsys):
    project.emulator.admin("DELETE", "requests")
    code = _exit_code(lambda: tasks.deploy(ctx))
    assert code == 1 and project.emulator.writes_served() == 0  # not even the workspace: refused before it
    assert not project.live_processors()


def test_invalid_definitions_exit_4(ctx, project):
    project.write("processors", {"name": "bad", "pipeline": []})
    assert _exit_code(lambda: tasks.deploy(ctx, yes=True)) == 4
    assert _exit_code(lambda: tasks.plan(ctx)) == 4


def test_drift_exits_2_when_someone_changed_production_by_hand(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    project.runner().client.stop_processor("hot")
    capsys.readouterr()
    assert _exit_code(lambda: tasks.drift(ctx, format="markdown")) == 2
    assert "hot" in capsys.readouterr().out


def test_rollback_to_a_git_revision(ctx, project, capsys):
    git = lambda *args: subprocess.run(["git", "-C", str(project.root), *args], check=True,  # noqa: E731
                                       capture_output=True)
    git("init", "-q")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "v1")
    tasks.deploy(ctx, yes=True)
    project.write("processors", {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"group_id": 1}},
                                                         FILTER["pipeline"][2]]})
    tasks.deploy(ctx, yes=True)
    assert project.live_processors()["hot"]["pipeline"][1] == {"$match": {"group_id": 1}}
    tasks.rollback(ctx, to_ref="HEAD", yes=True)
    assert project.live_processors()["hot"]["pipeline"] == FILTER["pipeline"]
    assert _exit_code(lambda: tasks.rollback(ctx, to_ref="no-such-ref", yes=True)) == 1


def test_rollback_defaults_to_the_latest_pre_deploy_snapshot(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    project.remove("processors", "logger")
    tasks.deploy(ctx, yes=True, prune=True)
    assert "logger" not in project.live_processors()
    tasks.rollback(ctx, yes=True)
    assert project.live_processors()["logger"]["state"] == "STARTED"
    assert "rolled back to" in capsys.readouterr().out


def test_a_failed_deploy_still_prints_its_json_result(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    project.write("processors", {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"group_id": 2}},
                                                         FILTER["pipeline"][2]]})
    project.emulator.faults({"processor": "hot", "fail_on_start": True, "count": 1})
    capsys.readouterr()
    assert _exit_code(lambda: tasks.deploy(ctx, yes=True, format="json")) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["applied"]["ok"] is False and result["rolled_back"]["ok"] is True
    assert "rolled back" in result["message"]
