"""Executor decisions on unclear answers, with a small in-memory fake of the client."""
from sp_tasks.clock import FakeClock
from sp_tasks.deploy.executor import Executor
from sp_tasks.deploy.health import HealthPolicy
from sp_tasks.deploy.steps import Step, StepKind, Target
from sp_tasks.errors import AtlasApiError, AtlasNotFound, AtlasUnavailable
from sp_tasks.model import DesiredState

PIPELINE = [{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "__testLog"}}]


class FakeClient:
    """Processors in a dict; ``fail`` maps an operation to (error, whether the write still lands)."""

    def __init__(self, **processors):
        self.processors = {n: {"name": n, "state": s, "pipeline": PIPELINE} for n, s in processors.items()}
        self.fail: dict[str, tuple[Exception, bool]] = {}
        self.calls: list[str] = []

    def _maybe_fail(self, op, apply):
        self.calls.append(op)
        error, lands = self.fail.pop(op, (None, True))
        if lands:
            apply()
        if error:
            raise error

    def get_processor(self, name):
        if name not in self.processors:
            raise AtlasNotFound(404, "STREAM_PROCESSOR_NOT_FOUND", "missing")
        return dict(self.processors[name])

    def stop_processor(self, name):
        self._maybe_fail("stop", lambda: self.processors[name].update(state="STOPPED"))

    def start_processor_with(self, name, tier=None, resume_from_checkpoint=None):
        self._maybe_fail("start", lambda: self.processors[name].update(state="STARTED"))

    def modify_processor(self, name, body):
        self._maybe_fail("modify", lambda: self.processors[name].update(body))


def _executor(client):
    return Executor(client, DesiredState(), clock=FakeClock(), policy=HealthPolicy(started_timeout_s=5))


def _step(kind, name="p", payload=None):
    return Step(f"{kind.value}:{name}", kind, Target("processor", name), payload or {}, 2)


def test_a_504_on_stop_is_followed_by_polling_and_counts_as_done():
    client = FakeClient(p="STARTED")
    client.fail["stop"] = (AtlasApiError(504, "STREAM_PROCESSOR_TIMEOUT", "timed out"), True)
    result = _executor(client).apply([_step(StepKind.STOP_PROCESSOR)])
    assert result.ok and result.results[0].status == "done"


def test_a_lost_answer_on_start_that_did_not_start_fails_after_waiting():
    client = FakeClient(p="STOPPED")
    client.fail["start"] = (AtlasUnavailable("read timeout"), False)
    result = _executor(client).apply([_step(StepKind.START_PROCESSOR)])
    assert not result.ok and "STARTED" in str(result.failure)


def test_a_modify_that_landed_despite_a_500_is_confirmed_not_resent():
    client = FakeClient(p="STOPPED")
    new = [PIPELINE[0], {"$match": {"x": 1}}, PIPELINE[1]]
    client.fail["modify"] = (AtlasApiError(500, "UNEXPECTED_ERROR", "boom"), True)
    result = _executor(client).apply([_step(StepKind.MODIFY_PROCESSOR, payload={"pipeline": new, "tier": "SP10"})])
    assert result.ok and client.calls.count("modify") == 1
    assert "confirmed by re-reading" in result.results[0].detail


def test_a_modify_that_did_not_land_is_sent_once_more_after_reading():
    client = FakeClient(p="STOPPED")
    new = [PIPELINE[0], {"$match": {"x": 1}}, PIPELINE[1]]
    client.fail["modify"] = (AtlasApiError(502, "UNEXPECTED_ERROR", "bad gateway"), False)
    result = _executor(client).apply([_step(StepKind.MODIFY_PROCESSOR, payload={"pipeline": new})])
    assert result.ok and client.calls.count("modify") == 2 and client.processors["p"]["pipeline"] == new


def test_an_unexpected_exception_is_a_failure_and_stops_later_steps():
    client = FakeClient(p="STARTED", q="STARTED")
    client.stop_processor = lambda name: {}["boom"]  # a bug, not an Atlas error
    steps = [_step(StepKind.STOP_PROCESSOR, "p"),
             Step("start:p", StepKind.START_PROCESSOR, Target("processor", "p"), {}, 2, ("stop_processor:p",))]
    result = _executor(client).apply(steps)
    assert not result.ok and "KeyError" in str(result.failure)
    assert [r.status for r in result.results] == ["failed", "not-run"]


def test_a_long_stop_is_never_silent():
    """Atlas checkpoints on stop and can take minutes: the wait reports itself (console heartbeats)."""
    clock, lines = FakeClock(), []
    client = FakeClient(p="STARTED")
    client.stop_processor = lambda name: client.calls.append("stop")  # accepted; STOPPED only later
    clock.on_sleep = lambda now: client.processors["p"].update(state="STOPPED") if now > 16 else None
    executor = Executor(client, DesiredState(), clock=clock, policy=HealthPolicy(started_timeout_s=5),
                        progress=lines.append)
    assert executor.apply([_step(StepKind.STOP_PROCESSOR)]).ok
    beats = [line for line in lines if line.startswith("still waiting")]
    assert beats[0].startswith("still waiting for processor p to be STOPPED (3 s)") and len(beats) == 3
