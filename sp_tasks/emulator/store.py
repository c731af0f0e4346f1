"""Persistence of the emulator's control plane: workspaces, connections and processors in SQLite.

Rows keep the resource document as JSON (key order preserved) plus the columns we look up by.
Listing order is creation order (``seq``), which survives renames. Nothing here applies API
rules; ``workspaces.py`` and ``processors.py`` do.
"""
from __future__ import annotations

import json
import secrets
from typing import Any

from sp_tasks.emulator.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    UNIQUE (group_id, name));
CREATE TABLE IF NOT EXISTS connections (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id TEXT NOT NULL, workspace TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    UNIQUE (group_id, workspace, name));
CREATE TABLE IF NOT EXISTS processors (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id TEXT NOT NULL, workspace TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    fail_at REAL,
    UNIQUE (group_id, workspace, name));
"""

TABLES = ("workspaces", "connections", "processors")


def new_object_id() -> str:
    """A 24-hex id like a MongoDB ObjectId (random; ids only need to be unique)."""
    return secrets.token_hex(12)


class ControlStore:
    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema(SCHEMA)

    # -- generic row access -------------------------------------------------------------
    def list(self, table: str, group_id: str, workspace: str | None = None) -> list[dict[str, Any]]:
        sql, params = f"SELECT doc FROM {table} WHERE group_id = ?", [group_id]
        if workspace is not None:
            sql += " AND workspace = ?"
            params.append(workspace)
        return [json.loads(r["doc"]) for r in self.db.query(sql + " ORDER BY seq", params)]

    def get(self, table: str, group_id: str, name: str, workspace: str | None = None) -> dict | None:
        sql, params = f"SELECT doc FROM {table} WHERE group_id = ? AND name = ?", [group_id, name]
        if workspace is not None:
            sql += " AND workspace = ?"
            params.append(workspace)
        rows = self.db.query(sql, params)
        return json.loads(rows[0]["doc"]) if rows else None

    def insert(self, table: str, group_id: str, doc: dict, workspace: str | None = None) -> None:
        if workspace is None:
            self.db.execute(
                f"INSERT INTO {table} (group_id, name, doc) VALUES (?, ?, ?)",
                (group_id, doc["name"], json.dumps(doc)),
            )
        else:
            self.db.execute(
                f"INSERT INTO {table} (group_id, workspace, name, doc) VALUES (?, ?, ?, ?)",
                (group_id, workspace, doc["name"], json.dumps(doc)),
            )

    def replace(self, table: str, group_id: str, name: str, doc: dict, workspace: str | None = None) -> None:
        """Overwrite the row found by its current ``name``; ``doc['name']`` may rename it."""
        sql = f"UPDATE {table} SET name = ?, doc = ? WHERE group_id = ? AND name = ?"
        params: list[Any] = [doc["name"], json.dumps(doc), group_id, name]
        if workspace is not None:
            sql += " AND workspace = ?"
            params.append(workspace)
        self.db.execute(sql, params)

    def delete(self, table: str, group_id: str, name: str, workspace: str | None = None) -> None:
        sql, params = f"DELETE FROM {table} WHERE group_id = ? AND name = ?", [group_id, name]
        if workspace is not None:
            sql += " AND workspace = ?"
            params.append(workspace)
        self.db.execute(sql, params)

    def delete_workspace_children(self, group_id: str, workspace: str) -> None:
        with self.db.transaction() as conn:
            for table in ("connections", "processors"):
                conn.execute(f"DELETE FROM {table} WHERE group_id = ? AND workspace = ?", (group_id, workspace))

    # -- processor-only columns ---------------------------------------------------------
    def set_fail_at(self, group_id: str, workspace: str, name: str, fail_at: float | None) -> None:
        self.db.execute(
            "UPDATE processors SET fail_at = ? WHERE group_id = ? AND workspace = ? AND name = ?",
            (fail_at, group_id, workspace, name),
        )

    def due_failures(self, now: float) -> list[tuple[str, str, str]]:
        rows = self.db.query(
            "SELECT group_id, workspace, name FROM processors WHERE fail_at IS NOT NULL AND fail_at <= ?",
            (now,),
        )
        return [(r["group_id"], r["workspace"], r["name"]) for r in rows]

    def all_processors(self) -> list[tuple[str, str, dict]]:
        return self.all_rows("processors")

    def all_rows(self, table: str) -> list[tuple[str, str, dict]]:
        """(group, workspace, document) of every connection or processor, in creation order."""
        rows = self.db.query(f"SELECT group_id, workspace, doc FROM {table} ORDER BY seq")
        return [(r["group_id"], r["workspace"], json.loads(r["doc"])) for r in rows]

    def reset(self) -> None:
        with self.db.transaction() as conn:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")
