"""Deploys, strategies, rollback and drift with the emulator's asynchronous lifecycle on."""
import pytest

from deploy_project import FILTER
from sp_tasks.clock import FakeClock, SystemClock
from sp_tasks.deploy import service, snapshots, waiting
from sp_tasks.errors import WaitTimeout

DELAYS = {"processor_create": 0.3, "processor_start": 0.3, "processor_stop": 0.3,
          "private_connection_create": 0.5, "private_connection_delete": 0.5,
          "public_connection_create": 0.2, "public_connection_delete": 0.2}
EDITED = {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"obs.watts": {"$gt": 250}}}, FILTER["pipeline"][2]]}
VPC_KAFKA = {"name": "vpc", "type": "Kafka", "bootstrapServers": "b:9092",
             "networking": {"access": {"type": "VPC", "connectionId": "vpc-1"}}}


@pytest.fixture
def slow(project):
    project.emulator.admin("POST", "config", {"lifecycle": DELAYS})
    # A wider health-gate window than the shared fast one: under load a 0.3 s window can miss growth.
    thresholds = project.root / "environments" / "test" / "thresholds.json"
    thresholds.write_text('{"health": {"samples": 2, "interval_s": 1.0, "started_timeout_s": 20}}')
    return project


def _deploy(project, **kwargs):
    return service.deploy(project.runner(), project.desired(), **kwargs)


def _no_changes(project) -> bool:
    runner = project.runner()
    return not runner.plan(project.desired(), runner.live()).has_changes()


@pytest.mark.parametrize("strategy", ["in-place", "blue-green", "canary"])
def test_every_strategy_waits_for_each_transition_and_converges(slow, strategy):
    _deploy(slow)
    assert _no_changes(slow)
    slow.write("processors", EDITED)
    outcome = _deploy(slow, strategy=strategy)
    assert outcome.applied.ok
    live = slow.live_processors()
    assert live["hot"]["state"] == "STARTED" and live["hot"]["pipeline"][1] == EDITED["pipeline"][1]
    assert _no_changes(slow)  # server-filled fields and settled states: no perpetual diff


def test_rollback_and_drift_wait_for_a_settled_workspace(slow):
    _deploy(slow)
    slow.write("processors", EDITED)
    _deploy(slow)
    runner = slow.runner()
    path = snapshots.latest_snapshot(slow.root, "test", "pre-deploy")
    outcome = service.rollback(runner, path, slow.desired())
    assert outcome.applied.ok and slow.live_processors()["hot"]["pipeline"] == FILTER["pipeline"]
    runner.client.create_processor({**FILTER, "name": "extra"})  # INIT, then CREATING: not settled yet
    live = runner.live()
    assert {p.name: p.state for p in live.processors}["extra"] == "CREATED"
    drift = runner.plan(slow.desired(), live)
    assert [c.name for c in drift.changes if c.action.value != "no-op"] == ["hot"]  # Git moved on; extra is kept


def test_deleting_a_kafka_connection_still_deploying_is_retried_until_gone(slow):
    runner = slow.runner()
    runner.client.create_workspace({})
    runner.client.create_connection(VPC_KAFKA)  # PENDING for 0.5 s: a delete now answers 409
    lines = []
    assert waiting.delete_connection(runner.client, "vpc", clock=SystemClock(), timeout=30, progress=lines.append)
    assert [c["name"] for c in runner.client.list_connections()] == []
    assert not waiting.delete_connection(runner.client, "vpc", clock=SystemClock(), timeout=30)  # already gone


def test_a_private_connection_is_replaced_only_once_the_old_one_is_gone(slow):
    slow.write("connections", {**VPC_KAFKA, "networking": {"access": {"type": "VPC", "connectionId": "vpc-1"}}})
    _deploy(slow)
    slow.write("connections", {**VPC_KAFKA, "networking": {"access": {"type": "PUBLIC"}}})
    outcome = _deploy(slow)
    kinds = [r.step.kind.value for r in outcome.applied.results if r.step.target.name == "vpc"]
    assert kinds == ["delete_connection", "create_connection", "wait_connection_ready"]
    assert _no_changes(slow)


class _Stuck:
    """A client whose processor never leaves one state (a stop that never ends)."""

    def __init__(self, state):
        self.state = state

    def get_processor(self, name):
        return {"name": name, "state": self.state}


def test_a_long_wait_reports_progress_and_times_out_naming_the_processor_and_its_state():
    clock, lines = FakeClock(), []
    with pytest.raises(WaitTimeout) as caught:
        waiting.wait_for_processor(_Stuck("STARTED"), "solarGroupStats", "STOPPED", clock=clock, timeout=60,
                                   progress=lines.append)
    message = str(caught.value)
    assert "solarGroupStats" in message and "STOPPED" in message and "still STARTED" in message
    assert lines and all(line.startswith("still waiting for processor solarGroupStats to be STOPPED (")
                         for line in lines)
    assert clock.monotonic() <= 60 + waiting.MAX_POLL  # bounded by the timeout


def test_a_start_or_stop_still_under_way_is_waited_for_not_planned_over(slow):
    """The state still reads STARTED during a stop (STOPPED/CREATED during a start): only stats.status
    tells. A plan must wait for it, saying so, and a timeout names the processor and the transition."""
    _deploy(slow)
    runner = slow.runner()
    slow.emulator.admin("POST", "config", {"lifecycle": {**DELAYS, "processor_stop": 600, "processor_start": 600}})
    runner.client.stop_processor("hot")
    runner.client.create_processor({**FILTER, "name": "extra"})
    waiting.wait_for_processor_created(runner.client, "extra", clock=SystemClock(), timeout=20)
    runner.client.start_processor("extra")  # a first start: no counters yet, only the status
    live = runner.client.fetch_live()
    states = {p.name: p.state for p in live.processors}
    assert (states["hot"], states["extra"]) == ("STARTED", "CREATED")
    assert sorted(waiting.unsettled(live)) == ["processor extra (CREATED, a start under way)",
                                       "processor hot (STARTED, a stop under way)"]
    lines = []
    with pytest.raises(WaitTimeout) as caught:
        waiting.settled_live(runner.client, clock=FakeClock(), timeout=10, progress=lines.append)
    assert "hot (STARTED, a stop under way)" in str(caught.value)
    assert lines and "extra (CREATED, a start under way)" in lines[0]


def test_a_settled_stopped_processor_is_not_taken_for_one_stopping(slow):
    _deploy(slow)
    runner = slow.runner()
    runner.client.stop_processor("hot")
    waiting.wait_for_processor(runner.client, "hot", "STOPPED", clock=SystemClock(), timeout=20)
    live = waiting.settled_live(runner.client, clock=FakeClock(), timeout=5)  # raises if it looks unsettled
    assert {p.name: p.state for p in live.processors}["hot"] == "STOPPED" and not waiting.unsettled(live)
