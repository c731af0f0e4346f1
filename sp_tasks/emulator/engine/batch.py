"""What flows between operators: records, the micro-batch context, the operator base class.

A ``Rec`` is one document plus what the engine knows about it and the document may have lost
(a ``$project`` can drop ``_ts``): event time, the wall time it entered the processor (latency is
measured from there to the sink write), and the size of its current JSON encoding. A ``Ctx``
lives for one micro-batch and collects the documents operators send to the dead-letter queue;
``Operator`` is the small interface every stage implements.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sp_tasks.emulator.engine import extjson
from sp_tasks.emulator.engine.stats import OperatorStats

UNITS_MS = {"ms": 1, "millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000,
            "day": 86_400_000}


def duration_ms(spec: Any, default: int = 0) -> int:
    """``{size, unit}`` (or 0) → milliseconds; units as in ASP (``ms``, ``second`` … ``day``)."""
    if spec in (None, 0):
        return default if spec is None else 0
    if not isinstance(spec, dict) or "size" not in spec:
        raise ValueError(f"a duration must be {{size, unit}}, got {spec!r}")
    unit = str(spec.get("unit", "second")).lower().rstrip("s") or "ms"
    unit = "ms" if unit == "m" else unit
    if unit not in UNITS_MS:
        raise ValueError(f"unknown duration unit {spec.get('unit')!r}")
    return int(float(spec["size"]) * UNITS_MS[unit])


class Rec:
    """One document in flight. ``ts`` = event time (epoch ms), ``ingest`` = wall time it entered."""

    __slots__ = ("doc", "ts", "ingest", "size")

    def __init__(self, doc: dict, ts: int, ingest: float, size: int | None = None):
        self.doc = doc
        self.ts = ts
        self.ingest = ingest
        self.size = extjson.json_size(doc) if size is None else size


@dataclass
class DeadLetter:
    operator: "Operator"
    reason: str
    doc: dict


@dataclass
class Ctx:
    """One micro-batch: the time it runs at and the documents it sends to the DLQ."""

    wall: float                      # time.time() of this tick
    flush: bool = False              # the source is exhausted: close every open window
    window: tuple[datetime, datetime] | None = None  # set while a window's inner pipeline runs
    dead: list[DeadLetter] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        return extjson.from_ms(int(self.wall * 1000))

    def dead_letter(self, operator: "Operator", reason: str, doc: dict) -> None:
        self.dead.append(DeadLetter(operator, reason, doc))


class Operator:
    """A pipeline stage. ``process`` takes and returns a list of records (the micro-batch)."""

    name = "Operator"
    rewrites = True  # output documents differ from inputs (their sizes must be measured again)

    def __init__(self, name: str | None = None):
        self.name = name or self.name
        self.stats = OperatorStats(self.name)

    def process(self, recs: list[Rec], ctx: Ctx) -> list[Rec]:
        return recs

    def state_bytes(self) -> int:
        return 0

    def snapshot(self) -> Any:
        return None

    def restore(self, state: Any) -> None:
        pass

    def attempt(self, rec: Rec, ctx: Ctx, run) -> list[dict] | None:
        """``run(doc)`` for one record; a failure sends the document to the DLQ (None back)."""
        try:
            return run(rec.doc)
        except Exception as err:  # the library raises anything (AssertionError, ValueError …)
            ctx.dead_letter(self, describe(err), rec.doc)
            return None


def describe(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) <= 500 else text[:497] + "..."


def run_chain(ops: list[Operator], recs: list[Rec], ctx: Ctx) -> list[Rec]:
    """Run records through operators in order, counting each operator's input, output and time."""
    for op in ops:
        if recs:
            op.stats.add("input", len(recs), sum(r.size for r in recs))
        started = time.perf_counter()
        recs = op.process(recs, ctx)
        op.stats.time_ms += (time.perf_counter() - started) * 1000.0
        if recs:
            op.stats.add("output", len(recs), sum(r.size for r in recs))
    return recs
