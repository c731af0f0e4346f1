"""What users see of the safety rules through the tasks: leftovers in plan/drift, the lock and
`unlock`, saved plans and snapshots that are checked, and rollback to the last verified state."""
import json

import pytest

from deploy_project import FILTER, exit_of
from sp_tasks.clock import FakeClock
from sp_tasks.deploy import lock
import tasks
from test_deploy_lock import LONG_AGO, V2


@pytest.fixture
def ctx(task_ctx):
    return task_ctx


def _code(call) -> int:
    return exit_of(call)[0]


def _plan_file(ctx, capsys, tmp_path):
    path = tmp_path / "plan.json"
    tasks.plan(ctx, out=str(path))
    capsys.readouterr()
    return path


def _kill_mid_blue_green(project):
    """What a blue-green killed after the cut-over began leaves: the original as hot__blue, the green
    copy running, and the dead deployer's lock."""
    client = project.runner().client
    lock.acquire(client, {"operation": "deploy", "strategy": "blue-green"}, clock=FakeClock(LONG_AGO))
    client.create_processor({"name": "hot__green", "pipeline": V2["pipeline"]})
    client.start_processor("hot__green")
    client.stop_processor("hot")
    client.modify_processor("hot", {"name": "hot__blue"})


def test_leftovers_of_a_killed_deploy_show_in_plan_and_drift_and_one_deploy_repairs_them(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    original = project.live_processors()["hot"]["id"]
    project.write("processors", V2)
    _kill_mid_blue_green(project)
    capsys.readouterr()
    for run in (lambda: tasks.plan(ctx, detailed_exitcode=True), lambda: tasks.plan(ctx, detailed_exitcode=True,
                                                                                      prune=True),
                lambda: tasks.drift(ctx)):
        assert _code(run) == 2
        out = capsys.readouterr().out
        assert "Stale lock" in out and "hot__green: delete" in out and "rename (from hot__blue" in out
    tasks.deploy(ctx, yes=True, strategy="blue-green")
    assert "applied and verified" in capsys.readouterr().out
    live = project.live_processors()
    assert live["hot__blue"]["id"] == original and live["hot"]["pipeline"] == V2["pipeline"]
    assert "hot__green" not in live and _code(lambda: tasks.drift(ctx)) == 0


def test_unlock_asks_first_then_breaks_the_lock(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    with project.runner().locked("deploy", strategy="canary"):
        capsys.readouterr()
        tasks.plan(ctx)
        assert "Locked: a canary deploy by" in capsys.readouterr().out
        assert _code(lambda: tasks.unlock(ctx)) == 1  # no terminal, no --yes
        assert project.runner().live().extra["locks"]
        tasks.unlock(ctx, yes=True)
        assert "deploy lock broken" in capsys.readouterr().out
        assert not project.runner().live().extra["locks"]
    tasks.unlock(ctx, yes=True)
    assert "no deploy lock" in capsys.readouterr().out


def test_a_saved_plan_with_a_change_added_by_hand_is_refused_and_nothing_is_sent(ctx, project, capsys, tmp_path):
    tasks.deploy(ctx, yes=True)
    project.write("processors", V2)
    path = _plan_file(ctx, capsys, tmp_path)
    doc = json.loads(path.read_text())
    hot = next(c for c in doc["changes"] if c["name"] == "hot")
    evil = {**hot, "name": "evil", "action": "create", "before": None, "live_state": None,
            "after": {**hot["after"], "name": "evil", "pipeline": [FILTER["pipeline"][0], {
                "$merge": {"into": {"connectionName": "cluster", "db": "other", "coll": "stolen"}}}]}}
    path.write_text(json.dumps({**doc, "changes": doc["changes"] + [evil]}))
    project.emulator.admin("DELETE", "requests")
    assert _code(lambda: tasks.deploy(ctx, yes=True, plan=str(path))) == 1
    assert project.emulator.writes_served() == 0 and "evil" not in project.live_processors()
    hot["after"]["pipeline"][1] = {"$match": {}}  # an edited change is refused the same way
    path.write_text(json.dumps(doc))
    assert _code(lambda: tasks.deploy(ctx, yes=True, plan=str(path))) == 1
    assert project.emulator.writes_served() == 0
    tasks.deploy(ctx, yes=True, plan=str(_plan_file(ctx, capsys, tmp_path)))  # the file as written applies
    assert project.live_processors()["hot"]["pipeline"] == V2["pipeline"]


def test_a_snapshot_of_another_target_or_with_invalid_definitions_sends_nothing(ctx, project, capsys, tmp_path):
    tasks.deploy(ctx, yes=True)
    tasks.snapshot(ctx, out=str(tmp_path / "mine.json"))
    doc = json.loads((tmp_path / "mine.json").read_text())
    project.emulator.admin("DELETE", "requests")
    for key, value in (("environment", "production"), ("workspace", "ws-prod"), ("project_id", "f" * 24)):
        other = tmp_path / f"{key}.json"
        other.write_text(json.dumps({**doc, key: value}))
        assert _code(lambda: tasks.rollback(ctx, snapshot=str(other), yes=True)) == 1
    broken = json.loads(json.dumps(doc))
    broken["processors"][0]["pipeline"] = "notalist"
    (tmp_path / "broken.json").write_text(json.dumps(broken, indent=2))
    capsys.readouterr()
    assert _code(lambda: tasks.rollback(ctx, snapshot=str(tmp_path / "broken.json"), yes=True)) == 4
    assert project.emulator.writes_served() == 0


def test_after_a_crash_and_a_converging_redeploy_rollback_restores_the_last_verified_state(ctx, project, capsys):
    tasks.deploy(ctx, yes=True)
    first = project.live_processors()["hot"]["id"]
    project.write("processors", V2)
    client = project.runner().client  # a deploy killed half-way: hot stopped and modified, logger stopped
    client.stop_processor("hot")
    client.modify_processor("hot", {"pipeline": V2["pipeline"]})
    client.stop_processor("logger")
    tasks.deploy(ctx, yes=True)  # converges; its pre-deploy snapshot is the half-applied state
    capsys.readouterr()
    tasks.rollback(ctx, list=True, format="json")
    listed = json.loads(capsys.readouterr().out)
    reasons = [(s["reason"], s["verified"], s["is_live"]) for s in listed["snapshots"]]
    assert reasons[:3] == [("deployed", True, True), ("pre-deploy", False, False), ("deployed", True, False)]
    assert listed["default"] == listed["snapshots"][2]["path"]
    tasks.rollback(ctx, yes=True)
    live = project.live_processors()
    assert live["hot"]["pipeline"] == FILTER["pipeline"] and live["hot"]["id"] == first
    assert {name: p["state"] for name, p in live.items()} == {"hot": "STARTED", "per_group": "STARTED",
                                                              "logger": "STARTED"}
    tasks.rollback(ctx, list=True)
    assert "* " in capsys.readouterr().out


def test_a_saved_targeted_plan_is_derived_again_for_the_same_processors(ctx, project, capsys, tmp_path):
    from deploy_project import LOGGER

    tasks.deploy(ctx, yes=True)
    project.write("processors", V2)
    project.write("processors", {**LOGGER, "pipeline": [LOGGER["pipeline"][0], {"$project": {"device_id": 1}},
                                                         LOGGER["pipeline"][2]]})
    path = tmp_path / "hot-only.json"
    tasks.plan(ctx, processor=["hot"], out=str(path))
    assert _code(lambda: tasks.deploy(ctx, yes=True, plan=str(path))) == 0  # no -p given again: the file's
    live = project.live_processors()
    assert live["hot"]["pipeline"] == V2["pipeline"] and live["logger"]["pipeline"] == LOGGER["pipeline"]
