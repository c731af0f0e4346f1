"""``$source`` operators: sample_stream_solar, ``documents``, Atlas change streams, Kafka topics.

Each source hands the engine what is due since the last tick, stamps event time (``timeField``,
else the source's own time) into ``_ts`` and adds ``_stream_meta.source``, and keeps a position
the checkpoint stores (sequence number, list index, change sequence, topic offsets). Change
streams and topics read what other processors wrote through the ``DocumentStore``.
"""
from __future__ import annotations

from typing import Any, Callable

from sp_tasks.emulator.engine import adapter, extjson
from sp_tasks.emulator.engine.batch import Ctx, Operator, Rec, describe

MAX_BEHIND_S = 1.0
SOLAR_DEVICES = 20  # [UNCONFIRMED] device/group counts of the real generator are not documented


def solar_doc(n: int, when_ms: int) -> dict[str, Any]:
    """Document ``n`` of sample_stream_solar: content a pure function of ``n``, shape of §8.8."""
    device = n % SOLAR_DEVICES
    group = device % 10
    noise = (n * 2654435761) & 0xFFFFFFFF
    max_watts = 450 if group % 2 == 0 else 250
    when = extjson.from_ms(when_ms)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+00:00"
    return {"device_id": f"device_{device}", "group_id": group, "timestamp": stamp, "max_watts": max_watts,
            "event_type": 1 if (noise >> 20) % 20 == 0 else 0,
            "obs": {"watts": noise % (max_watts + 1), "temp": 5 + (noise >> 10) % 30}}


class SourceOperator(Operator):
    """Shared part: fetch → event time → ``_ts``/``_stream_meta`` → records."""

    kind = "generated"

    def __init__(self, spec: dict[str, Any]):
        super().__init__()
        self.time_field: Callable[[dict], Any] | None = (
            adapter.compile_expression(spec["timeField"]) if spec.get("timeField") is not None else None)
        self.ts_field = spec.get("tsFieldName") or "_ts"
        self.exhausted = False
        self.position: Any = None  # where to continue; the checkpoint stores it as is

    def snapshot(self) -> Any:
        return {"position": self.position}

    def restore(self, state: Any) -> None:
        self.position = state.get("position")

    def fetch(self, ctx: Ctx, limit: int) -> list[tuple[dict, int, dict]]:
        """(document, default event time in ms, ``_stream_meta.source``) for what is due."""
        return []

    def pull(self, ctx: Ctx, limit: int) -> list[Rec]:
        recs = []
        fetched = self.fetch(ctx, limit)
        for doc, default_ms, meta in fetched:
            event_ms = default_ms
            if self.time_field is not None:
                try:
                    event_ms = self._event_ms(self.time_field(doc))
                except Exception as err:
                    ctx.dead_letter(self, describe(err), doc)
                    continue
            doc[self.ts_field] = extjson.from_ms(event_ms)
            doc["_stream_meta"] = {"source": meta}
            recs.append(Rec(doc, event_ms, ctx.wall))
        self.stats.add("input", len(fetched), sum(r.size for r in recs))
        return recs

    @staticmethod
    def _event_ms(value: Any) -> int:
        if hasattr(value, "year"):
            return extjson.to_ms(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
        raise TypeError(f"timeField must evaluate to a date, got {type(value).__name__}")

    def extra_stats(self) -> dict[str, Any]:
        return {}


class SampleSource(SourceOperator):
    """sample_stream_solar at ``rate`` documents per second, event time = generation time.

    The schedule is ``(t0, s0)``: at wall time t0, s0 documents existed; document ``s`` is due at
    ``t0 + (s - s0 + 1) / rate``. Rate changes and restarts re-anchor it at the last poll, so the
    stream has no gap; a schedule more than ``MAX_BEHIND_S`` behind (the processor was stopped, or
    cannot keep up) restarts at now instead of bursting out the backlog.
    """

    name = "SampleDataSourceOperator"

    def __init__(self, spec: dict[str, Any], rate: float):
        super().__init__(spec)
        self.rate = rate
        self.position = 0  # sequence number of the next document
        self._base: tuple[float, int] | None = None
        self._last: float | None = None  # wall time of the last poll

    def set_rate(self, rate: float) -> None:
        self._base = None if self._last is None else (self._last, self.position)
        self.rate = rate

    def fetch(self, ctx: Ctx, limit: int) -> list[tuple[dict, int, dict]]:
        if self._base is None or self.rate <= 0:
            self._base = (ctx.wall, self.position)
        self._last = ctx.wall
        if self.rate <= 0:
            return []
        t0, s0 = self._base
        if ctx.wall - (t0 + (self.position - s0) / self.rate) > MAX_BEHIND_S:  # stopped or overloaded
            t0, s0 = self._base = (ctx.wall, self.position)
        due = s0 + int((ctx.wall - t0) * self.rate + 1e-3)  # float clocks: never lose one
        out = []
        for seq in range(self.position, min(due, self.position + limit)):
            when_ms = int((t0 + (seq - s0 + 1) / self.rate) * 1000)
            out.append((solar_doc(seq, when_ms), when_ms, {"type": "generated"}))
        self.position += len(out)
        return out

    def snapshot(self) -> Any:
        return {"position": self.position, "last": self._last}

    def restore(self, state: Any) -> None:
        self.position = int(state.get("position") or 0)
        self._last = state.get("last")
        if self._last is not None:
            self._base = (float(self._last), self.position)


class DocumentsSource(SourceOperator):
    """``$source.documents``: a finite list, ingestion time as event time unless ``timeField``."""

    name = "DocumentsSourceOperator"

    def __init__(self, spec: dict[str, Any]):
        super().__init__(spec)
        self.documents = [d for d in extjson.decode(spec.get("documents") or []) if isinstance(d, dict)]
        self.position = 0  # index of the next document

    def fetch(self, ctx: Ctx, limit: int) -> list[tuple[dict, int, dict]]:
        chunk = self.documents[self.position:self.position + limit]
        self.position += len(chunk)
        self.exhausted = self.position >= len(self.documents)
        now_ms = int(ctx.wall * 1000)
        return [(adapter.copy_doc(d), now_ms, {"type": "generated"}) for d in chunk]


class ChangeStreamSource(SourceOperator):
    """Atlas change stream over what processors wrote to the same cluster (``clusterName``)."""

    name = "ChangeStreamConsumerOperator"
    kind = "atlas"

    def __init__(self, spec: dict[str, Any], store: Any, group_id: str, cluster: str):
        super().__init__(spec)
        self.store, self.group_id, self.cluster = store, group_id, cluster
        self.db = spec.get("db")
        coll = spec.get("coll")
        self.colls = [coll] if isinstance(coll, str) else list(coll or [])
        config = spec.get("config") or {}
        self.full_document = config.get("fullDocument", "default")
        self.only_full = bool(config.get("fullDocumentOnly"))
        self.stages = list(config.get("pipeline") or [])
        start_at = config.get("startAtOperationTime")
        self._start_at = extjson.to_ms(extjson.decode(start_at)) if isinstance(start_at, dict) else (
            extjson.to_ms(extjson.parse_iso(start_at)) if isinstance(start_at, str) else None)

    def fetch(self, ctx: Ctx, limit: int) -> list[tuple[dict, int, dict]]:
        if self.position is None:
            self.position = self.store.change_position(self.group_id, self.cluster, self._start_at)
        changes = self.store.changes(self.group_id, self.cluster, self.db, self.colls, self.position, limit)
        out = []
        for change in changes:
            self.position = change["seq"]
            event = self._event(change)
            if event is not None and all(adapter.matches(s["$match"], event) for s in self.stages if "$match" in s):
                out.append((event, int(change["wall"] * 1000), {"type": self.kind}))
        return out

    def _event(self, change: dict[str, Any]) -> dict | None:
        doc, op = change["doc"], change["op"]
        with_full = op in ("insert", "replace") or (
            op == "update" and self.full_document in ("updateLookup", "required", "whenAvailable"))
        if self.only_full:
            return doc if with_full else None
        event = {"_id": {"_data": f"{change['seq']:016X}"}, "operationType": op,
                 "wallTime": extjson.from_ms(int(change["wall"] * 1000))}
        if with_full:
            event["fullDocument"] = doc
        event["ns"] = {"db": change["db"], "coll": change["coll"]}
        event["documentKey"] = {"_id": doc.get("_id")}
        if op == "update":
            event["updateDescription"] = {"updatedFields": change.get("updated") or {}, "removedFields": []}
        return event

    def extra_stats(self) -> dict[str, Any]:
        return {"changeStreamState": {"_data": f"{self.position or 0:016X}"}}


class KafkaSource(SourceOperator):
    """Kafka topic(s) fed by other processors' ``$emit`` to the same ``bootstrapServers``."""

    name = "KafkaConsumerOperator"
    kind = "kafka"

    def __init__(self, spec: dict[str, Any], store: Any, group_id: str, servers: str):
        super().__init__(spec)
        self.store, self.group_id, self.servers = store, group_id, servers
        topic = spec.get("topic")
        self.topics = [topic] if isinstance(topic, str) else list(topic or [])
        config = spec.get("config") or {}
        self.earliest = str(config.get("auto_offset_reset", config.get("auto.offset.reset", "latest"))) == "earliest"
        self.position: dict[str, int] = {}  # topic -> next offset
        self.committed: dict[str, int] = {}
        self.idle: dict[str, bool] = {}

    def fetch(self, ctx: Ctx, limit: int) -> list[tuple[dict, int, dict]]:
        out: list[tuple[dict, int, dict]] = []
        for topic in self.topics:
            if topic not in self.position:
                self.position[topic] = 0 if self.earliest else self.store.topic_end(self.group_id, self.servers, topic)
            messages = self.store.read_topic(self.group_id, self.servers, topic, self.position[topic], limit - len(out))
            self.idle[topic] = not messages
            for msg in messages:
                self.position[topic] = msg["offset"] + 1
                value = msg["value"] if isinstance(msg["value"], dict) else {"value": msg["value"]}
                meta = {"type": self.kind, "topic": topic, "partition": 0, "offset": msg["offset"]}
                if msg.get("key") is not None:
                    meta["key"] = msg["key"]
                out.append((value, extjson.to_ms(msg["timestamp"]), meta))
        return out

    def snapshot(self) -> Any:
        self.committed = dict(self.position)
        return super().snapshot()

    def restore(self, state: Any) -> None:
        self.position = {k: int(v) for k, v in (state.get("position") or {}).items()}
        self.committed = dict(self.position)

    def extra_stats(self) -> dict[str, Any]:
        return {"kafkaPartitions": [
            {"topic": t, "partition": 0, "currentOffset": self.position.get(t, 0),
             "checkpointOffset": self.committed.get(t, 0), "isIdle": self.idle.get(t, True)}
            for t in self.topics]}
