"""The emulator's embedded SQLite database: one file under --data-dir, shared by every module.

Every read and write of emulator state goes through :class:`Database`, which serialises access
with one re-entrant lock (the HTTP handler threads and the processor runtime thread share one
connection) and runs each ``transaction()`` atomically, so a crash never leaves half a change.
Modules own their tables: each calls :meth:`Database.ensure_schema` with its ``CREATE TABLE IF
NOT EXISTS`` script at construction. ``path=None`` gives a private in-memory database (tests).
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

DB_FILE = "emulator.sqlite3"


class Database:
    def __init__(self, data_dir: str | Path | None):
        if data_dir is None:
            target = ":memory:"
        else:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            target = str(Path(data_dir).resolve() / DB_FILE)
        self.path = target
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if target != ":memory:":
            # WAL + NORMAL: durable across process crashes, cheap commits (one per batch).
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._depth = 0

    def ensure_schema(self, script: str) -> None:
        with self._lock:
            self._conn.executescript(script)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Atomic unit of work; nested calls join the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if outer:
                    self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; returns the affected row count."""
        with self.transaction() as conn:
            return conn.execute(sql, params).rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()
