"""Runs STARTED processors: one background thread ticks every engine; checkpoints; stats.

This is the backend's only handle on execution. ``start`` builds an ``Engine`` for a processor
(resuming from its checkpoint unless told not to), one daemon thread ticks all engines every
``tick_seconds``, and processor-level failures (a missing connection, an unsupported stage, a
``$https`` with ``onError: fail``) are reported through ``on_failure(processor_id, message)``,
always from the runtime thread and never while this module holds a lock. A failed engine is
dropped without a checkpoint: the last committed one stays, so a restart re-reads the batch that
failed (at-least-once) and the counters never count what was not emitted. Checkpoints live in
the table ``runtime_checkpoints`` of the shared ``Database``; sink documents, topics and test
logs in ``documents`` (a ``DocumentStore``).

Three ways to forget: ``reset_state`` drops window state and source position but keeps the
cumulative counters (``resumeFromCheckpoint: false``, reference §5.2), ``discard`` drops the
whole checkpoint (delete), ``reset`` drops everything (the admin reset).

Lock order: engine lock → database lock. Callers must not call ``Runtime`` methods from inside
``Database.transaction()``.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from sp_tasks.atlas import unconfirmed
from sp_tasks.emulator.db import Database
from sp_tasks.emulator.documents import DocumentStore
from sp_tasks.emulator.engine import extjson

logger = logging.getLogger(__name__)
PRUNE_EVERY_S = 30.0  # retention of change log, topics and test logs (DocumentStore.prune)
CHECKPOINT_SCHEMA = """
CREATE TABLE IF NOT EXISTS runtime_checkpoints (
    processor_id TEXT PRIMARY KEY, state TEXT NOT NULL, saved REAL NOT NULL);
"""


@dataclass(frozen=True)
class RunSpec:
    processor_id: str
    name: str
    group_id: str
    workspace: str
    pipeline: list
    options: dict | None
    connections: dict[str, dict]


class Checkpoints:
    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema(CHECKPOINT_SCHEMA)

    def load(self, processor_id: str) -> dict | None:
        rows = self.db.query("SELECT state FROM runtime_checkpoints WHERE processor_id=?", (processor_id,))
        return extjson.loads(rows[0]["state"]) if rows else None

    def save(self, conn: Any, processor_id: str, state: dict) -> None:
        conn.execute("INSERT INTO runtime_checkpoints VALUES (?,?,?) ON CONFLICT DO UPDATE SET state=excluded.state, "
                     "saved=excluded.saved", (processor_id, extjson.dumps(state), time.time()))

    def delete(self, processor_id: str | None = None) -> None:
        if processor_id is None:
            self.db.execute("DELETE FROM runtime_checkpoints")
        else:
            self.db.execute("DELETE FROM runtime_checkpoints WHERE processor_id=?", (processor_id,))

    def rewrite(self, processor_id: str, change: Callable[[dict], dict]) -> None:
        """Replace a stored checkpoint by ``change(checkpoint)``; nothing when there is none."""
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT state FROM runtime_checkpoints WHERE processor_id=?",
                                (processor_id,)).fetchall()
            if rows:
                self.save(conn, processor_id, change(extjson.loads(rows[0]["state"])))


class Runtime:
    def __init__(self, db: Database, *, sample_rate: float = 200.0, tick_seconds: float = 0.05,
                 on_failure: Callable[[str, str], None] | None = None, clock: Callable[[], float] = time.time,
                 slowdown: Callable[[str], tuple[float, float]] = lambda _name: (1.0, 0.0)):
        self.db = db
        self.slowdown = slowdown  # processor name -> (latency factor, extra ms): the slow fault rule
        self.clock = clock
        self.documents = DocumentStore(db)
        self.checkpoints = Checkpoints(db)
        self.sample_rate = sample_rate
        self.tick_seconds = tick_seconds
        self.on_failure = on_failure
        self._engines: dict[str, Any] = {}
        self._failures: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._pruned = 0.0
        self._order = random.Random(0)

    # -- control ------------------------------------------------------------------------------
    def start(self, spec: RunSpec, *, resume: bool = True) -> None:
        from sp_tasks.emulator.engine.processor import Engine

        self.stop(spec.processor_id)
        if not resume and unconfirmed.START_FRESH_KEEPS_COUNTERS:
            self.reset_state(spec.processor_id)
        elif not resume:
            self.discard(spec.processor_id)
        saved = self.checkpoints.load(spec.processor_id)
        try:
            engine = Engine(spec, self.documents, sample_rate=self.sample_rate, save=self.checkpoints.save,
                            checkpoint=saved, clock=self.clock, slow=lambda: self.slowdown(spec.name))
        except Exception as err:
            self._report(spec.processor_id, str(err) or type(err).__name__)
        else:
            with self._lock:
                self._engines[spec.processor_id] = engine
        self._ensure_thread()

    def stop(self, processor_id: str) -> None:
        with self._lock:
            engine = self._engines.pop(processor_id, None)
        if engine is not None:
            engine.shutdown(unconfirmed.STOPPED_STATS_STATUS)

    def reset_state(self, processor_id: str) -> None:
        """Forget window state and source position, keep the counters (of a processor not running)."""
        from sp_tasks.emulator.engine.processor import counters_only

        self.checkpoints.rewrite(processor_id, counters_only)

    def discard(self, processor_id: str) -> None:
        """Forget the whole checkpoint, counters included (the processor is deleted), and its
        __testLog output when that is the processor's log (unconfirmed.TEST_LOG_GOES_WITH_PROCESSOR)."""
        self.checkpoints.delete(processor_id)
        if unconfirmed.TEST_LOG_GOES_WITH_PROCESSOR:
            self.documents.drop("", {"processorId": processor_id})

    def is_running(self, processor_id: str) -> bool:
        with self._lock:
            return processor_id in self._engines

    def set_sample_rate(self, docs_per_second: float) -> None:
        self.sample_rate = float(docs_per_second)
        for engine in self._running():
            engine.set_sample_rate(self.sample_rate)

    def stats(self, processor_id: str) -> dict | None:
        with self._lock:
            engine = self._engines.get(processor_id)
        if engine is not None:
            return engine.stats("running")
        saved = self.checkpoints.load(processor_id)
        return saved.get("stats") if saved else None

    def reset(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
            self._failures.clear()
        for engine in engines:
            engine.abort()
        self.checkpoints.delete()
        self.documents.reset()

    def close(self) -> None:
        self._halt.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.shutdown(unconfirmed.STOPPED_STATS_STATUS)

    # -- the thread ---------------------------------------------------------------------------
    def _running(self) -> list[Any]:
        with self._lock:
            return list(self._engines.values())

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._halt.clear()
            self._thread = threading.Thread(target=self._loop, name="sp-emulator-runtime", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        # Wait first: with a large tick_seconds the thread never ticks and a test drives tick().
        started = time.monotonic()
        while not self._halt.wait(max(0.0, self.tick_seconds - (time.monotonic() - started))):
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the thread must outlive any one bad round
                logger.exception("emulator runtime tick failed")

    def tick(self) -> None:
        """One round over every running engine (the thread calls this; tests may too)."""
        wall = self.clock()
        if wall - self._pruned >= PRUNE_EVERY_S:
            self._pruned = wall
            self.documents.prune()
        # Every engine runs at the round's time, so processors that read the same source pull the
        # same documents (perf-ab's base and head copies get identical batches); latency is a
        # model of each batch's work, not the others' turns (engine/processor.py). The order is
        # shuffled every round, so no processor is always first (cold caches) or always after
        # another (its database pages): a fixed order favoured one copy by 3–20 %.
        engines = self._running()
        self._order.shuffle(engines)
        for engine in engines:
            try:
                engine.tick(wall)
            except Exception as err:
                self._fail(engine, str(err) or type(err).__name__)
        self._deliver_failures()

    def _fail(self, engine: Any, message: str) -> None:
        with self._lock:
            if self._engines.get(engine.processor_id) is engine:
                del self._engines[engine.processor_id]
        # The engine closed itself when its tick raised: the last committed checkpoint stays, so a
        # restart re-reads the failed batch (at-least-once). Only its status changes.
        try:
            self.checkpoints.rewrite(engine.processor_id, _with_status("error"))
        except Exception:  # noqa: BLE001 - the database may be what failed; the checkpoint stays as it was
            logger.exception("could not mark the checkpoint of processor %s failed", engine.processor_id)
        self._report(engine.processor_id, message)

    def _report(self, processor_id: str, message: str) -> None:
        with self._lock:
            self._failures.append((processor_id, message))

    def _deliver_failures(self) -> None:
        with self._lock:
            failures, self._failures = self._failures, []
        for processor_id, message in failures:
            if self.on_failure is None:
                continue
            try:
                self.on_failure(processor_id, message)
            except Exception:  # noqa: BLE001 - a failing callback must not stop the other processors
                logger.exception("on_failure callback failed for processor %s", processor_id)


def _with_status(status: str) -> Callable[[dict], dict]:
    def change(checkpoint: dict) -> dict:
        return {**checkpoint, "stats": {**(checkpoint.get("stats") or {}), "status": status}}
    return change
