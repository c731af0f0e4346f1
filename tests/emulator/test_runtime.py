"""Runtime: the thread that runs STARTED processors; checkpoints, restarts, failures, many processors.

Tests of what happens between ticks drive a ``Runtime`` by hand (``hand``: its thread never
ticks, its clock moves only when told); the rest check the thread itself by polling.
"""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from sp_tasks.atlas import unconfirmed
from sp_tasks.emulator.db import Database
from sp_tasks.emulator.runtime import Runtime, RunSpec
from tests.polling import wait_for

CLUSTER = {"atlas": {"name": "atlas", "type": "Cluster", "clusterName": "Cluster0"}}
SOLAR_TO_SINK = [{"$source": {"connectionName": "sample_stream_solar"}},
                 {"$match": {"obs.watts": {"$gte": 0}}},
                 {"$merge": {"into": {"connectionName": "atlas", "db": "db", "coll": "out"}, "on": "device_id"}}]

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


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class HandRuntime:
    """A Runtime whose thread never ticks (tick_seconds of an hour) on a clock that moves when told."""

    def __init__(self, path, recorder, rate: float = 100.0):
        self.clock = Clock()
        self.rt = Runtime(Database(path), sample_rate=rate, tick_seconds=3600, on_failure=recorder,
                          clock=self.clock)

    def start(self, run: RunSpec, resume: bool = True) -> None:
        """Start and poll once: sources begin where they are at their first poll (no documents yet)."""
        self.rt.start(run, resume=resume)
        self.rt.tick()

    def step(self, seconds: float = 0.5, times: int = 1) -> None:
        for _ in range(times):
            self.clock.now += seconds
            self.rt.tick()


@pytest.fixture
def hand(tmp_path, recorder):
    runtime = HandRuntime(tmp_path, recorder)
    yield runtime
    runtime.rt.close()


def test_a_started_processor_runs_and_stop_keeps_its_counters(make_runtime):
    rt = make_runtime()
    pid = spec().processor_id
    assert rt.stats(pid) is None
    rt.start(spec())
    assert rt.is_running(pid)
    wait_for(lambda: inputs(rt) > 50)
    assert wait_for(lambda: rt.checkpoints.load(pid))  # checkpointed while running (~1 s)
    rt.stop(pid)
    rt.stop(pid)  # idempotent
    stopped = rt.stats(pid)
    assert not rt.is_running(pid) and stopped["status"] == unconfirmed.STOPPED_STATS_STATUS
    assert stopped["outputMessageCount"] == stopped["inputMessageCount"] > 50
    rt.tick()
    assert rt.stats(pid)["inputMessageCount"] == stopped["inputMessageCount"]
    rt.start(spec())
    wait_for(lambda: inputs(rt) > stopped["inputMessageCount"] + 50)
    assert len(rt.documents.find("g1", "Cluster0", "db", "out")) == 20


def test_counters_and_documents_survive_an_emulator_restart(make_runtime):
    first = make_runtime()
    first.start(spec())
    wait_for(lambda: inputs(first) > 100)
    first.close()
    before = first.stats(spec().processor_id)
    second = make_runtime()
    assert second.stats(spec().processor_id)["inputMessageCount"] == before["inputMessageCount"]
    second.start(spec(), resume=True)
    wait_for(lambda: inputs(second) > before["inputMessageCount"] + 50)
    assert second.documents.count("g1", "Cluster0", "db", "out") == 20


WINDOWED = [{"$source": {"connectionName": "sample_stream_solar"}},
            {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"},
                                 "pipeline": [{"$group": {"_id": "$device_id", "n": {"$sum": 1}}}]}},
            {"$merge": {"into": {"connectionName": "atlas", "db": "db", "coll": "windows"}}}]


def test_reset_state_keeps_the_counters_and_drops_windows_and_source_position(hand):
    rt, windowed = hand.rt, spec(pipeline=WINDOWED)
    pid = windowed.processor_id
    hand.start(windowed)
    hand.step(0.5, times=4)  # 200 documents, all inside one open 10-s window
    rt.stop(pid)
    hand.start(windowed)  # a plain restart brings the open window back
    resumed = rt.stats(pid)
    assert resumed["stateSize"] > 0 and resumed["inputMessageCount"] == 200
    rt.stop(pid)
    stopped = rt.checkpoints.load(pid)
    rt.reset_state(pid)
    kept = rt.stats(pid)
    assert {k: kept[k] for k in stopped["totals"]} == stopped["totals"] and kept["inputMessageCount"] == 200
    assert kept["stateSize"] == 0 and "minOpenWindowStartTime" not in kept and "watermark" not in kept
    assert "source" not in rt.checkpoints.load(pid)  # the sample stream starts over
    hand.start(windowed)
    fresh = rt.stats(pid)
    assert fresh["stateSize"] == 0 and fresh["inputMessageCount"] == 200
    hand.step()
    assert rt.stats(pid)["inputMessageCount"] == 250


def test_start_without_checkpoint_keeps_counters_but_not_the_window(hand):
    rt, windowed = hand.rt, spec(pipeline=WINDOWED)
    hand.start(windowed)
    hand.step(0.5, times=2)
    rt.stop(windowed.processor_id)
    hand.start(windowed, resume=False)
    fresh = rt.stats(windowed.processor_id)
    assert fresh["stateSize"] == 0 and fresh["inputMessageCount"] == 100


def test_a_failing_batch_is_not_checkpointed_and_is_read_again_after_restart(hand, recorder):
    """At-least-once: a FAILED processor resumes at its last checkpoint, before the batch that failed."""
    rt = hand.rt
    connections = {**CLUSTER, "api": {"name": "api", "type": "Https", "url": "http://example.invalid"}}
    source, only_ok = {"$source": {"connectionName": "atlas", "db": "db", "coll": "in"}}, {"$match": {"fullDocument.ok": True}}
    merge = {"$merge": {"into": {"connectionName": "atlas", "db": "db", "coll": "out"}}}
    failing = spec(pipeline=[source, only_ok, {"$https": {"connectionName": "api", "as": "r", "onError": "fail"}},
                             merge], connections=connections)
    pid = failing.processor_id
    hand.start(failing)  # the change stream starts at the end of the change log
    rt.documents.insert("g1", "Cluster0", "db", "in", [{"n": n, "ok": False} for n in range(5)])
    hand.step(1.5)  # filtered out before $https, and checkpointed
    assert rt.checkpoints.load(pid)["totals"]["inputMessageCount"] == 5 and not recorder.failures
    rt.documents.insert("g1", "Cluster0", "db", "in", [{"n": n, "ok": True} for n in range(5, 8)])
    hand.step(1.5)
    [(failed, message)] = recorder.failures
    assert failed == pid and "outbound" in message and not rt.is_running(pid)
    stats = rt.stats(pid)
    assert stats["status"] == "error" and stats["inputMessageCount"] == 5  # the failed batch is not counted
    rt.start(replace(failing, pipeline=[source, only_ok, merge]))  # fixed, resumed from the checkpoint
    hand.step()
    out = rt.documents.find("g1", "Cluster0", "db", "out")
    assert sorted(d["fullDocument"]["n"] for d in out) == [5, 6, 7]
    assert rt.stats(pid)["inputMessageCount"] == 8


def test_discard_and_reset_forget(make_runtime):
    rt = make_runtime()
    rt.start(spec())
    wait_for(lambda: inputs(rt) > 10)
    rt.stop(spec().processor_id)
    rt.discard(spec().processor_id)
    assert rt.stats(spec().processor_id) is None
    rt.start(spec(2))
    wait_for(lambda: inputs(rt, 2) > 10)
    rt.reset()
    assert not rt.is_running(spec(2).processor_id) and rt.stats(spec(2).processor_id) is None
    assert rt.documents.collections("g1") == []


def test_a_missing_connection_fails_the_processor_through_on_failure(make_runtime, recorder):
    rt = make_runtime()
    rt.start(spec(connections={}))
    wait_for(lambda: recorder.failures)
    [(pid, message)] = recorder.failures
    assert pid == spec().processor_id and "connection named atlas does not exist" in message
    assert not rt.is_running(pid)


def test_a_processor_failing_before_its_first_checkpoint_restarts_from_scratch(hand, recorder):
    rt = hand.rt
    connections = {**CLUSTER, "api": {"type": "Https", "url": "http://example.invalid"}}
    pipeline = [{"$source": {"connectionName": "sample_stream_solar"}},
                {"$https": {"connectionName": "api", "as": "r", "onError": "fail"}},
                {"$merge": {"into": {"connectionName": "atlas", "db": "db", "coll": "out"}}}]
    hand.start(spec(pipeline=pipeline, connections=connections))
    hand.step()
    assert "outbound" in recorder.failures[0][1]
    assert rt.stats(spec().processor_id) is None  # nothing committed: nothing counted


def test_sample_rate_applies_to_running_processors(hand):
    rt = hand.rt
    hand.start(spec())
    hand.step(0.5)
    assert inputs(rt) == 50
    rt.set_sample_rate(0)
    hand.step(0.5, times=3)
    assert inputs(rt) == 50
    rt.set_sample_rate(400)
    hand.step(0.5)
    assert inputs(rt) == 250


def test_many_slow_processors_all_make_progress(make_runtime):
    rt = make_runtime(rate=20.0)
    specs = [spec(n, pipeline=[{"$source": {"connectionName": "sample_stream_solar"}},
                               {"$emit": {"connectionName": "__testLog"}}]) for n in range(1, 61)]
    for s in specs:
        rt.start(s)
    wait_for(lambda: all(inputs(rt, n) >= 5 for n in range(1, 61)))
    assert all(rt.is_running(s.processor_id) for s in specs)


def test_processors_chain_through_a_collection_while_running(make_runtime):
    rt = make_runtime()
    reader = spec(2, pipeline=[{"$source": {"connectionName": "atlas", "db": "db", "coll": "out"}},
                               {"$emit": {"connectionName": "__testLog"}}])
    rt.start(reader)
    wait_for(lambda: rt.stats(reader.processor_id))
    rt.start(spec(1))
    events = wait_for(lambda: rt.documents.test_log(reader.processor_id))
    assert events[0]["operationType"] == "insert" and events[0]["ns"] == {"db": "db", "coll": "out"}


class Ticking:
    """A clock that moves ``step`` seconds every time it is read."""

    def __init__(self, step: float, now: float = 0.0):
        self.step, self.now = step, now

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_the_slow_fault_rule_stretches_one_processors_document_latency(tmp_path, recorder):
    from sp_tasks.emulator.faults import Faults, parse_rules

    faults = Faults()
    faults.add(parse_rules({"processor": "p1", "slow_factor": 1.5, "slow_ms": 40}))
    clock = Clock()
    rt = Runtime(Database(tmp_path), sample_rate=100.0, tick_seconds=3600, on_failure=recorder, clock=clock,
                 slowdown=faults.slowdown)
    try:
        for n in (1, 2):
            rt.start(spec(n))
        rt.tick()
        clock.now += 0.5
        rt.tick()  # both pulled the same documents; p2's latency is the model's cost alone
        slowed, plain = (rt.stats(spec(n).processor_id)["latency"]["p50"] for n in (1, 2))
        assert plain > 0 and abs(slowed - (1.5 * plain + 40_000)) <= 1
    finally:
        rt.close()
    assert faults.slowdown("p1") == (1.5, 40.0) and faults.slowdown("p2") == (1.0, 0.0)
    assert faults.take_fail_on_start("p1") is False  # a slow rule is not a failure rule


def p50_of(tmp_path, recorder, pipelines: list[list], clock) -> list[int]:
    rt = Runtime(Database(tmp_path), sample_rate=100.0, tick_seconds=3600, on_failure=recorder, clock=clock)
    try:
        for n, pipeline in enumerate(pipelines, 1):
            rt.start(spec(n, pipeline=pipeline))
        for _ in range(4):
            if isinstance(clock, Clock):
                clock.now += 0.5
            rt.tick()
        return [rt.stats(spec(n).processor_id)["latency"]["p50"] for n in range(1, len(pipelines) + 1)]
    finally:
        rt.close()


def test_latency_follows_the_pipelines_work_not_the_machines_clock(tmp_path, recorder):
    more = [*SOLAR_TO_SINK[:2], {"$addFields": {"a": 1}}, {"$addFields": {"b": "x" * 200}}, SOLAR_TO_SINK[2]]
    fewer = [SOLAR_TO_SINK[0], {"$match": {"obs.watts": {"$gt": 440}}}, SOLAR_TO_SINK[2]]
    plain, heavier, filtered = p50_of(tmp_path, recorder, [SOLAR_TO_SINK, more, fewer], Clock())
    assert heavier > plain > filtered > 0  # stages and bytes cost; documents dropped early do not
    # The wall clock races (other processes, the server's threads): a second passes between any
    # two reads. A clock-based latency would be seconds; the model's stays what the work costs.
    (racing,) = p50_of(tmp_path / "racing", recorder, [SOLAR_TO_SINK], Ticking(1.0, 1_700_000_000.0))
    assert 0 < racing < 10_000


def test_processors_of_one_round_pull_the_same_documents(tmp_path, recorder):
    # Every engine runs at the round's time, however long the others before it took: two copies
    # of one pipeline (perf-ab's base and head) process identical batches.
    clock = Ticking(0.005, 1_700_000_000.0)  # 5 ms pass between any two reads
    rt = Runtime(Database(tmp_path), sample_rate=1000.0, tick_seconds=3600, on_failure=recorder, clock=clock)
    try:
        for n in (1, 2, 3):
            rt.start(spec(n))
        for _ in range(20):
            clock.now += 0.05
            rt.tick()
        counts = {inputs(rt, n) for n in (1, 2, 3)}
        assert len(counts) == 1 and counts.pop() > 0
    finally:
        rt.close()
