"""The emulator's state and rules behind one object: store, services, runtime, faults, auth.

``Backend`` wires the pieces together and is what the HTTP server holds. It serialises every
control-plane operation with one lock (the runtime thread never takes it: processor-level
failures it reports are queued and applied before the next request), so request handling is
simple and a concurrent start/stop cannot interleave.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

from sp_tasks.emulator.auth import Authenticator, KeyPair
from sp_tasks.emulator.db import Database
from sp_tasks.emulator.faults import Faults
from sp_tasks.emulator.processors import Processors
from sp_tasks.emulator.store import ControlStore
from sp_tasks.emulator.workspaces import Workspaces

DEFAULT_SAMPLE_RATE = 200.0  # sample_stream_solar documents per second per processor


class Backend:
    def __init__(self, data_dir: str | Path | None, *, sample_rate: float = DEFAULT_SAMPLE_RATE,
                 keys: KeyPair | None = None, run_processors: bool = True,
                 clock: Callable[[], float] = time.time):
        self.db = Database(data_dir)
        self.store = ControlStore(self.db)
        self.faults = Faults()
        self.auth = Authenticator(keys or KeyPair.from_environment(), clock)
        self.lock = threading.RLock()
        self._failed: list[str] = []
        self._failed_lock = threading.Lock()
        self.runtime = self._make_runtime(sample_rate) if run_processors else None
        self.workspaces = Workspaces(self.store)
        self.processors = Processors(self.store, self.workspaces, self.runtime,
                                     self.faults.take_fail_on_start, clock)
        with self.lock:
            self.resumed = self.processors.resume_started()

    def _make_runtime(self, sample_rate: float):
        from sp_tasks.emulator.runtime import Runtime

        return Runtime(self.db, sample_rate=sample_rate, on_failure=self._queue_failure, slowdown=self.faults.slowdown)

    def _queue_failure(self, processor_id: str, message: str) -> None:
        # Called from the runtime thread: never take self.lock here (see module docstring).
        with self._failed_lock:
            self._failed.append(processor_id)

    def before_request(self) -> None:
        """Apply what happened since the last request: injected and runtime failures."""
        with self._failed_lock:
            failed, self._failed = self._failed, []
        for processor_id in failed:
            self.processors.fail(processor_id)
        self.processors.apply_due_failures()

    def has_running_processors(self, group_id: str, workspace: str) -> bool:
        return any(p["state"] == "STARTED" for p in self.store.list("processors", group_id, workspace))

    def bulk_processor_status(self, group_id: str, workspace: str, status: str) -> None:
        for doc in self.store.list("processors", group_id, workspace):
            if status == "STARTED" and doc["state"] in ("CREATED", "STOPPED"):
                self.processors.start(group_id, workspace, doc["name"])
            elif status == "STOPPED" and doc["state"] == "STARTED":
                self.processors.stop(group_id, workspace, doc["name"])

    def set_sample_rate(self, rate: float) -> None:
        if self.runtime:
            self.runtime.set_sample_rate(rate)

    def reset(self) -> None:
        """Forget everything (tests): resources, documents, checkpoints, faults, counters."""
        with self.lock:
            if self.runtime:
                self.runtime.reset()
            self.store.reset()
            self.faults.clear()
            self.faults.reset_counts()
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
            return {"collections": [list(c) for c in docs.collections(group_id)]}
        from sp_tasks.emulator.engine import extjson

        # Dates and ObjectIds as extended JSON ({"$date": …}), as mongosh and drivers show them.
        return json.loads(extjson.dumps({"results": results[:limit] if limit else results}))

    def delete_connection(self, group_id: str, workspace: str, name: str) -> None:
        """Reference §4.4: deleting a connection a running processor uses makes that processor fail."""
        from sp_tasks.planning.connections import referenced_connections

        self.workspaces.delete_connection(group_id, workspace, name)
        for doc in self.store.list("processors", group_id, workspace):
            if doc["state"] == "STARTED" and name in referenced_connections(doc["pipeline"], doc.get("options")):
                self.processors.fail(doc["_id"])

    def close(self) -> None:
        with self.lock:
            if self.runtime:
                self.runtime.close()
            self.db.close()
