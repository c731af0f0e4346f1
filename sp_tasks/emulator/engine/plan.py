"""Turns a stored pipeline into operators: one source, the stages, one sink, and the DLQ.

Connections are resolved here, against the connections the workspace has when the processor
starts. A referenced connection that does not exist, one of a type the stage cannot use, or a
stage the emulator cannot run raises ``SpTasksError`` with the message ASP would give (the
runtime reports it through ``on_failure`` and the processor fails). Built-ins need no
connection: ``sample_stream_solar`` (source), ``__testLog`` and ``__noopSink`` (sinks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sp_tasks.emulator.engine import extjson
from sp_tasks.emulator.engine.batch import Operator
from sp_tasks.emulator.engine.sinks import (ClusterEmit, DeadLetterQueue, KafkaEmit, MergeSink, NoOpSink,
                                            SinkOperator, TestLogSink)
from sp_tasks.emulator.engine.sources import (ChangeStreamSource, DocumentsSource, KafkaSource, SampleSource,
                                              SourceOperator)
from sp_tasks.emulator.engine.stages import (LIBRARY_STAGES, WHOLE_BATCH, LibraryStage, LookupStage,
                                             UnreachableStage, ValidateStage, set_stream_meta)
from sp_tasks.emulator.engine.windows import KINDS as WINDOW_KINDS, WindowOperator
from sp_tasks.errors import SpTasksError

SAMPLE_SOURCE = "sample_stream_solar"
TEST_LOG = "__testLog"
NOOP_SINK = "__noopSink"
HTTP_STAGES = ("$https", "$externalFunction")


@dataclass
class Plan:
    source: SourceOperator
    ops: list[Operator]
    sink: SinkOperator
    dlq: DeadLetterQueue
    window: WindowOperator | None


def operator_name(stage: str) -> str:
    """``$addFields`` → ``AddFieldsOperator`` (engine-like operator names for ``operatorStats``)."""
    return stage[1].upper() + stage[2:] + "Operator"


class Builder:
    def __init__(self, spec: Any, store: Any, sample_rate: float):
        self.spec, self.store, self.sample_rate = spec, store, sample_rate

    def connection(self, name: Any, *types: str) -> dict:
        body = self.spec.connections.get(name) if isinstance(name, str) else None
        if body is None and name == SAMPLE_SOURCE:
            body = {"name": name, "type": "Sample"}
        if body is None:
            raise SpTasksError(f"connection named {name} does not exist. Check sp.listConnections() for available "
                               "connections")
        if types and body.get("type") not in types:
            raise SpTasksError(f"connection {name} is of type {body.get('type')}, this stage needs "
                               f"{' or '.join(types)}")
        return body

    def cluster(self, name: Any) -> str:
        body = self.connection(name, "Cluster")
        return str(body.get("clusterName") or name)

    def servers(self, name: Any) -> str:
        return str(self.connection(name, "Kafka").get("bootstrapServers") or name)

    def build(self) -> Plan:
        pipeline = extjson.decode(list(self.spec.pipeline or []))  # stored as JSON: {"$date": …} literals
        if not pipeline or "$source" not in pipeline[0]:
            raise SpTasksError("the pipeline must start with a $source stage")
        source = self.source(pipeline[0]["$source"] or {})
        body = pipeline[1:]
        sink: SinkOperator = NoOpSink()
        if body and next(iter(body[-1])) in ("$merge", "$emit"):
            sink = self.sink(body[-1])
            body = body[:-1]
        ops = [self.stage(stage, source.kind) for stage in body]
        window = next((op for op in ops if isinstance(op, WindowOperator)), None)
        return Plan(source, ops, sink, self.dead_letter_queue(), window)

    def source(self, spec: dict) -> SourceOperator:
        if "documents" in spec:
            return DocumentsSource(spec)
        body = self.connection(spec.get("connectionName"))
        kind = body.get("type")
        if kind == "Sample":
            return SampleSource(spec, self.sample_rate)
        if kind == "Cluster":
            return ChangeStreamSource(spec, self.store, self.spec.group_id, self.cluster(spec["connectionName"]))
        if kind == "Kafka":
            return KafkaSource(spec, self.store, self.spec.group_id, self.servers(spec["connectionName"]))
        raise SpTasksError(f"the emulator cannot read from a {kind} connection ({spec.get('connectionName')})")

    def stage(self, stage: dict, source_kind: str, *, inner: bool = False) -> Operator:
        if not isinstance(stage, dict) or len(stage) != 1:
            raise SpTasksError(f"a pipeline stage must be a document with one field, got {stage!r}")
        (kind, spec), = stage.items()
        if kind in LIBRARY_STAGES and (inner or kind not in WHOLE_BATCH):
            return LibraryStage(stage, operator_name(kind))
        if kind in WHOLE_BATCH:
            raise SpTasksError(f"{kind} is only allowed inside a window's pipeline")
        if kind == "$validate":
            return ValidateStage(spec or {})
        if kind == "$setStreamMeta" and not inner:
            return LibraryStage(set_stream_meta(spec), "SetStreamMetaOperator")
        if kind in ("$lookup", "$cachedLookup"):
            return self.lookup(kind, spec or {})
        if kind in HTTP_STAGES:
            self.connection(spec.get("connectionName"))
            return UnreachableStage(kind, spec)
        if kind in WINDOW_KINDS and not inner:
            return WindowOperator(kind, spec or {}, lambda s: self.stage(s, source_kind, inner=True), source_kind)
        raise SpTasksError(f"{kind} is not supported by the local emulator" + (" inside a window" if inner else ""))

    def lookup(self, kind: str, spec: dict) -> Operator:
        source = spec.get("from")
        if not isinstance(source, dict):
            raise SpTasksError(f"{kind}.from must be {{connectionName, db, coll}}")
        cluster = self.cluster(source.get("connectionName"))
        db, coll, group_id = source.get("db"), source.get("coll"), self.spec.group_id
        return LookupStage(spec, lambda: self.store.find(group_id, cluster, db, coll), operator_name(kind))

    def sink(self, stage: dict) -> SinkOperator:
        (kind, spec), = stage.items()
        spec = spec or {}
        if kind == "$merge":
            into = spec.get("into") or {}
            return MergeSink(spec, self.store, self.spec.group_id, self.cluster(into.get("connectionName")))
        name = spec.get("connectionName")
        if name == TEST_LOG:
            return TestLogSink(self.store, self.spec.processor_id)
        if name == NOOP_SINK:
            return NoOpSink()
        body = self.connection(name)
        if body.get("type") == "Kafka":
            return KafkaEmit(spec, self.store, self.spec.group_id, self.servers(name))
        if body.get("type") == "Cluster":
            return ClusterEmit(spec, self.store, self.spec.group_id, self.cluster(name))
        return NoOpSink()

    def dead_letter_queue(self) -> DeadLetterQueue:
        dlq = (self.spec.options or {}).get("dlq") or {}
        target = None
        if dlq.get("connectionName"):
            target = (self.cluster(dlq["connectionName"]), str(dlq.get("db", "")), str(dlq.get("coll", "")))
        return DeadLetterQueue(self.store, self.spec.name, self.spec.group_id, target)


def build_plan(spec: Any, store: Any, sample_rate: float) -> Plan:
    try:
        return Builder(spec, store, sample_rate).build()
    except SpTasksError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise SpTasksError(f"invalid pipeline for the emulator: {err}") from err
