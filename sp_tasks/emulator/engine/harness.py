"""Drives one ``Engine`` synchronously on a simulated clock, for tests and benchmarks.

The runtime ticks engines from a thread on the wall clock; tests and the throughput benchmark
need the same engine without threads or sleeps. ``Harness`` builds the engine on an in-memory
(or given) database, advances its own clock by ``step`` per tick, keeps checkpoints in memory,
and can rebuild the engine from the last checkpoint as a restart would.
"""
from __future__ import annotations

import itertools
import time
from typing import Any

from sp_tasks.emulator.db import Database
from sp_tasks.emulator.documents import DocumentStore
from sp_tasks.emulator.engine import extjson
from sp_tasks.emulator.engine.processor import Engine

CLUSTER = "Cluster0"
DEFAULT_CONNECTIONS = {
    "atlas": {"name": "atlas", "type": "Cluster", "clusterName": CLUSTER},
    "kafka": {"name": "kafka", "type": "Kafka", "bootstrapServers": "localhost:9092"},
}
_ids = itertools.count(1)


class Harness:
    def __init__(self, pipeline: list, *, options: dict | None = None, connections: dict | None = None,
                 name: str = "proc", group_id: str = "g1", store: DocumentStore | None = None,
                 sample_rate: float = 100.0, start: float | None = None, processor_id: str | None = None):
        from sp_tasks.emulator.runtime import RunSpec

        self.store = store or DocumentStore(Database(None))
        self.now = time.time() if start is None else start
        self.saved: dict | None = None
        self.sample_rate = sample_rate
        self.spec = RunSpec(processor_id or f"{next(_ids):024x}", name, group_id, "ws", pipeline, options,
                            DEFAULT_CONNECTIONS if connections is None else connections)
        self.engine = self._engine(None)

    def _engine(self, checkpoint: dict | None) -> Engine:
        return Engine(self.spec, self.store, sample_rate=self.sample_rate, save=self._save, checkpoint=checkpoint,
                      clock=lambda: self.now)

    def _save(self, conn: Any, processor_id: str, state: dict) -> None:
        self.saved = extjson.loads(extjson.dumps(state))  # what a restart would read back

    def tick(self, step: float = 0.05) -> int:
        self.now += step
        return self.engine.tick(self.now)

    def run(self, seconds: float, step: float = 0.05) -> int:
        return sum(self.tick(step) for _ in range(max(1, round(seconds / step))))

    def drain(self, max_ticks: int = 1000, step: float = 0.05) -> None:
        """Tick until a ``documents`` source is used up and its windows are flushed."""
        for _ in range(max_ticks):
            self.tick(step)
            if self.engine.flushed:
                self.tick(step)
                return
        raise RuntimeError("the source did not run dry")

    def restart(self) -> None:
        """Stop with a checkpoint and start a new engine from it (an emulator restart)."""
        self.engine.shutdown()
        self.engine = self._engine(self.saved)

    def stats(self) -> dict:
        return self.engine.stats()

    def find(self, coll: str, db: str = "db", query: dict | None = None, cluster: str = CLUSTER) -> list[dict]:
        return self.store.find(self.spec.group_id, cluster, db, coll, query)

    def test_log(self) -> list[dict]:
        return self.store.test_log(self.spec.processor_id)
