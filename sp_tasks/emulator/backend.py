"""The emulator's state and rules behind one object: store, services, runtime, lifecycle, faults, auth.

``Backend`` wires the pieces together and is what the HTTP server holds. It serialises every
control-plane operation with one lock (the runtime thread never takes it: processor-level
failures it reports are queued and applied before the next request), so request handling is
simple and a concurrent start/stop cannot interleave. Pending lifecycle transitions are applied
before each request and by a ticker thread (which takes the lock only when one is due), so a
processor becomes STARTED on time even when nobody polls.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

from sp_tasks.emulator import errors, lifecycle
from sp_tasks.emulator.acceptance import referenced_connections
from sp_tasks.emulator.auth import Authenticator, KeyPair
from sp_tasks.emulator.db import Database
from sp_tasks.emulator.faults import Faults
from sp_tasks.emulator.processors import Processors
from sp_tasks.emulator.protocol import RateBudget
from sp_tasks.emulator.store import ControlStore
from sp_tasks.emulator.workspaces import Workspaces

DEFAULT_SAMPLE_RATE = 200.0  # sample_stream_solar documents per second per processor
TICK_SECONDS = 0.05


class Backend:
    def __init__(self, data_dir: str | Path | None, *, sample_rate: float = DEFAULT_SAMPLE_RATE,
                 keys: KeyPair | None = None, run_processors: bool = True,
                 clock: Callable[[], float] = time.time, delays: dict[str, float] | None = None):
        self.db = Database(data_dir)
        self.store = ControlStore(self.db)
        self.faults = Faults()
        self.auth = Authenticator(keys or KeyPair.from_environment(), clock)
        self.rate = RateBudget()
        self.lock = threading.RLock()
        self.clock = clock
        self._failed: list[str] = []
        self._failed_lock = threading.Lock()
        self.runtime = self._make_runtime(sample_rate) if run_processors else None
        self.schedule = lifecycle.Schedule()
        delays = dict(delays if delays is not None else lifecycle.DEFAULT_DELAYS)
        self.workspaces = Workspaces(self.store, clock, delays, self.schedule)
        self.processors = Processors(self.store, self.workspaces, self.runtime,
                                     self.faults.take_fail_on_start, clock, delays, self.schedule)
        with self.lock:
            self.workspaces.reindex()
            self.resumed = self.processors.resume_started()
        self._halt = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="sp-emulator-lifecycle", daemon=True)
        self._ticker.start()

    def _make_runtime(self, sample_rate: float):
        from sp_tasks.emulator.runtime import Runtime

        return Runtime(self.db, sample_rate=sample_rate, on_failure=self._queue_failure, slowdown=self.faults.slowdown)

    def _queue_failure(self, processor_id: str, message: str) -> None:
        # Called from the runtime thread: never take self.lock here (see module docstring).
        with self._failed_lock:
            self._failed.append(processor_id)

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def delays(self) -> dict[str, float]:
        return dict(self.processors.delays)

    def set_delays(self, delays: dict[str, float]) -> None:
        with self.lock:
            self.processors.delays = dict(delays)
            self.workspaces.delays = dict(delays)

    def apply_due(self) -> None:
        """Enter every pending state that is due (callers hold ``self.lock``)."""
        for table, group_id, workspace, name in self.schedule.due(self.clock()):
            if table == "processors":
                self.processors.apply_due(group_id, workspace, name)
            else:
                self.workspaces.apply_due(group_id, workspace, name)

    def _tick(self) -> None:
        while not self._halt.wait(TICK_SECONDS):
            due = self.schedule.next_due()
            if due is not None and due <= self.clock():
                with self.lock:
                    self.apply_due()

    def before_request(self) -> None:
        """Apply what happened since the last request: transitions, injected and runtime failures."""
        self.apply_due()
        with self._failed_lock:
            failed, self._failed = self._failed, []
        for processor_id in failed:
            self.processors.fail(processor_id)
        self.processors.apply_due_failures()

    # -- operations spanning services -------------------------------------------------------
    def has_processors(self, group_id: str, workspace: str) -> bool:
        return bool(self.store.list("processors", group_id, workspace))

    def bulk_processor_status(self, group_id: str, workspace: str, status: str) -> None:
        for doc in self.store.list("processors", group_id, workspace):
            if status == "STARTED" and doc["state"] in ("CREATED", "STOPPED"):
                self.processors.start(group_id, workspace, doc["name"])
            elif status == "STOPPED" and doc["state"] == "STARTED":
                self.processors.stop(group_id, workspace, doc["name"])

    def delete_connection(self, group_id: str, workspace: str, name: str) -> None:
        """Reference §4.4: deleting a connection a running processor uses makes that processor fail."""
        self.workspaces.delete_connection(group_id, workspace, name)
        for doc in self.store.list("processors", group_id, workspace):
            if doc["state"] == "STARTED" and name in referenced_connections(doc["pipeline"], doc.get("options")):
                self.processors.fail(doc["_id"])

    # -- admin ------------------------------------------------------------------------------
    def set_sample_rate(self, rate: float) -> None:
        if self.runtime:
            self.runtime.set_sample_rate(rate)

    def reset(self) -> None:
        """Forget everything (tests): resources, documents, checkpoints, faults, counters, budget."""
        with self.lock:
            if self.runtime:
                self.runtime.reset()
            self.store.reset()
            self.schedule.clear()
            self.faults.clear()
            self.faults.reset_counts()
            self.rate.reset()
            with self._failed_lock:
                self._failed.clear()

    def documents(self, group_id: str, query: dict[str, str]) -> dict[str, Any]:
        """Admin inspection of sink documents, topics and test logs (not part of the Atlas API)."""
        if not self.runtime:
            return {"results": []}
        docs = self.runtime.documents
        limit = int(query["limit"]) if query.get("limit") else None
        if query.get("topic"):
            results = docs.topic_messages(group_id, query.get("bootstrapServers", ""), query["topic"])
        elif query.get("processorId"):
            results = docs.test_log(query["processorId"])
        elif query.get("coll"):
            results = docs.find(group_id, query.get("cluster", ""), query.get("db", ""), query["coll"], limit=limit)
        else:
            return {"collections": [list(c) for c in docs.collections(group_id)],
                    "topics": [list(t) for t in docs.topics(group_id)]}
        from sp_tasks.emulator.engine import extjson

        # Dates and ObjectIds as extended JSON ({"$date": …}), as mongosh and drivers show them.
        return json.loads(extjson.dumps({"results": results[:limit] if limit else results}))

    def drop_documents(self, group_id: str, query: dict[str, str]) -> dict[str, Any]:
        """Admin clean-up of sink data (not part of the Atlas API): ``DocumentStore.drop``."""
        if not self.runtime:
            return {"deleted": 0}
        try:
            return {"deleted": self.runtime.documents.drop(group_id, query)}
        except ValueError as err:
            raise errors.validation(str(err)) from None

    def close(self) -> None:
        self._halt.set()
        if self._ticker is not threading.current_thread():
            self._ticker.join(timeout=5)
        with self.lock:
            if self.runtime:
                self.runtime.close()
            self.db.close()
