"""Deploys, strategies, rollback and drift with the emulator's asynchronous lifecycle on."""
import pytest

from deploy_project import FILTER
from sp_tasks.clock import FakeClock, SystemClock
from sp_tasks.deploy import service, snapshots, waiting
from sp_tasks.errors import WaitTimeout

# Long enough that no transition is settled when its request returns (every wait polls at least
# once); short, because each deploy here waits for several of them in turn. The private connection
# keeps 0.5 s: the delete-while-PENDING test needs its 409 window to outlast a busy machine.
DELAYS = {"processor_create": 0.15, "processor_start": 0.15, "processor_stop": 0.15,
          "private_connection_create": 0.5, "private_connection_delete": 0.5,
          "public_connection_create": 0.1, "public_connection_delete": 0.1}
EDITED = {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"obs.watts": {"$gt": 250}}}, FILTER["pipeline"][2]]}
VPC_KAFKA = {"name": "vpc", "type": "Kafka", "bootstrapServers": "b:9092",
             "networking": {"access": {"type": "VPC", "connectionId": "vpc-1"}}}


@pytest.fixture
def slow(project):
    project.emulator.admin("POST", "config", {"lifecycle": DELAYS})
    # A wider health-gate window than the shared fast one: under load a 0.3 s window can miss growth.
    # Not the 4 s default either: the canary comparison samples its whole window.
    thresholds = project.root / "environments" / "test" / "thresholds.json"
    thresholds.write_text('{"health": {"samples": 2, "window_s": 2.0, "interval_s": 1.0, "started_timeout_s": 20}}')
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


def _starting(project, seconds: float):
    """Deployed, hot stopped, then started again with a start that takes ``seconds``: a runner."""
    _deploy(project)
    runner = project.runner()
    runner.client.stop_processor("hot")
    waiting.wait_for_processor(runner.client, "hot", "STOPPED", clock=SystemClock(), timeout=20)
    project.emulator.admin("POST", "config", {"lifecycle": {**DELAYS, "processor_start": seconds}})
    runner.client.start_processor("hot")
    return runner


def _sp_stop(project, monkeypatch, capsys) -> tuple[int, str]:
    """`sp processors stop -p hot` in-process: (exit code, stderr); the emulator's counts start afresh."""
    from sp_tasks.cli import main

    for key, value in project.environ.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    project.emulator.admin("DELETE", "requests")
    code = main(["--env", "test", "--root", str(project.root), "--format", "text", "processors", "stop", "-p", "hot"])
    return code, capsys.readouterr().err


def test_a_wait_that_times_out_during_a_start_names_the_start_not_the_old_state(slow):
    """The state reads STOPPED until a start is done: the timeout used to say "it is still STOPPED"
    although a start was under way. It names the transition, and so does the heartbeat."""
    runner = _starting(slow, 600)
    lines = []
    with pytest.raises(WaitTimeout) as caught:
        waiting.wait_for_processor(runner.client, "hot", "STARTED", clock=FakeClock(), timeout=10,
                                   progress=lines.append)
    assert str(caught.value).startswith("gave up waiting for processor hot to be STARTED after 10 s: it is still "
                                        "starting (STOPPED → STARTED under way)"), caught.value
    assert lines and lines[0].startswith("still waiting for processor hot to be STARTED (STOPPED → STARTED under way)")


def test_sp_stop_during_a_start_says_it_waits_for_the_start_then_stops_it(slow, monkeypatch, capsys):
    """A stop sent while a start is under way: what Atlas does with it is unknown, and a start landing
    after it leaves the processor running. The start is seen through first — said, and bounded by
    health.started_timeout_s — then the stop is sent; the processor ends STOPPED."""
    runner = _starting(slow, 1.5)
    code, err = _sp_stop(slow, monkeypatch, capsys)
    assert code == 0, err
    assert "hot: a start is under way; waiting for it to finish before stopping it (up to 20 s" in err, err
    after = waiting.processor_reading(runner.client, "hot")
    assert after.state == "STOPPED" and after.verb is None, after  # stopped, and no start landing after it


def test_sp_stop_during_a_start_that_does_not_end_gives_up_naming_the_start(slow, monkeypatch, capsys):
    _starting(slow, 600)
    slow.thresholds(started_timeout_s=0.5)
    code, err = _sp_stop(slow, monkeypatch, capsys)
    assert code == 1 and ("error: gave up waiting for processor hot to finish starting after 0.5 s: it is still "
                          "starting (STOPPED → STARTED under way)") in err, err
    assert not [k for k in slow.emulator.requests_served()["by_endpoint"] if k.endswith(":stop")]  # none sent


def test_a_stop_refused_while_a_start_is_under_way_sees_the_start_through_then_stops(slow):
    """Were Atlas to refuse a stop during a start (unknown), the processor reads STOPPED: taking
    that for "already stopped" left it to go STARTED right after. The start is seen through, the
    stop sent again."""
    from sp_tasks.deploy.steps import Chain, Phase, StepKind, Target, flatten
    from sp_tasks.model import DesiredState

    runner = _starting(slow, 1.0)
    slow.emulator.faults({"method": "POST", "path": "/processor/hot:stop$", "status": 400, "count": 1,
                          "body": {"detail": "stream processor cannot be stopped while it is starting (INVALID_STATE)",
                                   "errorCode": "STREAM_PROCESSOR_GENERIC_ERROR"}})
    stop = Chain(Phase.PROCESSORS, "processor", "hot").add(StepKind.STOP_PROCESSOR, Target("processor", "hot"))
    result = runner.apply(flatten([stop]), DesiredState())
    assert result.ok and [r.status for r in result.results] == ["done"], result.to_json()
    after = waiting.processor_reading(runner.client, "hot")
    assert after.state == "STOPPED" and after.verb is None, after
