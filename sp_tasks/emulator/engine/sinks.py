"""Sinks and the dead-letter queue: ``$merge``, ``$emit`` (Kafka, __testLog, Atlas, others), DLQ.

A sink collects the micro-batch in ``process`` and writes it in ``write``, inside the engine's one
transaction per micro-batch; documents the target refuses (``whenMatched: fail``, a missing
``on`` field) go to the DLQ in the same transaction. ``$emit`` to a connection type the emulator
cannot reach (S3, Kinesis, …) is a counted no-op. DLQ documents have the shape of reference
§8.7: ``processorName, dlqTime, operatorName, errInfo.reason, doc, _stream_meta``.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any, Callable

from sp_tasks.emulator.engine import adapter, extjson
from sp_tasks.emulator.engine.batch import Ctx, DeadLetter, Operator, Rec


def _dynamic(value: Any) -> Callable[[dict], Any]:
    """``into.db``/``into.coll``/``topic`` may be an expression; a plain name is a constant."""
    return adapter.compile_expression(value) if isinstance(value, (dict, str)) else (lambda doc: value)


class SinkOperator(Operator):
    rewrites = False

    def __init__(self, name: str | None = None):
        super().__init__(name)
        self.pending: list[Rec] = []

    def process(self, recs: list[Rec], ctx: Ctx) -> list[Rec]:
        self.pending = recs
        return recs

    def write(self, conn: sqlite3.Connection, ctx: Ctx) -> list[Rec]:
        """Write ``pending``; return what was written (the rest went to ``ctx.dead``)."""
        written, self.pending = self.pending, []
        return written

    def _targets(self, ctx: Ctx, route: Callable[[dict], tuple]) -> dict[tuple, list[Rec]]:
        groups: dict[tuple, list[Rec]] = defaultdict(list)
        for rec in self.pending:
            try:
                target = route(rec.doc)
            except Exception as err:
                ctx.dead_letter(self, f"cannot evaluate the target: {err}", rec.doc)
                continue
            if any(not isinstance(part, str) or not part for part in target):
                ctx.dead_letter(self, f"the target must evaluate to non-empty strings, got {target!r}", rec.doc)
                continue
            groups[target].append(rec)
        return groups


class MergeSink(SinkOperator):
    """``$merge``; ``into.db``/``into.coll``/``whenMatched``/``whenNotMatched`` may be expressions."""

    name = "MergeOperator"

    def __init__(self, spec: dict, store: Any, group_id: str, cluster: str):
        super().__init__()
        into = spec.get("into") or {}
        self.store, self.group_id, self.cluster = store, group_id, cluster
        self.db, self.coll = _dynamic(into.get("db")), _dynamic(into.get("coll"))
        on = spec.get("on") or ["_id"]
        self.on = [on] if isinstance(on, str) else list(on)
        if isinstance(spec.get("whenMatched"), list):
            raise ValueError("$merge.whenMatched with a pipeline is not supported by the local emulator")
        self.when_matched = _dynamic(spec.get("whenMatched", "merge"))
        self.when_not_matched = _dynamic(spec.get("whenNotMatched", "insert"))

    def _route(self, doc: dict) -> tuple:
        return self.db(doc), self.coll(doc), self.when_matched(doc), self.when_not_matched(doc)

    def write(self, conn: sqlite3.Connection, ctx: Ctx) -> list[Rec]:
        written: list[Rec] = []
        for (db, coll, matched, not_matched), recs in self._targets(ctx, self._route).items():
            done, failed = self.store.merge(self.group_id, self.cluster, db, coll, [r.doc for r in recs], on=self.on,
                                            when_matched=matched, when_not_matched=not_matched, conn=conn)
            written += [recs[i] for i in done]
            for index, reason in failed:
                ctx.dead_letter(self, reason, recs[index].doc)
        self.pending = []
        return written


class KafkaEmit(SinkOperator):
    name = "KafkaEmitOperator"

    def __init__(self, spec: dict, store: Any, group_id: str, servers: str):
        super().__init__()
        self.store, self.group_id, self.servers = store, group_id, servers
        self.topic = _dynamic(spec.get("topic"))
        key = (spec.get("config") or {}).get("key")
        self.key = adapter.compile_expression(key) if key is not None else (lambda doc: None)

    def write(self, conn: sqlite3.Connection, ctx: Ctx) -> list[Rec]:
        written: list[Rec] = []
        for (topic,), recs in self._targets(ctx, lambda d: (self.topic(d),)).items():
            messages = []
            for rec in recs:
                message = self.attempt(rec, ctx, lambda d: [(self.key(d), d)])
                if message:
                    messages += message
                    written.append(rec)
            self.store.append_topic(self.group_id, self.servers, topic, messages, conn=conn)
        self.pending = []
        return written


class TestLogSink(SinkOperator):
    """``$emit`` to ``__testLog``: the lines are kept per processor (DocumentStore.test_log)."""

    name = "LogSinkOperator"
    __test__ = False  # not a pytest class

    def __init__(self, store: Any, processor_id: str):
        super().__init__()
        self.store, self.processor_id = store, processor_id

    def write(self, conn: sqlite3.Connection, ctx: Ctx) -> list[Rec]:
        written, self.pending = self.pending, []
        if written:
            self.store.append_test_log(self.processor_id, [r.doc for r in written], conn=conn)
        return written


class ClusterEmit(SinkOperator):
    """``$emit`` to an Atlas (time-series) collection: plain inserts."""

    name = "TimeseriesEmitOperator"

    def __init__(self, spec: dict, store: Any, group_id: str, cluster: str):
        super().__init__()
        self.store, self.group_id, self.cluster = store, group_id, cluster
        self.db, self.coll = _dynamic(spec.get("db")), _dynamic(spec.get("coll"))

    def write(self, conn: sqlite3.Connection, ctx: Ctx) -> list[Rec]:
        written: list[Rec] = []
        for (db, coll), recs in self._targets(ctx, lambda d: (self.db(d), self.coll(d))).items():
            self.store.insert(self.group_id, self.cluster, db, coll, [r.doc for r in recs], conn=conn)
            written += recs
        self.pending = []
        return written


class NoOpSink(SinkOperator):
    """``$emit`` to a connection type the emulator cannot reach: counted, not stored."""

    name = "NoOpSinkOperator"


class DeadLetterQueue:
    """Writes dead letters to ``options.dlq``; without one they are dropped (still counted)."""

    def __init__(self, store: Any, processor_name: str, group_id: str, target: tuple[str, str, str] | None):
        self.store, self.processor_name, self.group_id, self.target = store, processor_name, group_id, target

    def document(self, letter: DeadLetter, ctx: Ctx) -> dict:
        doc = letter.doc
        meta = doc.get("_stream_meta") if isinstance(doc, dict) and isinstance(doc.get("_stream_meta"), dict) else {}
        return {"processorName": self.processor_name, "dlqTime": ctx.now, "operatorName": letter.operator.name,
                "errInfo": {"reason": letter.reason}, "doc": doc, "_stream_meta": meta}

    def write(self, conn: sqlite3.Connection, ctx: Ctx) -> tuple[int, int]:
        """Write ``ctx.dead``; returns (count, bytes) and charges each operator."""
        docs = []
        total = 0
        for letter in ctx.dead:
            doc = self.document(letter, ctx)
            size = extjson.json_size(doc)
            letter.operator.stats.add("dlq", 1, size)
            total += size
            docs.append(doc)
        if docs and self.target is not None:
            self.store.insert(self.group_id, *self.target, docs, conn=conn)
        ctx.dead = []
        return len(docs), total
