"""The engine of one running processor: micro-batch ticks, one write transaction, checkpoints, stats.

Each ``tick`` pulls what the source has due, runs it through the operators, and writes sink
output, dead letters and (about once a second) the checkpoint in ONE transaction, so a crash
replays at most the last second: at-least-once, as ASP. A tick that raises has written nothing
and closes its engine, which then never checkpoints again (``shutdown`` is a no-op), because its
source position and counters already include the batch that failed. The checkpoint holds
everything needed to continue: counters, source position, window state, and the rendered stats
(so a stopped processor still answers ``stats``); ``counters_only`` is the part that
``resumeFromCheckpoint: false`` keeps.

Latency, the emulator's model of it: a document's latency is the wall time it waited inside
the processor before the micro-batch that writes it (a window's wait; 0 for a document pulled in
that batch) plus a *modelled* processing cost: the batch's work — every operator's input
documents and bytes, source and sink included, at :data:`DOC_COST_S` and :data:`BYTE_COST_S` —
shared out over the documents the batch pulled. Not a clock: the emulator makes no outbound
calls, so any clock measures the machine's other work. On a shared 2-core machine under load,
wall time moved one processor's p50 2–10× between rounds and two identical copies ±40 % apart;
the ticking thread's CPU time did not do much better (±30 %). The model moves with what a
pipeline change does (stages added or removed, documents dropped early, bigger documents),
identical copies measure alike, and the slow fault rule scales the whole latency.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from sp_tasks.atlas import unconfirmed
from sp_tasks.emulator.engine.batch import Ctx, Rec, run_chain
from sp_tasks.emulator.engine.plan import build_plan
from sp_tasks.emulator.engine.sources import SampleSource
from sp_tasks.emulator.engine.stats import Latency, Totals, render_stats
from sp_tasks.emulator.engine.windows import DEFAULT_LATENESS_MS

MAX_BATCH = 2000           # documents per micro-batch (bounds memory and one transaction's size)
# The latency model (module docstring): what one operator costs per input document and per byte.
# Model constants, not Atlas figures: the sample pipelines come out at 0.2–0.3 ms per document.
DOC_COST_S = 50e-6
BYTE_COST_S = 100e-9
CHECKPOINT_EVERY_S = 1.0
STATE_VERSION = 1
# Stats fields that describe the source position or open windows: dropped with them.
POSITION_STATS = ("watermark", "changeStreamState", "changeStreamTimeDifferenceSecs", "kafkaPartitions",
                  "minOpenWindowStartTime", "maxOpenWindowStartTime")

SaveCheckpoint = Callable[[Any, str, dict], None]  # (connection, processor_id, state)


class Engine:
    def __init__(self, spec: Any, store: Any, *, sample_rate: float, save: SaveCheckpoint,
                 checkpoint: dict | None = None, clock: Callable[[], float] = time.time,
                 slow: Callable[[], tuple[float, float]] = lambda: (1.0, 0.0)):
        self.spec, self.store, self.save, self.clock = spec, store, save, clock
        self.batch = (0, 0, 0)  # the current batch: documents pulled, operator work (docs, bytes) before it
        self.slow = slow  # (factor, extra ms) stretching measured latency: the emulator's slow fault rule
        self.plan = build_plan(spec, store, sample_rate)
        self.lock = threading.RLock()
        self.latency = Latency()
        self.totals = Totals()
        self.max_ts: int | None = None
        self.flushed = False
        self.closed = False
        self.dirty = False
        self.last_checkpoint = self.clock()
        self.in_flight = 0
        if checkpoint and checkpoint.get("version") == STATE_VERSION:
            self._restore(checkpoint)

    @property
    def processor_id(self) -> str:
        return self.spec.processor_id

    def operators(self) -> list:
        return [self.plan.source, *self.plan.ops, self.plan.sink]

    def set_sample_rate(self, rate: float) -> None:
        with self.lock:
            if isinstance(self.plan.source, SampleSource):
                self.plan.source.set_rate(rate)

    # -- running ------------------------------------------------------------------------------
    def tick(self, wall: float | None = None) -> int:
        """Run one micro-batch; returns how many documents entered. An error closes the engine."""
        with self.lock:
            if self.closed:
                return 0
            try:
                return self._batch(Ctx(wall if wall is not None else self.clock()))
            except BaseException:
                # Closed under the same lock: no later shutdown can checkpoint past the failed batch.
                self.closed = True
                raise

    def _batch(self, ctx: Ctx) -> int:
        before = self._work()
        recs = self._pull(ctx)
        entered = len(recs)
        self.batch = (entered, *before)
        recs = run_chain(self.plan.ops, recs, ctx)
        if recs:
            self.plan.sink.stats.add("input", len(recs), sum(r.size for r in recs))
        self.plan.sink.process(recs, ctx)
        due = self.dirty and ctx.wall - self.last_checkpoint >= CHECKPOINT_EVERY_S
        if recs or ctx.dead or due:
            self._write(ctx, due)
        return entered

    def _pull(self, ctx: Ctx) -> list[Rec]:
        source = self.plan.source
        started = time.perf_counter()
        recs = source.pull(ctx, MAX_BATCH)
        source.stats.time_ms += (time.perf_counter() - started) * 1000.0
        if source.exhausted and not self.flushed:
            ctx.flush = self.flushed = True
        if recs:
            size = sum(r.size for r in recs)
            source.stats.add("output", len(recs), size)
            self.totals.add("input", len(recs), size)
            self.max_ts = max(self.max_ts or 0, max(r.ts for r in recs))
            self.dirty = True
        self.in_flight = sum(r.size for r in recs)
        return recs

    def _write(self, ctx: Ctx, checkpoint: bool) -> None:
        sink = self.plan.sink
        with self.store.db.transaction() as conn:
            started = time.perf_counter()
            written = sink.write(conn, ctx)
            sink.stats.time_ms += (time.perf_counter() - started) * 1000.0
            self._count_written(written, ctx)
            count, size = self.plan.dlq.write(conn, ctx)
            self.totals.add("dlq", count, size)
            self.dirty = self.dirty or bool(written) or bool(count)
            if checkpoint or self.dirty and self.clock() - self.last_checkpoint >= CHECKPOINT_EVERY_S:
                self._checkpoint(conn, "running")

    def _count_written(self, written: list[Rec], ctx: Ctx) -> None:
        if not written:
            return
        size = sum(r.size for r in written)
        self.plan.sink.stats.add("output", len(written), size)
        self.totals.add("output", len(written), size)
        entered, docs, size = self.batch
        now_docs, now_size = self._work()
        cost = ((now_docs - docs) * DOC_COST_S + (now_size - size) * BYTE_COST_S) / max(1, entered)
        by_ingest: dict[float, int] = {}
        for rec in written:
            by_ingest[rec.ingest] = by_ingest.get(rec.ingest, 0) + 1
        factor, extra_ms = self.slow()
        now = self.clock()
        for ingest, count in by_ingest.items():
            waited = max(0.0, ctx.wall - ingest)  # in window state before this batch
            self.latency.add(now, round(((waited + cost) * factor + extra_ms / 1000.0) * 1_000_000), count)

    def _work(self) -> tuple[int, int]:
        """Documents and bytes every operator has taken in so far (the latency model's work)."""
        counts = [op.stats.counts for op in self.operators()]
        return sum(c["inputMessageCount"] for c in counts), sum(c["inputMessageSize"] for c in counts)

    def _checkpoint(self, conn: Any, status: str) -> None:
        self.save(conn, self.processor_id, self.state(status))
        self.last_checkpoint = self.clock()
        self.dirty = False

    def shutdown(self, status: str = unconfirmed.STOPPED_STATS_STATUS) -> None:
        """Checkpoint and stop (idempotent)."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            with self.store.db.transaction() as conn:
                self._checkpoint(conn, status)

    def abort(self) -> None:
        """Stop without a checkpoint: the last committed one is where a restart continues."""
        with self.lock:
            self.closed = True

    # -- state and stats ----------------------------------------------------------------------
    def state(self, status: str = "running") -> dict[str, Any]:
        return {"version": STATE_VERSION, "name": self.spec.name, "totals": self.totals.counts,
                "operators": [op.stats.to_json() for op in self.operators()],
                "source": self.plan.source.snapshot(), "ops": [op.snapshot() for op in self.plan.ops],
                "maxTs": self.max_ts, "flushed": self.flushed, "stats": self.stats(status)}

    def stats(self, status: str = "running") -> dict[str, Any]:
        with self.lock:
            window = self.plan.window
            operators = []
            for op in self.operators():
                operators.append(op.stats.render(op.state_bytes()))
                if op is window:
                    operators += [s.render(0) for s in window.inner.operator_stats()]
            state_size = sum(op.state_bytes() for op in self.plan.ops)
            lateness = window.lateness if window else DEFAULT_LATENESS_MS
            return render_stats(
                name=self.spec.name, processor_id=self.processor_id, status=status, totals=self.totals,
                operators=operators, state_size=state_size, memory=state_size + self.in_flight,
                latency=self.latency.render(self.clock()),
                watermark_ms=None if self.max_ts is None else self.max_ts - lateness,
                open_windows=window.open_range() if window else None, extra=self.plan.source.extra_stats())

    def _restore(self, saved: dict[str, Any]) -> None:
        self.totals = Totals(saved.get("totals"))
        self.max_ts, self.flushed = saved.get("maxTs"), bool(saved.get("flushed"))
        for op, data in zip(self.operators(), saved.get("operators") or []):
            if op.stats.name == data.get("name"):
                op.stats.load(data)
        if saved.get("source"):
            self.plan.source.restore(saved["source"])
        for op, data in zip(self.plan.ops, saved.get("ops") or []):
            if data is not None:
                try:
                    op.restore(data)
                except (KeyError, TypeError, ValueError):
                    pass  # the pipeline changed shape: that operator starts fresh


def counters_only(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint without source position and window state: only the cumulative counters remain."""
    stats = {k: v for k, v in (checkpoint.get("stats") or {}).items() if k not in POSITION_STATS}
    if stats:
        stats.update(stateSize=0, memoryTrackerBytes=0,
                     operatorStats=[{**op, "stateSize": 0} for op in stats.get("operatorStats") or []])
    # A window's own checkpoint also carries its inner stages' counters: those stay, its panes go.
    ops = [{"inner": op["inner"]} if isinstance(op, dict) and "inner" in op else None
           for op in checkpoint.get("ops") or []]
    return {"version": checkpoint.get("version"), "name": checkpoint.get("name"), "totals": checkpoint.get("totals"),
            "operators": checkpoint.get("operators"), "ops": ops, "stats": stats}
