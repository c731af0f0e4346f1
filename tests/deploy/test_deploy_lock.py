"""The deploy lock lives in the workspace: one deploy at a time across machines, stale after its
lease, breakable with `invoke unlock`, never a user processor."""
import subprocess
import sys
import threading
from datetime import datetime, timezone

import pytest

from deploy_project import FILTER
from sp_tasks.clock import FakeClock
from sp_tasks.deploy import lock, service
from sp_tasks.errors import DeployError, LockHeld

V2 = {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"obs.watts": {"$gt": 120}}}, FILTER["pipeline"][2]]}
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _deploy(project, runner=None, **kwargs):
    return service.deploy(runner or project.runner(), project.desired(), **kwargs)


def _locks(project):
    return project.runner().live().extra["locks"]


def _dead_lock(project, **record):
    """A lock left by a deployer that died: its lease ran out long ago (or its process is gone)."""
    client = project.runner().client
    lease = lock.acquire(client, {"operation": "deploy", "strategy": "blue-green", **record}, clock=FakeClock(LONG_AGO))
    return lease.name


def test_a_deploy_while_another_holds_the_lock_is_refused_and_sends_nothing(project):
    _deploy(project)
    project.write("processors", V2)
    holder = project.runner()
    with holder.locked("deploy", strategy="canary"):
        project.emulator.admin("DELETE", "requests")
        other = project.runner()
        plan = other.plan(project.desired(), other.live())
        assert plan.lock["live"] and plan.lock["strategy"] == "canary"
        with pytest.raises(LockHeld, match="locked by a canary deploy"):
            _deploy(project, other)
        assert project.emulator.writes_served() == 0
    assert not _locks(project)  # released on leaving
    assert _deploy(project).message == "applied and verified"


def test_two_deployers_racing_for_the_lock_exactly_one_wins(project):
    _deploy(project)
    clients = [project.runner().client for _ in range(4)]
    start, won, refused = threading.Barrier(len(clients)), [], []

    def take(client):
        start.wait()
        try:
            won.append(lock.acquire(client, {"operation": "deploy"}, clock=FakeClock(datetime.now(timezone.utc))))
        except LockHeld:
            refused.append(client)

    threads = [threading.Thread(target=take, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 3
    assert [d["name"] for d in _locks(project)] == [won[0].name]


def test_a_stale_lock_is_taken_over_and_the_copies_its_deploy_left_are_repaired(project):
    _deploy(project)
    original = project.live_processors()["hot"]["id"]
    stale = _dead_lock(project)
    runner = project.runner()
    runner.client.create_processor({"name": "hot__green", "pipeline": V2["pipeline"]})
    runner.client.start_processor("hot__green")  # writing to live sinks, as a killed blue-green leaves it
    plan = runner.plan(project.desired(), runner.live())
    assert not plan.lock["live"] and "expired" in plan.lock["stale_because"]
    assert [(c.name, c.action.value) for c in plan.changes if c.repair] == [("hot__green", "delete")]
    outcome = _deploy(project)
    assert outcome.message == "applied and verified"
    live = project.live_processors()
    assert "hot__green" not in live and live["hot"]["id"] == original
    assert stale not in [d["name"] for d in _locks(project)] and not _locks(project)


def test_a_lock_whose_process_on_this_machine_is_gone_is_stale_at_once(project):
    _deploy(project)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    client = project.runner().client
    record = lock.new_record(datetime.now(timezone.utc), {"operation": "deploy"})
    client.create_processor({"name": lock.lock_name(1), "pipeline": lock.lock_pipeline({**record,
                                                                                          "pid": int(gone.stdout)})})
    held = project.runner().lock_status(project.runner().live())
    assert not held["live"] and "is gone" in held["stale_because"]
    project.write("processors", V2)
    assert _deploy(project).message == "applied and verified"


def test_the_lock_is_never_planned_pruned_snapshotted_or_rolled_back(project):
    outcome = _deploy(project)
    holder = project.runner()
    with holder.locked("deploy") as lease:
        other = project.runner()
        live = other.live()
        assert lease.name not in {p.name for p in live.processors}
        plan = other.plan(project.desired(), live, prune=True)
        assert not plan.has_changes() and lease.name not in str([c.name for c in plan.changes])
        assert lease.name not in other.snapshot(live, "manual").read_text()
        exact = other.plan(project.desired(), live, exact=True, identities={})
        assert lease.name not in [c.name for c in exact.changes]
        assert [d["name"] for d in live.extra["locks"]] == [lease.name]
    assert outcome.snapshot is not None


def test_the_heartbeat_extends_the_lease_and_notices_a_broken_lock(project):
    _deploy(project)
    clock = FakeClock(datetime.now(timezone.utc))
    lease = lock.acquire(project.runner().client, {"operation": "deploy"}, clock=clock)
    first = lease.record["expires_at"]
    clock.advance(120)
    assert lease.refresh() and lease.record["expires_at"] > first
    assert lock.read_record(project.runner().client.get_processor(lease.name))["expires_at"] == lease.record["expires_at"]
    lost = []
    lease.on_lost = lost.append
    lock.break_locks(project.runner().client)
    assert not lease.refresh() and lost and "broken" in lease.lost


def test_a_deploy_that_loses_its_lock_stops_and_does_not_roll_back(project):
    _deploy(project)
    project.write("processors", V2)
    lines = []
    runner = project.runner(lines)

    def progress(line):
        lines.append(line)
        if line.startswith("start processor: hot"):  # someone ran `invoke unlock` meanwhile; the heartbeat beats
            lock.break_locks(project.runner().client)
            runner.lease.refresh()

    runner.progress = progress
    with pytest.raises(DeployError, match="not rolled back"):
        _deploy(project, runner)
    assert not any("rolling back" in line for line in lines)


def test_deleting_the_workspace_clears_a_dead_deployers_lock_but_not_a_running_ones(project):
    _deploy(project)
    holder = project.runner()
    with holder.locked("deploy"):
        with pytest.raises(LockHeld):
            lock.clear_before_workspace_delete(project.runner(), project.runner().live())
    _dead_lock(project)
    lock.clear_before_workspace_delete(project.runner(), project.runner().live())
    assert not _locks(project)  # Atlas would refuse to delete a workspace the lock processor is still in


def test_with_lifecycle_delays_the_lock_is_held_only_once_created_and_its_intent_lands(project):
    _deploy(project)
    project.emulator.admin("POST", "config", {"lifecycle": {"processor_create": 1.0}})
    runner = project.runner()
    with runner.locked("deploy", strategy="canary") as lease:
        assert runner.client.get_processor(lease.name)["state"] == "CREATED"  # INIT/CREATING refuse a modify
        lease.note(snapshot="snapshots/test/x.json")
        assert lock.read_record(runner.client.get_processor(lease.name))["snapshot"] == "snapshots/test/x.json"
    project.write("processors", V2)
    assert _deploy(project).message == "applied and verified"  # the whole flow with the delay on


def test_a_refused_intent_stops_the_deploy_before_any_change(project):
    _deploy(project)
    before = project.live_processors()["hot"]
    project.write("processors", V2)
    project.emulator.faults({"method": "PATCH", "path": r"/processor/sp-tasks-\d+__lock$", "status": 400,
                             "count": 1})
    with pytest.raises(DeployError, match=r"refused to record the deploy's intent .* nothing was changed"):
        _deploy(project)
    after = project.live_processors()["hot"]
    assert (after["id"], after["pipeline"], after["state"]) == (before["id"], before["pipeline"], "STARTED")
    assert not _locks(project)


def test_a_refused_heartbeat_is_said_and_loses_the_lease_before_it_runs_out(project):
    _deploy(project)
    clock = FakeClock(datetime.now(timezone.utc))
    lease = lock.acquire(project.runner().client, {"operation": "deploy"}, clock=clock)
    warned, lost = [], []
    lease.warn, lease.on_lost = warned.append, lost.append
    project.emulator.faults({"method": "PATCH", "path": r"__lock$", "status": 503})
    assert lease.refresh() and not lost
    assert "could not extend the deploy lock" in warned[-1] and lease.record["expires_at"] in warned[-1]
    clock.advance(lock.TTL - lock.HEARTBEAT)  # the next beat would come after the lease ends
    assert not lease.refresh() and "stopping before another deploy may take it" in lost[-1]
