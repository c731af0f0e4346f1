"""The sampling loop, driven by a FakeClock and a small fake ``fetch`` (no sleeping, no HTTP)."""
from __future__ import annotations

import io

import pytest

from sp_tasks.clock import EPOCH_2025, FakeClock
from sp_tasks.errors import AtlasUnavailable
from sp_tasks.profiling.collect import collect_samples, samples_from_docs


class FakeWorkspace:
    """Processor documents as ``GET …/processors`` returns them, moving with the fake clock."""

    def __init__(self, clock: FakeClock):
        self.clock = clock
        self.calls = 0
        self.scripts = {}  # name -> function(t) -> doc | None

    def add(self, name, script):
        self.scripts[name] = script

    def fetch(self):
        self.calls += 1
        t = self.clock.monotonic()
        return [doc for script in self.scripts.values() if (doc := script(t)) is not None]


def running(name, rate=10.0, *, state="STARTED", extra=None):
    def script(t):
        stats = {"inputMessageCount": int(rate * t), "outputMessageCount": int(rate * t / 2), "dlqMessageCount": 0,
                 "memoryTrackerBytes": 64 * 1024 * 1024, "stateSize": 1024 * 1024,
                 "latency": {"p50": 1500, "p99": 9000, "unit": "microseconds"}}
        stats.update(extra or {})
        return {"name": name, "state": state, "stats": stats}
    return script


@pytest.fixture
def world():
    clock = FakeClock()
    return clock, FakeWorkspace(clock)


def values(samples, processor, metric):
    return [s.value for s in samples if s.processor == processor and s.metric == metric]


def test_polls_on_a_fixed_grid_with_one_list_call_per_poll(world):
    clock, ws = world
    ws.add("a", running("a"))
    ws.add("b", running("b"))
    samples = collect_samples(ws.fetch, duration=10, interval=2, clock=clock)
    assert ws.calls == 6  # t = 0, 2, 4, 6, 8, 10: one list call each, never one per processor
    assert clock.sleeps == [2, 2, 2, 2, 2]
    assert values(samples, "a", "input_count") == [0, 20, 40, 60, 80, 100]
    assert {s.metric for s in samples} == {"state", "input_count", "output_count", "dlq_count", "latency_p50_ms",
                                           "latency_p99_ms", "memory_mb", "state_mb"}


def test_converts_units_to_the_vocabulary(world):
    clock, ws = world
    ws.add("a", running("a"))
    samples = collect_samples(ws.fetch, duration=0, interval=1, clock=clock)
    got = {s.metric: s.value for s in samples}
    assert got["latency_p50_ms"] == 1.5 and got["latency_p99_ms"] == 9.0
    assert got["memory_mb"] == 64.0 and got["state_mb"] == 1.0 and got["state"] == 1.0


def test_a_latency_over_no_document_is_not_a_measurement():
    latency = {"latency": {"p50": 0, "p99": 0, "unit": "microseconds", "count": 0}}
    doc = running("w", extra=latency)(1.0)
    assert not {s.metric for s in samples_from_docs([doc], EPOCH_2025)} & {"latency_p50_ms", "latency_p99_ms"}
    doc["stats"]["latency"]["count"] = 3
    assert {"latency_p50_ms", "latency_p99_ms"} <= {s.metric for s in samples_from_docs([doc], EPOCH_2025)}


def test_message_sizes_become_byte_counters_scaled_by_scale_factor(world):
    clock, ws = world
    ws.add("bytes", running("bytes", extra={"inputMessageSize": 4096.0, "outputMessageSize": 1024}))
    ws.add("kib", running("kib", extra={"scaleFactor": 1024, "inputMessageSize": 4.0, "outputMessageSize": 1.0}))
    ws.add("odd", running("odd", extra={"scaleFactor": 0, "inputMessageSize": 4.0}))
    samples = collect_samples(ws.fetch, duration=0, interval=1, clock=clock)
    for name in ("bytes", "kib"):
        assert values(samples, name, "input_bytes") == [4096.0] and values(samples, name, "output_bytes") == [1024.0]
    assert values(samples, "odd", "input_bytes") == []  # a scale we cannot trust: not measured rather than wrong


def test_missing_message_sizes_give_no_byte_samples(world):
    clock, ws = world
    ws.add("a", running("a", extra={"outputMessageSize": None}))
    samples = collect_samples(ws.fetch, duration=2, interval=1, clock=clock)
    assert values(samples, "a", "input_bytes") == [] and values(samples, "a", "output_bytes") == []
    assert len(values(samples, "a", "input_count")) == 3


def test_slow_polls_skip_missed_ticks_instead_of_drifting(world):
    clock, ws = world
    ws.add("a", running("a"))

    def slow_fetch():
        clock.advance(3.0)  # the API took 3 s
        return ws.fetch()

    samples = collect_samples(slow_fetch, duration=10, interval=2, clock=clock)
    # polls start at 0, 4 and 8 (ticks 2 and 6 were missed), and a last one once the duration is over
    assert values(samples, "a", "input_count") == [30, 70, 110, 140]
    assert clock.sleeps == [1.0, 1.0, 0.0]


def test_processor_that_fails_mid_run_is_recorded_and_reported(world):
    clock, ws = world
    ws.add("a", running("a"))
    ws.add("b", lambda t: running("b", state="FAILED" if t >= 4 else "STARTED")(t))
    notes = []
    samples = collect_samples(ws.fetch, duration=6, interval=2, clock=clock, on_note=notes.append)
    assert values(samples, "b", "state") == [1.0, 1.0, -1.0, -1.0]
    assert notes == ["b: STARTED -> FAILED at 4.0 s"]


def test_processor_that_vanishes_is_reported_once(world):
    clock, ws = world
    ws.add("a", lambda t: running("a")(t) if t < 3 else None)
    notes = []
    samples = collect_samples(ws.fetch, duration=8, interval=2, clock=clock, processors=["a"], on_note=notes.append)
    assert len(values(samples, "a", "state")) == 2
    assert notes == ["a: STARTED -> MISSING (not in the processor list) at 4.0 s"]


def test_requested_processor_missing_from_the_start_is_reported(world):
    clock, ws = world
    ws.add("a", running("a"))
    notes = []
    samples = collect_samples(ws.fetch, duration=2, interval=2, clock=clock, processors=["ghost"], on_note=notes.append)
    assert samples == []
    assert notes == ["ghost: state MISSING (not in the processor list) at 0.0 s"]


def test_missing_fields_are_skipped_not_fatal(world):
    clock, ws = world
    ws.add("bare", lambda t: {"name": "bare", "state": "STARTED"})  # no stats yet
    ws.add("odd", lambda t: {"name": "odd", "state": "STARTED",
                             "stats": {"inputMessageCount": "n/a", "latency": {"p50": 5, "unit": "fortnights"},
                                       "memoryTrackerBytes": None, "outputMessageCount": True}})
    samples = collect_samples(ws.fetch, duration=0, interval=1, clock=clock)
    assert {(s.processor, s.metric) for s in samples} == {("bare", "state"), ("odd", "state")}


def test_counter_reset_is_kept_raw_in_samples(world):
    clock, ws = world
    def restarts(t):
        return {"name": "a", "state": "STARTED", "stats": {"inputMessageCount": 100 + t if t < 4 else t - 4}}

    ws.add("a", restarts)
    samples = collect_samples(ws.fetch, duration=8, interval=2, clock=clock)
    assert values(samples, "a", "input_count") == [100, 102, 0, 2, 4]  # frames handles the reset


def test_a_failed_poll_is_reported_and_skipped(world):
    clock, ws = world
    ws.add("a", running("a"))
    outcomes = iter([None, AtlasUnavailable("connection refused"), None])
    notes = []

    def flaky():
        if (err := next(outcomes)) is not None:
            raise err
        return ws.fetch()

    samples = collect_samples(flaky, duration=4, interval=2, clock=clock, on_note=notes.append)
    assert len(values(samples, "a", "state")) == 2
    assert notes == ["poll at 2.0 s failed: connection refused"]


def test_every_poll_failing_raises_the_last_error(world):
    clock, _ = world

    def down():
        raise AtlasUnavailable("connection refused")

    with pytest.raises(AtlasUnavailable):
        collect_samples(down, duration=2, interval=1, clock=clock)


def test_timestamps_are_wall_start_plus_monotonic_elapsed(world):
    clock, ws = world
    ws.add("a", running("a"))
    samples = collect_samples(ws.fetch, duration=4, interval=2, clock=clock)
    stamps = sorted({s.timestamp for s in samples})
    assert [(t - stamps[0]).total_seconds() for t in stamps] == [0.0, 2.0, 4.0]
    assert stamps[0] == EPOCH_2025


def test_samples_from_docs_filters_by_name():
    docs = [{"name": "a", "state": "STOPPED"}, {"name": "b", "state": "STARTED"}, {"state": "STARTED"}]
    got = samples_from_docs(docs, at=FakeClock().now(), processors=["a"])
    assert [(s.processor, s.metric, s.value) for s in got] == [("a", "state", 0.0)]


def test_invalid_interval_is_refused(world):
    clock, ws = world
    with pytest.raises(ValueError):
        collect_samples(ws.fetch, duration=5, interval=0, clock=clock)
