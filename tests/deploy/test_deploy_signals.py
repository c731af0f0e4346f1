"""SIGINT, SIGTERM and SIGHUP all end in the rollback; a second signal does not cut it short; the
last line says where the workspace stands; after kill -9 the next plan shows what is left and one
deploy repairs it. Real signals to a real deployer process, at named step boundaries."""
import signal

import pytest

from child import KILL, at, run_child
from deploy_project import FILTER
from polling import wait_for
from sp_tasks.deploy import service, snapshots
from test_deploy_lock import V2


def _hold(project, method, path, ms=1500):
    """Keep the child inside the step that sends this request while the signal arrives."""
    project.emulator.faults({"method": method, "path": path, "delay_ms": ms, "count": 1})


def _before(project):
    service.deploy(project.runner(), project.desired())
    hot = project.live_processors()["hot"]
    project.write("processors", V2)
    return hot["id"], hot["stats"]["inputMessageCount"]


def _assert_as_before(project, identity):
    live = project.live_processors()
    assert live["hot"]["id"] == identity[0] and live["hot"]["stats"]["inputMessageCount"] >= identity[1]
    assert live["hot"]["pipeline"] == FILTER["pipeline"]
    assert {p["state"] for p in live.values()} == {"STARTED"}
    assert not any(name.startswith("hot__") for name in live)
    assert not project.runner().live().extra["locks"]


@pytest.mark.parametrize("strategy, step, request_path, sig", [
    ("blue-green", "start processor: hot__green", "/processor/hot__green:startWith$", signal.SIGTERM),
    ("canary", "start processor: hot__canary", "/processor/hot__canary:startWith$", signal.SIGINT),
    ("in-place", "stop processor: hot", "/processor/hot:stop$", signal.SIGHUP),
])
def test_a_signal_mid_deploy_rolls_back_and_the_last_line_says_so(project, strategy, step, request_path, sig):
    identity = _before(project)
    _hold(project, "POST", request_path)
    run = run_child(project, "deploy", "yes=true", f"strategy={strategy}", on_line=at(project, (step, request_path, sig)))
    assert run.code == 130, run.lines
    assert run.saw(f"{sig.name} received: stopping after the step in progress")
    assert "rolled back" in run.last_line and "as it was before the deploy" in run.last_line
    _assert_as_before(project, identity)


def test_sigint_then_sigterm_as_ci_cancels_and_a_signal_during_the_rollback_do_not_cut_it_short(project):
    identity = _before(project)
    _hold(project, "POST", "/processor/hot__green:startWith$")
    _hold(project, "DELETE", "/processor/hot__green$")  # the rollback removes the green copy
    run = run_child(project, "deploy", "yes=true", "strategy=blue-green", on_line=at(
        project, ("start processor: hot__green", "/processor/hot__green:startWith$", signal.SIGINT),
        ("SIGINT received", None, signal.SIGTERM),
        ("delete processor: hot__green", "/processor/hot__green$", signal.SIGTERM)))
    assert run.code == 130, run.lines
    assert run.saw("SIGTERM again: already stopping")
    assert run.saw("SIGTERM received while rolling back: finishing the rollback")
    assert "rolled back" in run.last_line
    _assert_as_before(project, identity)


def test_after_kill_9_mid_cut_over_plan_shows_what_is_left_and_one_deploy_repairs_it(project):
    identity = _before(project)
    _hold(project, "PATCH", "/processor/hot$")  # the rename hot → hot__blue
    run = run_child(project, "deploy", "yes=true", "strategy=blue-green",
                    on_line=at(project, ("rename processor: hot", "/processor/hot$", KILL)))
    assert run.code == -KILL
    wait_for(lambda: "hot__blue" in project.live_processors())  # the rename the child sent still lands
    runner = project.runner()
    plan = runner.plan(project.desired(), runner.live())
    assert plan.lock and not plan.lock["live"] and "is gone" in plan.lock["stale_because"]
    assert [(c.action.value, c.name) for c in plan.changes if c.repair] == [("delete", "hot__green"),
                                                                           ("rename", "hot")]
    outcome = service.deploy(project.runner(), project.desired(), strategy="blue-green")
    assert outcome.message == "applied and verified"
    live = project.live_processors()
    assert live["hot__blue"]["id"] == identity[0] and live["hot__blue"]["stats"]["inputMessageCount"] >= identity[1]
    assert live["hot"]["pipeline"] == V2["pipeline"] and "hot__green" not in live
    assert not project.runner().live().extra["locks"]


def test_a_start_still_under_way_from_a_killed_deployer_does_not_break_the_rollback(project):
    """Atlas shows STOPPED until a start it accepted is done: a rollback planned on that sees a
    stopped processor, and its modify is refused (INVALID_STATE); it must wait, stop and go on."""
    from sp_tasks.emulator.lifecycle import PENDING

    identity = _before(project)
    project.emulator.admin("POST", "config", {"lifecycle": {"processor_start": 3}})
    _hold(project, "POST", "/processor/hot:startWith$", ms=500)
    run_child(project, "deploy", "yes=true", on_line=at(project, ("start processor: hot", "/processor/hot:startWith$",
                                                                  KILL)))
    store = project.emulator.backend.store
    wait_for(lambda: PENDING in (store.get("processors", project.settings().project_id, "hot", "ws-test") or {}))  # the start landed
    seen = project.runner().client.get_processor("hot")  # as Atlas shows it while it starts: the old state,
    assert (seen["state"], seen["stats"]["status"]) == ("STOPPED", "starting")  # only stats.status tells
    found = snapshots.candidates(project.root, project.settings(), project.runner().live())
    rolled = service.rollback(project.runner(), snapshots.default_target(found, "test").path, project.desired())
    assert rolled.message.startswith("rolled back")
    _assert_as_before(project, identity)
