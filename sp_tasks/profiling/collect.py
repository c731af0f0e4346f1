"""The sampling loop: poll processor stats every ``interval`` for ``duration`` into tidy samples.

Shell module: the API call (``fetch``), time (``clock``) and output (``progress``, ``on_note``)
are injected. One ``fetch()`` is one list call (``GET …/processors``), never one call per
processor. Missing fields are skipped, and so is a latency over no document (``count`` 0);
processors that stop, fail or vanish mid-run are recorded (a ``state`` sample per poll) and
reported through ``on_note``; a poll that fails with
an :class:`~sp_tasks.errors.AtlasError` is reported and skipped. Counters stay cumulative here:
resets are handled where rates are computed (:mod:`sp_tasks.profiling.frames`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Sequence

from sp_tasks.clock import Clock
from sp_tasks.errors import AtlasError
from sp_tasks.profiling.metrics import (
    COUNTER_FIELDS,
    GAUGE_FIELDS,
    LATENCY_FIELDS,
    LATENCY_UNIT_TO_MS,
    SCALE_FIELD,
    SIZE_FIELDS,
    STATE_SAMPLE,
    state_code,
)

Progress = Callable[[float, float], None]  # (elapsed seconds, duration seconds)


@dataclass(frozen=True)
class Sample:
    timestamp: datetime  # UTC, aware
    processor: str
    metric: str  # one of metrics.SAMPLE_METRICS
    value: float


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _bytes_per_unit(stats: dict[str, Any]) -> float | None:
    """What one unit of a size counter is in bytes; None for a scale we cannot trust."""
    scale = _number(stats.get(SCALE_FIELD, 1))
    return scale if scale is not None and scale > 0 else None


def _stats_values(stats: dict[str, Any]) -> Iterable[tuple[str, float]]:
    for name, field in COUNTER_FIELDS.items():
        if (v := _number(stats.get(field))) is not None:
            yield name, v
    unit = _bytes_per_unit(stats)
    for name, field in SIZE_FIELDS.items():
        if unit is not None and (v := _number(stats.get(field))) is not None:
            yield name, v * unit
    for name, (field, scale) in GAUGE_FIELDS.items():
        if (v := _number(stats.get(field))) is not None:
            yield name, v * scale
    latency = stats.get("latency")
    # count 0: no document reached a sink in the 30-s window, so p50/p99 (reported as 0) measure nothing.
    if isinstance(latency, dict) and latency.get("count") != 0:
        to_ms = LATENCY_UNIT_TO_MS.get(str(latency.get("unit", "microseconds")).lower())
        for name, key in LATENCY_FIELDS.items():
            if to_ms is not None and (v := _number(latency.get(key))) is not None:
                yield name, v * to_ms


def samples_from_docs(
    docs: Sequence[dict[str, Any]], at: datetime, processors: Sequence[str] | None = None
) -> list[Sample]:
    """One poll's processor documents -> samples (pure). Unknown or missing fields are skipped."""
    wanted = set(processors) if processors else None
    out: list[Sample] = []
    for doc in docs:
        name = doc.get("name")
        if not isinstance(name, str) or (wanted is not None and name not in wanted):
            continue
        out.append(Sample(at, name, STATE_SAMPLE, state_code(doc.get("state"))))
        stats = doc.get("stats")
        if isinstance(stats, dict):
            out.extend(Sample(at, name, metric, value) for metric, value in _stats_values(stats))
    return out


class _StateWatch:
    """Turns per-poll states into notes: a processor that is not running, changes state or vanishes."""

    def __init__(self, processors: Sequence[str] | None, note: Callable[[str], None]):
        self.wanted = set(processors) if processors else None
        self.last: dict[str, str] = {p: "" for p in processors or ()}
        self.note = note

    def see(self, docs: Sequence[dict[str, Any]], elapsed: float) -> None:
        seen = {d.get("name"): str(d.get("state") or "unknown") for d in docs if isinstance(d, dict)}
        if self.wanted is not None:
            seen = {n: s for n, s in seen.items() if n in self.wanted}
        for name in sorted(set(self.last) | set(seen)):
            now, before = seen.get(name, "MISSING"), self.last.get(name, "")
            if now != before and not (before == "" and now == "STARTED"):
                change = f"{before} -> {now}" if before else f"state {now}"
                why = " (not in the processor list)" if now == "MISSING" else ""
                self.note(f"{name}: {change}{why} at {elapsed:.1f} s")
            self.last[name] = now


def collect_samples(
    fetch: Callable[[], list[dict[str, Any]]],
    *,
    duration: float,
    interval: float,
    clock: Clock,
    processors: Sequence[str] | None = None,
    progress: Progress | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[Sample]:
    """Poll ``fetch`` at 0, interval, 2·interval, … up to ``duration`` seconds; return samples.

    Polls are scheduled on a fixed grid (a slow poll does not shift the later ones; ticks that
    were missed entirely are skipped). Timestamps are ``clock.now()`` at the start plus
    monotonic elapsed time, so a wall-clock jump cannot distort rates.

    Raises:
        ValueError: ``interval`` is not positive or ``duration`` is negative.
        AtlasError: every single poll failed (the last error is re-raised).
    """
    if interval <= 0 or duration < 0:
        raise ValueError("interval must be > 0 and duration >= 0")
    note = on_note or (lambda _msg: None)
    watch = _StateWatch(processors, note)
    start, wall0 = clock.monotonic(), clock.now()
    samples: list[Sample] = []
    polls = failures = 0
    last_error: AtlasError | None = None
    tick = 0
    while True:
        elapsed = clock.monotonic() - start
        polls += 1
        try:
            docs = fetch()
        except AtlasError as err:  # one lost poll is reported; the run goes on
            failures, last_error = failures + 1, err
            note(f"poll at {elapsed:.1f} s failed: {err}")
        else:
            samples.extend(samples_from_docs(docs, wall0 + timedelta(seconds=elapsed), processors))
            watch.see(docs, elapsed)
        if progress is not None:
            progress(min(elapsed, duration), duration)
        if elapsed >= duration - 1e-9:
            break
        tick = max(tick + 1, math.floor((clock.monotonic() - start) / interval) + 1)
        clock.sleep(max(0.0, min(tick * interval, duration) - (clock.monotonic() - start)))
    if failures == polls and last_error is not None:
        raise last_error
    return samples
