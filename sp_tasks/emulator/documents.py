"""Where processors' output lives: sink collections, change log, Kafka-like topics, test logs.

All of it is in the emulator's SQLite ``Database`` (tables ``docstore_*``), so it survives an
emulator restart. Collections are keyed by (group, clusterName, db, coll, canonical key of the
``$merge`` ``on`` fields); every write also appends to a change log that change-stream sources
read in order. Topics are keyed by (group, normalised bootstrapServers, topic, offset), one
partition each. Engine writes take the connection of the caller's transaction (one transaction
per micro-batch); without one, a write opens its own. Reads return Python values (naive UTC
datetimes, ObjectIds); ``extjson.dumps`` turns them into extended JSON for HTTP.

Storage is bounded (:class:`Retention`, applied by ``prune`` every half minute): each sink
collection keeps its newest documents like a capped collection, the change log and each topic
their newest entries like an oplog or a Kafka retention, each ``__testLog`` its newest lines. Real
Atlas sinks are not capped; the emulator is a development stand-in that must not fill a disk.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Iterable

from sp_tasks.emulator.db import Database
from sp_tasks.emulator.engine import adapter, extjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS docstore_docs (
    group_id TEXT NOT NULL, cluster TEXT NOT NULL, db TEXT NOT NULL, coll TEXT NOT NULL,
    key TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (group_id, cluster, db, coll, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docstore_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL, cluster TEXT NOT NULL,
    db TEXT NOT NULL, coll TEXT NOT NULL, op TEXT NOT NULL, doc TEXT NOT NULL, updated TEXT,
    wall REAL NOT NULL);
CREATE INDEX IF NOT EXISTS docstore_changes_ns ON docstore_changes (group_id, cluster, seq);
CREATE TABLE IF NOT EXISTS docstore_topics (
    group_id TEXT NOT NULL, servers TEXT NOT NULL, topic TEXT NOT NULL, off INTEGER NOT NULL,
    key TEXT, value TEXT NOT NULL, wall REAL NOT NULL,
    PRIMARY KEY (group_id, servers, topic, off)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docstore_testlog (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, processor_id TEXT NOT NULL, line TEXT NOT NULL,
    wall REAL NOT NULL);
CREATE INDEX IF NOT EXISTS docstore_testlog_pid ON docstore_testlog (processor_id, seq);
"""
TABLES = ("docstore_docs", "docstore_changes", "docstore_topics", "docstore_testlog")
_NS = "group_id=? AND cluster=? AND db=? AND coll=?"
WHEN_MATCHED = ("merge", "replace", "keepExisting", "fail", "delete")
WHEN_NOT_MATCHED = ("insert", "discard", "fail")


def normalise_servers(servers: str) -> str:
    """``"b:9092, a:9092"`` and ``"a:9092,b:9092"`` name the same cluster."""
    return ",".join(sorted(s.strip() for s in str(servers).split(",") if s.strip()))


def _merge_key(doc: dict, on: list[str]) -> str:
    if on == ["_id"]:
        return "id:" + extjson.canonical_key(doc["_id"])
    values = []
    for field in on:
        value = adapter.evaluate("$" + field, doc)
        if value is None or isinstance(value, list):
            raise ValueError(f"$merge write error: 'on' field '{field}' cannot be missing, null or an array")
        values.append(value)
    return "on:" + extjson.canonical_key(values)


@dataclass(frozen=True)
class Retention:
    """How much the emulator keeps (``python -m sp_tasks.emulator --max-documents N``)."""

    documents: int = 20_000  # per sink collection (DLQ collections included)
    changes: int = 50_000  # change log rows, all collections
    messages: int = 50_000  # per topic
    log_lines: int = 10_000  # per processor's __testLog


class DocumentStore:
    def __init__(self, db: Database, retention: Retention = Retention()):
        self.db = db
        self.retention = retention
        db.ensure_schema(SCHEMA)

    # -- collections -------------------------------------------------------------------------
    def find(self, group_id: str, cluster_name: str, db: str, coll: str, filter: dict | None = None,
             limit: int | None = None) -> list[dict]:
        rows = self.db.query("SELECT doc FROM docstore_docs WHERE group_id=? AND cluster=? AND db=? AND coll=? "
                             "ORDER BY seq", (group_id, cluster_name, db, coll))
        out = []
        for row in rows:
            doc = extjson.loads(row["doc"])
            if not filter or adapter.matches(filter, doc):
                out.append(doc)
                if limit and len(out) >= limit:
                    break
        return out

    def count(self, group_id: str, cluster_name: str, db: str, coll: str, filter: dict | None = None) -> int:
        if filter:
            return len(self.find(group_id, cluster_name, db, coll, filter))
        rows = self.db.query("SELECT count(*) AS n FROM docstore_docs WHERE group_id=? AND cluster=? AND db=? "
                             "AND coll=?", (group_id, cluster_name, db, coll))
        return int(rows[0]["n"])

    def collections(self, group_id: str) -> list[tuple[str, str, str, int]]:
        rows = self.db.query("SELECT cluster, db, coll, count(*) AS n FROM docstore_docs WHERE group_id=? "
                             "GROUP BY cluster, db, coll ORDER BY cluster, db, coll", (group_id,))
        return [(r["cluster"], r["db"], r["coll"], int(r["n"])) for r in rows]

    def insert(self, group_id: str, cluster: str, db: str, coll: str, docs: Iterable[dict],
               conn: sqlite3.Connection | None = None) -> int:
        """Plain inserts (DLQ, time-series ``$emit``, reference data); ``_id`` generated if absent."""
        return len(self.merge(group_id, cluster, db, coll, list(docs), when_matched="replace", conn=conn)[0])

    def merge(self, group_id: str, cluster: str, db: str, coll: str, docs: list[dict], *,
              on: list[str] | None = None, when_matched: str = "merge", when_not_matched: str = "insert",
              conn: sqlite3.Connection | None = None) -> tuple[list[int], list[tuple[int, str]]]:
        """``$merge`` semantics per document; returns (indexes handled, [(index, error)]).

        Handled includes documents that ``keepExisting``/``discard`` left alone: the sink took them.
        """
        if conn is None:
            with self.db.transaction() as own:
                return self.merge(group_id, cluster, db, coll, docs, on=on, when_matched=when_matched,
                                  when_not_matched=when_not_matched, conn=own)
        on = on or ["_id"]
        written: list[int] = []
        failed: list[tuple[int, str]] = []
        ns = (group_id, cluster, db, coll)
        wall = time.time()
        for index, doc in enumerate(docs):
            try:
                self._merge_one(conn, ns, doc, on, when_matched, when_not_matched, wall)
            except Exception as err:
                failed.append((index, str(err) or type(err).__name__))
            else:
                written.append(index)
        return written, failed

    def _merge_one(self, conn: sqlite3.Connection, ns: tuple, doc: dict, on: list[str], when_matched: str,
                   when_not_matched: str, wall: float) -> None:
        if when_matched not in WHEN_MATCHED or when_not_matched not in WHEN_NOT_MATCHED:
            raise ValueError(f"$merge cannot use whenMatched {when_matched!r} / whenNotMatched {when_not_matched!r} "
                             "in the local emulator")
        if "_id" not in doc and on == ["_id"]:
            doc = {"_id": extjson.new_object_id(), **doc}
        key = _merge_key(doc, on)
        row = conn.execute("SELECT doc FROM docstore_docs WHERE group_id=? AND cluster=? AND db=? AND coll=? "
                           "AND key=?", (*ns, key)).fetchone()
        if row is None:
            self._not_matched(conn, ns, key, doc, when_not_matched, wall)
        else:
            self._matched(conn, ns, key, extjson.loads(row["doc"]), doc, when_matched, wall)

    def _not_matched(self, conn: sqlite3.Connection, ns: tuple, key: str, doc: dict, action: str, wall: float) -> None:
        if action == "fail":
            raise ValueError("$merge could not find a matching document in the target collection")
        if action == "insert":
            self._write(conn, ns, key, "insert", doc if "_id" in doc else {"_id": extjson.new_object_id(), **doc},
                        None, wall)

    def _matched(self, conn: sqlite3.Connection, ns: tuple, key: str, existing: dict, doc: dict, action: str,
                 wall: float) -> None:
        fields = {k: v for k, v in doc.items() if k != "_id"}
        if action == "fail":
            raise ValueError(f"E11000 duplicate key error: $merge whenMatched fail (key {key[3:]})")
        if action == "delete":
            self._log_change(conn, ns, "delete", extjson.dumps({"_id": existing.get("_id")}), None, wall)
            conn.execute("DELETE FROM docstore_docs WHERE group_id=? AND cluster=? AND db=? AND coll=? AND key=?",
                         (*ns, key))
        elif action == "replace":
            self._write(conn, ns, key, "replace", {"_id": existing.get("_id"), **fields}, None, wall)
        elif action == "merge":
            self._write(conn, ns, key, "update", {**existing, **fields}, fields, wall)

    def _write(self, conn: sqlite3.Connection, ns: tuple, key: str, op: str, doc: dict, updated: dict | None,
               wall: float) -> None:
        text = extjson.dumps(doc)
        seq = self._log_change(conn, ns, op, text, updated, wall)
        conn.execute("INSERT INTO docstore_docs (group_id, cluster, db, coll, key, seq, doc) VALUES (?,?,?,?,?,?,?) "
                     "ON CONFLICT DO UPDATE SET doc=excluded.doc", (*ns, key, seq, text))

    @staticmethod
    def _log_change(conn: sqlite3.Connection, ns: tuple, op: str, text: str, updated: dict | None, wall: float) -> int:
        return conn.execute("INSERT INTO docstore_changes (group_id, cluster, db, coll, op, doc, updated, wall) "
                            "VALUES (?,?,?,?,?,?,?,?)",
                            (*ns, op, text, extjson.dumps(updated) if updated else None, wall)).lastrowid

    # -- change streams ----------------------------------------------------------------------
    def change_position(self, group_id: str, cluster: str, start_at_ms: int | None = None) -> int:
        """Where a new change stream starts: now, or just before ``start_at_ms``."""
        if start_at_ms is None:
            rows = self.db.query("SELECT coalesce(max(seq), 0) AS s FROM docstore_changes")
        else:
            rows = self.db.query("SELECT coalesce(max(seq), 0) AS s FROM docstore_changes WHERE wall < ?",
                                 (start_at_ms / 1000.0,))
        return int(rows[0]["s"])

    def changes(self, group_id: str, cluster: str, db: str | None, colls: list[str], after: int,
                limit: int) -> list[dict[str, Any]]:
        sql = "SELECT * FROM docstore_changes WHERE group_id=? AND cluster=? AND seq>?"
        params: list[Any] = [group_id, cluster, after]
        if db is not None:
            sql += " AND db=?"
            params.append(db)
        if colls:
            sql += f" AND coll IN ({','.join('?' * len(colls))})"
            params.extend(colls)
        rows = self.db.query(sql + " ORDER BY seq LIMIT ?", (*params, limit))
        return [{"seq": r["seq"], "db": r["db"], "coll": r["coll"], "op": r["op"], "doc": extjson.loads(r["doc"]),
                 "updated": extjson.loads(r["updated"]) if r["updated"] else None, "wall": r["wall"]} for r in rows]

    # -- topics ------------------------------------------------------------------------------
    def append_topic(self, group_id: str, servers: str, topic: str, messages: list[tuple[Any, dict]],
                     conn: sqlite3.Connection | None = None) -> None:
        """Append (key, value) messages at the end of ``topic``."""
        if conn is None:
            with self.db.transaction() as own:
                return self.append_topic(group_id, servers, topic, messages, own)
        ns = (group_id, normalise_servers(servers), topic)
        nxt = conn.execute("SELECT coalesce(max(off) + 1, 0) FROM docstore_topics WHERE group_id=? AND servers=? "
                           "AND topic=?", ns).fetchone()[0]
        wall = time.time()
        conn.executemany("INSERT INTO docstore_topics VALUES (?,?,?,?,?,?,?)",
                         [(*ns, nxt + i, None if k is None else extjson.dumps(k), extjson.dumps(v), wall)
                          for i, (k, v) in enumerate(messages)])

    def topic_end(self, group_id: str, servers: str, topic: str) -> int:
        rows = self.db.query("SELECT coalesce(max(off) + 1, 0) AS n FROM docstore_topics WHERE group_id=? "
                             "AND servers=? AND topic=?", (group_id, normalise_servers(servers), topic))
        return int(rows[0]["n"])

    def read_topic(self, group_id: str, servers: str, topic: str, offset: int = 0,
                   limit: int = -1) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT off, key, value, wall FROM docstore_topics WHERE group_id=? AND servers=? "
                             "AND topic=? AND off>=? ORDER BY off LIMIT ?",
                             (group_id, normalise_servers(servers), topic, offset, limit))
        return [{"offset": r["off"], "key": None if r["key"] is None else extjson.loads(r["key"]),
                 "value": extjson.loads(r["value"]), "timestamp": extjson.from_ms(int(r["wall"] * 1000))}
                for r in rows]

    def topics(self, group_id: str) -> list[tuple[str, str, int]]:
        rows = self.db.query("SELECT servers, topic, count(*) AS n FROM docstore_topics WHERE group_id=? "
                             "GROUP BY servers, topic ORDER BY servers, topic", (group_id,))
        return [(r["servers"], r["topic"], int(r["n"])) for r in rows]

    def topic_messages(self, group_id: str, bootstrap_servers: str, topic: str) -> list[dict]:
        """Every message of a topic: ``{offset, key, value, timestamp}``."""
        return self.read_topic(group_id, bootstrap_servers, topic)

    # -- __testLog ---------------------------------------------------------------------------
    def append_test_log(self, processor_id: str, docs: list[dict], conn: sqlite3.Connection | None = None) -> None:
        if conn is None:
            with self.db.transaction() as own:
                return self.append_test_log(processor_id, docs, own)
        wall = time.time()
        conn.executemany("INSERT INTO docstore_testlog (processor_id, line, wall) VALUES (?,?,?)",
                         [(processor_id, extjson.dumps(d), wall) for d in docs])

    def test_log(self, processor_id: str) -> list[dict]:
        rows = self.db.query("SELECT line FROM docstore_testlog WHERE processor_id=? ORDER BY seq", (processor_id,))
        return [extjson.loads(r["line"]) for r in rows]

    def drop(self, group_id: str, query: dict[str, str]) -> int:
        """Emulator-only clean-up (``DELETE /_emulator/documents``): a database (``cluster``, ``db``,
        optional ``coll``) with its change log, a topic (``bootstrapServers``, ``topic``) or a
        processor's ``__testLog`` (``processorId``). Returns the rows deleted."""
        if query.get("topic"):
            servers = normalise_servers(query.get("bootstrapServers", ""))
            statements = [("docstore_topics", "group_id=? AND servers=? AND topic=?", (group_id, servers, query["topic"]))]
        elif query.get("processorId"):
            statements = [("docstore_testlog", "processor_id=?", (query["processorId"],))]
        elif query.get("db"):
            where = "group_id=? AND cluster=? AND db=?" + (" AND coll=?" if query.get("coll") else "")
            params = (group_id, query.get("cluster", ""), query["db"], *([query["coll"]] if query.get("coll") else []))
            statements = [(table, where, params) for table in ("docstore_docs", "docstore_changes")]
        else:
            raise ValueError("name a database (cluster, db[, coll]), a topic (bootstrapServers, topic) or a processorId")
        with self.db.transaction() as conn:
            return sum(conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
                       for table, where, params in statements)

    def prune(self) -> None:
        """Apply :attr:`retention`: keep the newest rows of every collection, log and topic.

        A change stream or consumer further behind than that continues from the oldest row kept.
        """
        keep = self.retention
        with self.db.transaction() as conn:
            for ns in conn.execute("SELECT group_id, cluster, db, coll FROM docstore_docs GROUP BY group_id, "
                                   "cluster, db, coll HAVING count(*) > ?", (keep.documents,)).fetchall():
                conn.execute(f"DELETE FROM docstore_docs WHERE {_NS} AND seq < (SELECT seq FROM docstore_docs "
                             f"WHERE {_NS} ORDER BY seq DESC LIMIT 1 OFFSET ?)", (*ns, *ns, keep.documents - 1))
            conn.execute("DELETE FROM docstore_changes WHERE seq <= (SELECT max(seq) FROM docstore_changes) - ?",
                         (keep.changes,))
            for group_id, servers, topic, end in conn.execute(
                    "SELECT group_id, servers, topic, max(off) FROM docstore_topics GROUP BY group_id, servers, topic"
            ).fetchall():
                conn.execute("DELETE FROM docstore_topics WHERE group_id=? AND servers=? AND topic=? AND off <= ?",
                             (group_id, servers, topic, end - keep.messages))
            for processor_id, last in conn.execute(
                    "SELECT processor_id, max(seq) FROM docstore_testlog GROUP BY processor_id").fetchall():
                conn.execute("DELETE FROM docstore_testlog WHERE processor_id=? AND seq <= ?",
                             (processor_id, last - keep.log_lines))

    def reset(self) -> None:
        with self.db.transaction() as conn:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")
