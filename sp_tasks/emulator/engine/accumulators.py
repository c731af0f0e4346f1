"""A window's contents and its inner pipeline: incremental ``$group`` state or buffered documents.

When the inner pipeline starts with a ``$group`` whose accumulators are all ``$sum $avg $min $max
$count $first $last``, each window keeps one accumulator row per group key (O(groups), not
O(documents)); otherwise it buffers the documents and runs the whole inner pipeline when it
closes. The stages after the incremental ``$group`` (``$sort``, ``$project`` …) always run at
close, through the same operators as the main pipeline, with ``{$meta: "stream.window.*"}``
resolved to the closing window.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sp_tasks.emulator.engine import adapter, extjson
from sp_tasks.emulator.engine.batch import Ctx, Operator, Rec, run_chain
from sp_tasks.emulator.engine.stats import OperatorStats

INCREMENTAL = {"$sum", "$avg", "$min", "$max", "$count", "$first", "$last"}
PANE_OVERHEAD = 128     # bytes charged per open window
ACCUMULATOR_BYTES = 24  # bytes charged per accumulator value


class Pane:
    """One open window (a session is a pane whose bounds grow)."""

    __slots__ = ("start", "end", "groups", "docs", "ingest", "bytes", "partition")

    def __init__(self, start: int, end: int, partition: str | None = None):
        self.start, self.end, self.partition = start, end, partition
        self.groups: dict[str, list] = {}
        self.docs: list[dict] = []
        self.ingest = float("inf")
        self.bytes = PANE_OVERHEAD

    def bounds(self) -> tuple[datetime, datetime]:
        return extjson.from_ms(self.start), extjson.from_ms(self.end)

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "partition": self.partition, "groups": self.groups,
                "docs": self.docs, "ingest": self.ingest, "bytes": self.bytes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Pane":
        pane = cls(int(data["start"]), int(data["end"]), data.get("partition"))
        pane.groups, pane.docs = dict(data.get("groups") or {}), list(data.get("docs") or [])
        pane.ingest, pane.bytes = float(data.get("ingest", 0.0)), int(data.get("bytes", PANE_OVERHEAD))
        return pane


def _less(a: Any, b: Any) -> bool:
    if type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        try:
            return a < b
        except TypeError:
            pass
    return adapter.bson_less(a, b)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _update(op: str, acc: Any, value: Any) -> Any:
    if op == "$sum":
        return acc + value if _is_number(value) else acc
    if op == "$avg":
        return [acc[0] + value, acc[1] + 1] if _is_number(value) else acc
    if op == "$count":
        return acc + 1
    if op == "$first":
        return acc if acc[0] else [True, value]
    if op == "$last":
        return [True, value]
    if value is None:  # $min/$max ignore null and missing
        return acc
    if not acc[0] or (_less(value, acc[1]) if op == "$min" else _less(acc[1], value)):
        return [True, value]
    return acc


def _initial(op: str) -> Any:
    return 0 if op in ("$sum", "$count") else [0, 0] if op == "$avg" else [False, None]


def _final(op: str, acc: Any) -> Any:
    if op in ("$sum", "$count"):
        return acc
    if op == "$avg":
        return acc[0] / acc[1] if acc[1] else None
    return acc[1]


class IncrementalGroup:
    """``$group`` folded one document at a time."""

    def __init__(self, spec: dict):
        self.id_expr = spec["_id"]
        self.fields = [(name, *next(iter(acc.items()))) for name, acc in spec.items() if name != "_id"]
        self._compiled: dict[Any, list[Callable]] = {}
        self._per_window = adapter.mentions([self.id_expr, self.fields], "stream.window.")

    @staticmethod
    def supports(stage: dict | None) -> bool:
        if not stage or "$group" not in stage or not isinstance(stage["$group"], dict):
            return False
        accs = [v for k, v in stage["$group"].items() if k != "_id"]
        return "_id" in stage["$group"] and all(isinstance(a, dict) and len(a) == 1 and next(iter(a)) in INCREMENTAL
                                                for a in accs)

    def _functions(self, pane: Pane) -> list[Callable]:
        key = (pane.start, pane.end) if self._per_window else None
        if key not in self._compiled:
            if len(self._compiled) > 64:
                self._compiled.clear()
            exprs = [self.id_expr] + [arg for _, _, arg in self.fields]
            window = pane.bounds()
            self._compiled[key] = [adapter.compile_expression(adapter.substitute(e, window=window)) for e in exprs]
        return self._compiled[key]

    def add(self, pane: Pane, doc: dict) -> None:
        functions = self._functions(pane)
        group_id = functions[0](doc)
        key = extjson.canonical_key(group_id)
        row = pane.groups.get(key)
        if row is None:
            row = pane.groups[key] = [group_id] + [_initial(op) for _, op, _ in self.fields]
            pane.bytes += len(key) + ACCUMULATOR_BYTES * len(self.fields)
        for i, (_, op, _) in enumerate(self.fields, start=1):
            row[i] = _update(op, row[i], functions[i](doc) if op != "$count" else None)

    def results(self, pane: Pane) -> list[dict]:
        return [{"_id": row[0], **{name: _final(op, row[i]) for i, (name, op, _) in enumerate(self.fields, start=1)}}
                for row in pane.groups.values()]


class InnerPipeline:
    """The ``pipeline`` of a window stage."""

    def __init__(self, stages: list[dict], build: Callable[[dict], Operator], *, buffer: bool = False):
        incremental = not buffer and stages and IncrementalGroup.supports(stages[0])
        self.group = IncrementalGroup(stages[0]["$group"]) if incremental else None
        self.group_stats = OperatorStats("GroupOperator") if self.group else None
        self.ops = [build(s) for s in (stages[1:] if self.group else stages)]

    @property
    def buffered(self) -> bool:
        return self.group is None

    def operator_stats(self) -> list[OperatorStats]:
        return ([self.group_stats] if self.group_stats else []) + [op.stats for op in self.ops]

    def add(self, pane: Pane, rec: Rec) -> None:
        pane.ingest = min(pane.ingest, rec.ingest)
        if self.group is None:
            pane.docs.append(rec.doc)
            pane.bytes += rec.size
            return
        self.group_stats.add("input", 1, rec.size)
        self.group.add(pane, rec.doc)

    def close(self, pane: Pane, kind: str, ctx: Ctx) -> list[Rec]:
        ts = pane.end - 1
        if self.group is not None:
            recs = [Rec(d, ts, pane.ingest) for d in self.group.results(pane)]
            self.group_stats.add("output", len(recs), sum(r.size for r in recs))
        else:
            recs = [Rec(d, ts, pane.ingest) for d in pane.docs]
        ctx.window = pane.bounds()
        try:
            recs = run_chain(self.ops, recs, ctx)
        finally:
            ctx.window = None
        out = []
        for rec in recs:
            meta = rec.doc.get("_stream_meta") if isinstance(rec.doc.get("_stream_meta"), dict) else {}
            start, end = pane.bounds()
            doc = {**rec.doc, "_stream_meta": {"source": meta.get("source", {"type": kind}),
                                                "window": {"start": start, "end": end}}}
            out.append(Rec(doc, rec.ts, rec.ingest))
        return out
