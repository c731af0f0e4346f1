"""Window stages: event time, watermark, tumbling/hopping/session assignment, closing, lateness.

Watermark = max event time seen − ``allowedLateness`` (default 3 s). A window [start, end)
closes when the watermark reaches ``end``; a document whose every window has already closed is
late and goes to the DLQ. ``boundary: processingTime`` uses the wall clock instead (event time =
ingestion time, windows close on the clock, nothing is late). ``idleTimeout`` closes every open
window after that long without input, and an exhausted ``$source.documents`` flushes them.
Hopping windows fan a document out to every window that contains it; session windows keep one
pane per ``partitionBy`` value and merge panes that come within ``gap`` of each other. A
session's window bounds are [first event, last event + gap) [UNCONFIRMED: ASP's exact end].
"""
from __future__ import annotations

from typing import Any, Callable

from sp_tasks.emulator.engine import adapter, extjson
from sp_tasks.emulator.engine.accumulators import PANE_OVERHEAD, InnerPipeline, Pane
from sp_tasks.emulator.engine.batch import Ctx, Operator, Rec, duration_ms

DEFAULT_LATENESS_MS = 3000
KINDS = {"$tumblingWindow": "TumblingWindowOperator", "$hoppingWindow": "HoppingWindowOperator",
         "$sessionWindow": "SessionWindowOperator"}


class WindowOperator(Operator):
    def __init__(self, kind: str, spec: dict, build: Callable[[dict], Operator], source_kind: str):
        super().__init__(KINDS[kind])
        self.kind, self.source_kind = kind, source_kind
        self.processing_time = spec.get("boundary") == "processingTime"
        self.lateness = 0 if self.processing_time else duration_ms(spec.get("allowedLateness"), DEFAULT_LATENESS_MS)
        self.idle_ms = duration_ms(spec.get("idleTimeout"), 0)
        self.size = duration_ms(spec.get("interval")) if kind != "$sessionWindow" else 0
        self.hop = duration_ms(spec.get("hopSize")) if kind == "$hoppingWindow" else self.size
        offset = spec.get("offset") or {}
        self.offset = duration_ms({"size": offset.get("offsetFromUtc", 0), "unit": offset.get("unit", "ms")})
        self.gap = duration_ms(spec.get("gap")) if kind == "$sessionWindow" else 0
        self.partition: Callable[[dict], Any] | None = (
            adapter.compile_expression(spec.get("partitionBy")) if kind == "$sessionWindow" else None)
        if kind != "$sessionWindow" and (self.size <= 0 or self.hop <= 0):
            raise ValueError(f"{kind} needs a positive interval (and hopSize)")
        self.inner = InnerPipeline(list(spec.get("pipeline") or []), build, buffer=kind == "$sessionWindow")
        self.panes: dict[Any, Pane] = {}
        self.max_ts: int | None = None
        self.last_input = 0.0

    # -- watermark ----------------------------------------------------------------------------
    @property
    def watermark(self) -> int | None:
        return None if self.max_ts is None else self.max_ts - self.lateness

    def open_range(self) -> tuple[int, int] | None:
        starts = [p.start for p in self.panes.values()]
        return (min(starts), max(starts)) if starts else None

    def state_bytes(self) -> int:
        return sum(p.bytes for p in self.panes.values())

    # -- processing ---------------------------------------------------------------------------
    def process(self, recs: list[Rec], ctx: Ctx) -> list[Rec]:
        out: list[Rec] = []
        for rec in recs:
            t = int(rec.ingest * 1000) if self.processing_time else rec.ts
            if not self._assign(rec, t):
                ctx.dead_letter(self, f"Input document arrived late: event time {extjson.iso(extjson.from_ms(t))} is "
                                      f"before the watermark {extjson.iso(extjson.from_ms(self.watermark))}", rec.doc)
                continue
            if self.max_ts is None or t > self.max_ts:
                self.max_ts = t
                if not self.processing_time:
                    out += self._close(self.watermark, ctx)
        if recs or not self.last_input:
            self.last_input = ctx.wall
        now_ms = int(ctx.wall * 1000)
        if ctx.flush or (self.idle_ms and self.panes and (ctx.wall - self.last_input) * 1000 >= self.idle_ms):
            out += self._close(None, ctx)
        elif self.processing_time:
            out += self._close(now_ms, ctx)
        return out

    def _close(self, upto: int | None, ctx: Ctx) -> list[Rec]:
        """Close panes whose end ≤ ``upto`` (all when None), oldest first."""
        due = sorted((p for p in self.panes.values() if upto is None or p.end <= upto), key=lambda p: (p.end, p.start))
        out: list[Rec] = []
        for pane in due:
            del self.panes[self._key(pane)]
            out += self.inner.close(pane, self.source_kind, ctx)
        return out

    @staticmethod
    def _key(pane: Pane) -> Any:
        return pane.start if pane.partition is None else (pane.partition, pane.start)

    def _assign(self, rec: Rec, t: int) -> bool:
        if self.kind == "$sessionWindow":
            return self._assign_session(rec, t)
        watermark = None if self.processing_time else self.watermark
        first = (t - self.offset - self.size) // self.hop + 1
        last = (t - self.offset) // self.hop
        placed = False
        for k in range(first, last + 1):
            start = k * self.hop + self.offset
            if watermark is not None and start + self.size <= watermark:
                continue
            pane = self.panes.get(start)
            if pane is None:
                pane = self.panes[start] = Pane(start, start + self.size)
            self.inner.add(pane, rec)
            placed = True
        return placed

    def _assign_session(self, rec: Rec, t: int) -> bool:
        watermark = self.watermark
        if watermark is not None and not self.processing_time and t + self.gap <= watermark:
            return False
        part = extjson.canonical_key(self.partition(rec.doc))
        touching = [p for p in self.panes.values() if p.partition == part and p.start - self.gap <= t < p.end]
        merged = Pane(min([t] + [p.start for p in touching]), max([t + self.gap] + [p.end for p in touching]), part)
        for pane in sorted(touching, key=lambda p: p.start):
            del self.panes[self._key(pane)]
            merged.docs += pane.docs
            merged.bytes += pane.bytes - PANE_OVERHEAD
            merged.ingest = min(merged.ingest, pane.ingest)
        self.panes[self._key(merged)] = merged
        self.inner.add(merged, rec)
        return True

    # -- checkpoint ---------------------------------------------------------------------------
    def snapshot(self) -> Any:
        return {"maxTs": self.max_ts, "panes": [p.to_json() for p in self.panes.values()],
                "inner": [s.to_json() for s in self.inner.operator_stats()]}

    def restore(self, state: Any) -> None:
        self.max_ts = state.get("maxTs")
        for data in state.get("panes") or []:
            pane = Pane.from_json(data)
            self.panes[self._key(pane)] = pane
        for stats, saved in zip(self.inner.operator_stats(), state.get("inner") or []):
            if stats.name == saved.get("name"):
                stats.load(saved)
