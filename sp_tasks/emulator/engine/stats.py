"""Processor statistics: cumulative counters, the 30-s latency window, the verbose stats object.

The object has exactly the fields of reference/atlas-sp-api.md §6 in that order. Counts and
sizes are cumulative since the first start; they go into every checkpoint and come back from it,
so they survive stop/start and an emulator restart. Sizes are bytes of the JSON encoding
(``scaleFactor`` 1). Latency is a document's window wait plus its batch's modelled processing
cost (:mod:`~sp_tasks.emulator.engine.processor`), over a rolling 30 s.
"""
from __future__ import annotations

import bisect
from collections import deque
from typing import Any

from sp_tasks.emulator.engine import extjson

LATENCY_WINDOW_S = 30.0
_COUNTERS = ("inputMessageCount", "inputMessageSize", "outputMessageCount", "outputMessageSize",
             "dlqMessageCount", "dlqMessageSize")


class OperatorStats:
    """Counters of one operator (``operatorStats[i]``)."""

    def __init__(self, name: str):
        self.name = name
        self.counts = dict.fromkeys(_COUNTERS, 0)
        self.time_ms = 0.0
        self.max_memory = 0

    def add(self, key: str, count: int, size: int) -> None:
        self.counts[key + "MessageCount"] += count
        self.counts[key + "MessageSize"] += size

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.counts, "timeMs": self.time_ms, "maxMemory": self.max_memory}

    def load(self, saved: dict[str, Any]) -> None:
        for key in _COUNTERS:
            self.counts[key] = int(saved.get(key, 0))
        self.time_ms = float(saved.get("timeMs", 0.0))
        self.max_memory = int(saved.get("maxMemory", 0))

    def render(self, state_size: int) -> dict[str, Any]:
        self.max_memory = max(self.max_memory, state_size)
        spent = int(self.time_ms)
        return {"name": self.name, **self.counts, "stateSize": state_size,
                "maxMemoryUsage": self.max_memory, "executionTimeSecs": spent // 1000, "timeSpentMillis": spent}


class Totals:
    """Processor-level counters (kept apart from operators: a modified pipeline keeps them)."""

    def __init__(self, saved: dict[str, Any] | None = None):
        self.counts = dict.fromkeys(_COUNTERS, 0)
        for key in _COUNTERS:
            self.counts[key] = int((saved or {}).get(key, 0))

    def add(self, key: str, count: int, size: int) -> None:
        self.counts[key + "MessageCount"] += count
        self.counts[key + "MessageSize"] += size


class Latency:
    """Rolling 30-s window of (sink write time, latency µs, document count) samples."""

    def __init__(self, window_s: float = LATENCY_WINDOW_S):
        self.window_s = window_s
        self.samples: deque[tuple[float, int, int]] = deque()

    def add(self, wall: float, latency_us: int, count: int) -> None:
        self.samples.append((wall, max(0, latency_us), count))
        self._trim(wall)

    def _trim(self, now: float) -> None:
        while self.samples and self.samples[0][0] < now - self.window_s:
            self.samples.popleft()

    def render(self, now: float) -> dict[str, Any]:
        self._trim(now)
        ordered = sorted((lat, n) for _, lat, n in self.samples)
        count = sum(n for _, n in ordered)
        cumulative: list[int] = []
        running = 0
        for _, n in ordered:
            running += n
            cumulative.append(running)

        def pct(q: float) -> int:
            if not ordered:
                return 0
            return ordered[min(len(ordered) - 1, bisect.bisect_left(cumulative, q * count))][0]

        start = self.samples[0][0] if self.samples else now
        return {"p50": pct(0.5), "p99": pct(0.99), "start": extjson.iso(extjson.from_ms(int(start * 1000))),
                "end": extjson.iso(extjson.from_ms(int(now * 1000))), "unit": "microseconds",
                "count": count, "sum": sum(lat * n for lat, n in ordered)}


def render_stats(*, name: str, processor_id: str, status: str, totals: Totals, operators: list[dict],
                 state_size: int, memory: int, latency: dict, watermark_ms: int | None,
                 open_windows: tuple[int, int] | None, extra: dict[str, Any]) -> dict[str, Any]:
    """The verbose ``stats`` object of reference §6, fields in its order."""
    out: dict[str, Any] = {"name": name, "processorId": processor_id, "status": status, "scaleFactor": 1,
                           "ok": 1, **totals.counts, "stateSize": state_size, "memoryTrackerBytes": memory}
    if watermark_ms is not None:
        out["watermark"] = extjson.iso(extjson.from_ms(watermark_ms))
    out.update(extra)
    out["latency"] = latency
    if open_windows is not None:
        out["minOpenWindowStartTime"] = extjson.iso(extjson.from_ms(open_windows[0]))
        out["maxOpenWindowStartTime"] = extjson.iso(extjson.from_ms(open_windows[1]))
    out["operatorStats"] = operators
    return out
