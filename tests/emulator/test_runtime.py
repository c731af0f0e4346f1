"""Runtime: the thread that runs STARTED processors; checkpoints, restarts, failures, many processors."""
from __future__ import annotations

import time

import pytest

from sp_tasks.emulator.db import Database
from sp_tasks.emulator.runtime import Runtime, RunSpec

CLUSTER = {"atlas": {"name": "atlas", "type": "Cluster", "clusterName": "Cluster0"}}
SOLAR_TO_SINK = [{"$source": {"connectionName": "sample_stream_solar"}},
                 {"$match": {"obs.watts": {"$gte": 0}}},
                 {"$merge": {"into": {"connectionName": "atlas", "db": "db", "coll": "out"}, "on": "device_id"}}]


def wait_until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met before the deadline")


def spec(n: int = 1, pipeline: list | None = None, connections: dict | None = None, name: str | None = None) -> RunSpec:
    return RunSpec(f"{n:024x}", name or f"p{n}", "g1", "ws", pipeline or SOLAR_TO_SINK,
                   {"dlq": {"connectionName": "atlas", "db": "db", "coll": "dlq"}},
                   CLUSTER if connections is None else connections)


class Recorder:
    def __init__(self):
        self.failures: list[tuple[str, str]] = []

    def __call__(self, processor_id: str, message: str) -> None:
        self.failures.append((processor_id, message))


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def make_runtime(tmp_path, recorder):
    made = []

    def make(rate: float = 400.0) -> Runtime:
        runtime = Runtime(Database(tmp_path), sample_rate=rate, tick_seconds=0.01, on_failure=recorder)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def inputs(runtime: Runtime, n: int = 1) -> int:
    stats = runtime.stats(spec(n).processor_id)
    return stats["inputMessageCount"] if stats else 0


def test_a_started_processor_runs_and_stop_keeps_its_counters(make_runtime):
    rt = make_runtime()
    pid = spec().processor_id
    assert rt.stats(pid) is None
    rt.start(spec())
    assert rt.is_running(pid)
    wait_until(lambda: inputs(rt) > 50)
    assert wait_until(lambda: rt.checkpoints.load(pid))  # checkpointed while running (~1 s)
    rt.stop(pid)
    rt.stop(pid)  # idempotent
    stopped = rt.stats(pid)
    assert not rt.is_running(pid) and stopped["status"] == "stopped"
    assert stopped["outputMessageCount"] == stopped["inputMessageCount"] > 50
    time.sleep(0.05)
    assert rt.stats(pid)["inputMessageCount"] == stopped["inputMessageCount"]
    rt.start(spec())
    wait_until(lambda: inputs(rt) > stopped["inputMessageCount"] + 50)
    assert len(rt.documents.find("g1", "Cluster0", "db", "out")) == 20


def test_counters_and_documents_survive_an_emulator_restart(make_runtime):
    first = make_runtime()
    first.start(spec())
    wait_until(lambda: inputs(first) > 100)
    first.close()
    before = first.stats(spec().processor_id)
    second = make_runtime()
    assert second.stats(spec().processor_id)["inputMessageCount"] == before["inputMessageCount"]
    second.start(spec(), resume=True)
    wait_until(lambda: inputs(second) > before["inputMessageCount"] + 50)
    assert second.documents.count("g1", "Cluster0", "db", "out") == 20


def test_start_without_checkpoint_starts_counters_fresh(make_runtime):
    rt = make_runtime()
    rt.start(spec())
    wait_until(lambda: inputs(rt) > 200)
    rt.stop(spec().processor_id)
    rt.start(spec(), resume=False)
    rt.stop(spec().processor_id)
    assert inputs(rt) < 200


def test_discard_and_reset_forget(make_runtime):
    rt = make_runtime()
    rt.start(spec())
    wait_until(lambda: inputs(rt) > 10)
    rt.stop(spec().processor_id)
    rt.discard(spec().processor_id)
    assert rt.stats(spec().processor_id) is None
    rt.start(spec(2))
    wait_until(lambda: inputs(rt, 2) > 10)
    rt.reset()
    assert not rt.is_running(spec(2).processor_id) and rt.stats(spec(2).processor_id) is None
    assert rt.documents.collections("g1") == []


def test_a_missing_connection_fails_the_processor_through_on_failure(make_runtime, recorder):
    rt = make_runtime()
    rt.start(spec(connections={}))
    wait_until(lambda: recorder.failures)
    [(pid, message)] = recorder.failures
    assert pid == spec().processor_id and "connection named atlas does not exist" in message
    assert not rt.is_running(pid)


def test_a_runtime_processor_error_fails_it_and_keeps_its_stats(make_runtime, recorder):
    rt = make_runtime()
    connections = {**CLUSTER, "api": {"type": "Https", "url": "http://example.invalid"}}
    pipeline = [{"$source": {"connectionName": "sample_stream_solar"}},
                {"$https": {"connectionName": "api", "as": "r", "onError": "fail"}},
                {"$merge": {"into": {"connectionName": "atlas", "db": "db", "coll": "out"}}}]
    rt.start(spec(pipeline=pipeline, connections=connections))
    wait_until(lambda: recorder.failures)
    assert "outbound" in recorder.failures[0][1]
    assert rt.stats(spec().processor_id)["status"] == "error"


def test_sample_rate_applies_to_running_processors(make_runtime):
    rt = make_runtime()
    rt.start(spec())
    wait_until(lambda: inputs(rt) > 10)
    rt.set_sample_rate(0)
    time.sleep(0.05)  # let an in-flight tick finish
    frozen = inputs(rt)
    time.sleep(0.1)
    assert inputs(rt) == frozen
    rt.set_sample_rate(400)
    wait_until(lambda: inputs(rt) > frozen)


def test_many_slow_processors_all_make_progress(make_runtime):
    rt = make_runtime(rate=20.0)
    specs = [spec(n, pipeline=[{"$source": {"connectionName": "sample_stream_solar"}},
                               {"$emit": {"connectionName": "__testLog"}}]) for n in range(1, 61)]
    for s in specs:
        rt.start(s)
    wait_until(lambda: all(inputs(rt, n) >= 5 for n in range(1, 61)))
    assert all(rt.is_running(s.processor_id) for s in specs)


def test_processors_chain_through_a_collection_while_running(make_runtime):
    rt = make_runtime()
    reader = spec(2, pipeline=[{"$source": {"connectionName": "atlas", "db": "db", "coll": "out"}},
                               {"$emit": {"connectionName": "__testLog"}}])
    rt.start(reader)
    wait_until(lambda: rt.stats(reader.processor_id))
    rt.start(spec(1))
    events = wait_until(lambda: rt.documents.test_log(reader.processor_id))
    assert events[0]["operationType"] == "insert" and events[0]["ns"] == {"db": "db", "coll": "out"}
