"""invoke deploy/plan/rollback -p NAME: only those processors and the connections they use; the rest
untouched and said so (the pure filter is tested in tests/planning/test_targeting.py)."""
import json

import pytest

import tasks
from deploy_project import FILTER, LOGGER, exit_of as _run


@pytest.fixture
def ctx(task_ctx):
    return task_ctx


def _code(call) -> int:
    return _run(call)[0]


def _edit(project, doc, match):
    project.write("processors", {**doc, "pipeline": [doc["pipeline"][0], match, doc["pipeline"][2]]})


def test_deploy_one_processor_creates_it_and_its_connections_only(ctx, project, capsys):
    tasks.deploy(ctx, yes=True, processor=["hot"])
    out = capsys.readouterr().out
    assert set(project.live_processors()) == {"hot"}
    assert {c.name for c in project.runner().live().connections} == {"cluster", "sample_stream_solar"}
    assert "Left untouched: 2 processor(s) (logger, per_group)" in out and "applied and verified" in out


def test_plan_and_deploy_leave_the_other_changed_processors_alone(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    _edit(project, FILTER, {"$match": {"obs.watts": {"$gt": 5}}})
    _edit(project, LOGGER, {"$project": {"device_id": 1}})
    capsys.readouterr()
    assert _code(lambda: tasks.plan(ctx, processor=["logger"], detailed_exitcode=True, format="json")) == 2
    plan = json.loads(capsys.readouterr().out)
    assert [(c["name"], c["action"]) for c in plan["changes"] if c["action"] != "no-op"] == [("logger", "update")]
    assert plan["targets"] == ["logger"] and plan["untouched_processors"] == ["hot", "per_group"]
    tasks.deploy(ctx, yes=True, processor=["logger"])
    live = project.live_processors()
    assert live["logger"]["pipeline"][1] == {"$project": {"device_id": 1}}
    assert live["hot"]["pipeline"] == FILTER["pipeline"]  # still the old definition: untouched
    assert _code(lambda: tasks.plan(ctx, processor=["hot"], detailed_exitcode=True)) == 2


def test_rollback_one_processor_restores_only_it(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    _edit(project, FILTER, {"$match": {"obs.watts": {"$gt": 5}}})
    _edit(project, LOGGER, {"$project": {"device_id": 1}})
    tasks.deploy(ctx, yes=True)
    tasks.rollback(ctx, yes=True, processor=["hot"])
    live = project.live_processors()
    assert live["hot"]["pipeline"] == FILTER["pipeline"]
    assert live["logger"]["pipeline"][1] == {"$project": {"device_id": 1}}  # the newer one stays


def test_prune_with_a_target_deletes_only_that_processor(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    project.remove("processors", "logger")
    project.remove("processors", "per_group")
    tasks.deploy(ctx, yes=True, prune=True, processor=["logger"])
    assert set(project.live_processors()) == {"hot", "per_group"}


def test_an_unknown_target_is_refused_before_any_write(ctx, project, capsys):
    project.emulator.admin("DELETE", "requests")
    code, message = _run(lambda: tasks.deploy(ctx, yes=True, processor=["hott"]))
    assert code == 1 and "--processor hott: no such processor defined in processors/ (did you mean hot?" in message
    assert project.emulator.requests_served()["total"] == 0  # an option error: not even a read


def test_with_prune_a_live_only_target_is_checked_against_the_workspace(ctx, project):
    tasks.deploy(ctx, yes=True)
    project.emulator.admin("DELETE", "requests")
    code, message = _run(lambda: tasks.deploy(ctx, yes=True, prune=True, processor=["nosuch"]))
    assert code == 1 and "no such processor defined (processors/" in message and project.emulator.writes_served() == 0


def test_with_prune_a_target_typo_is_refused_before_the_workspace_is_created(ctx, project):
    """The -p check with --prune needs live state, so it waited for the first plan — after the
    workspace had been created. Now it comes right after the first read: nothing is written."""
    project.emulator.admin("DELETE", "requests")
    code, message = _run(lambda: tasks.deploy(ctx, yes=True, prune=True, processor=["hott"]))
    assert code == 1 and "--processor hott: no such processor" in message and "did you mean hot?" in message
    assert project.emulator.writes_served() == 0 and project.runner().live().workspace is None


def test_drift_of_one_processor_ignores_drift_elsewhere(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    project.runner().client.stop_processor("hot")  # changed by hand in the workspace
    capsys.readouterr()
    assert _code(lambda: tasks.drift(ctx, processor=["logger"])) == 0
    assert "Left untouched: 2 processor(s) (hot, per_group)" in capsys.readouterr().out
    assert _code(lambda: tasks.drift(ctx, processor=["hot"], format="json")) == 2
    plan = json.loads(capsys.readouterr().out)
    assert plan["targets"] == ["hot"] and [c["action"] for c in plan["changes"] if c["action"] != "no-op"] == ["start"]
    project.emulator.admin("DELETE", "requests")
    code, message = _run(lambda: tasks.drift(ctx, processor=["hott"]))
    assert code == 1 and "did you mean hot?" in message and project.emulator.requests_served()["total"] == 0
