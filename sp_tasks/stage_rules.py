"""Field rules of single ASP stages (reference §8.3–§8.5): required fields, known fields, value
shapes, and which connection types each stage may name.

Pure. :mod:`sp_tasks.pipeline_rules` walks the pipeline (order, nesting, placement) and calls
:func:`check_stage` on every stage body; each check reports through the field checks of a
:class:`~sp_tasks.stage_findings.Findings`. ASP's stage parser rejects unknown fields
(``IDLUnknownField``), so an unknown field inside an ASP-specific stage is an error here too,
with a spelling suggestion.
"""
from __future__ import annotations

from typing import Any, Callable

from sp_tasks.jsonpos import join
from sp_tasks.stage_findings import Findings

KINESIS = "AWSKinesisDataStreams"
SOURCE_TYPES = ("Kafka", "Cluster", "Sample", KINESIS)
EMIT_TYPES = ("Kafka", "Cluster", KINESIS, "S3", "TestLog")
_COMMON_SOURCE = {"connectionName", "timeField", "tsFieldName"}
SOURCE_FIELDS = {
    "Kafka": _COMMON_SOURCE | {"topic", "partitionIdleTimeout", "schemaRegistry", "config"},
    "Cluster": _COMMON_SOURCE | {"db", "coll", "initialSync", "readPreference", "readPreferenceTags", "config"},
    KINESIS: _COMMON_SOURCE | {"stream", "region", "shardIdleTimeout", "config"},
    "Sample": _COMMON_SOURCE,
}
EMIT_REQUIRED = {"Kafka": ("topic",), "Cluster": ("db", "coll", "timeseries"), KINESIS: ("stream",), "S3": ("bucket",)}
EMIT_FIELDS = {"connectionName", "topic", "config", "parallelism", "partitionBy", "schemaRegistry", "db", "coll",
               "timeseries", "stream", "region", "partitionKey", "bucket", "path"}
WINDOW_FIELDS = {
    "$tumblingWindow": ({"interval", "pipeline"}, {"boundary", "offset", "idleTimeout", "allowedLateness"}),
    "$hoppingWindow": ({"interval", "hopSize", "pipeline"}, {"boundary", "offset", "idleTimeout", "allowedLateness"}),
    "$sessionWindow": ({"partitionBy", "gap", "pipeline"}, {"boundary", "allowedLateness"}),
}
ON_ERROR = ("dlq", "ignore", "fail")


def check_stage(f: Findings, op: str, body: Any, pointer: str, *, last: bool) -> None:
    """Check the fields of one stage ``{op: body}``; ``pointer`` points at ``body``."""
    check = _CHECKS.get(op)
    if check is None:
        return
    if op in _BODY_ANY or f.object(body, pointer, op):
        check(f, body, pointer, last) if op == "$externalFunction" else check(f, body, pointer)


def _source(f: Findings, body: dict, at: str) -> None:
    if "documents" in body:
        if "connectionName" in body:
            f.add(join(at, "documents"), "source-variant", "$source takes either connectionName or documents, not both")
        elif not isinstance(body["documents"], list) or not all(isinstance(d, dict) for d in body["documents"]):
            f.add(join(at, "documents"), "field-type", "$source.documents must be an array of documents")
        f.known(body, {"documents", "timeField", "tsFieldName"}, at, "$source")
    elif f.require(body, ["connectionName"], at, "$source"):
        kind = f.connection(body, at, "$source", SOURCE_TYPES)
        f.known(body, SOURCE_FIELDS.get(kind) or set().union(*SOURCE_FIELDS.values()), at, "$source")
        _source_variant(f, kind, body, at)
    if "timeField" in body and not isinstance(body["timeField"], dict):
        f.add(join(at, "timeField"), "field-type", "$source.timeField must be an expression such as "
                                                   "{\"$dateFromString\": {\"dateString\": \"$timestamp\"}}")
    for name in ("partitionIdleTimeout", "shardIdleTimeout"):
        f.duration(body, name, at, "$source")


def _source_variant(f: Findings, kind: str | None, body: dict, at: str) -> None:
    if kind == "Kafka" and f.require(body, ["topic"], at, "$source from Kafka"):
        topic = body["topic"]
        if not (isinstance(topic, str) or (isinstance(topic, list) and topic and all(isinstance(t, str) for t in topic))):
            f.add(join(at, "topic"), "field-type", "$source.topic must be a topic name or a list of names")
    if kind == KINESIS:
        f.require(body, ["stream"], at, "$source from Kinesis")
    if kind == "Cluster" and "coll" in body and "db" not in body:
        f.add(join(at, "coll"), "required-field", "$source.coll needs \"db\" too; add the database name")
    if isinstance(body.get("schemaRegistry"), dict):
        f.connection(body["schemaRegistry"], join(at, "schemaRegistry"), "$source.schemaRegistry", ("SchemaRegistry",))


def _merge(f: Findings, body: dict, at: str) -> None:
    if "topic" in body:
        f.add(join(at, "topic"), "merge-topic", "$merge cannot write to a topic; use $emit for Kafka")
    f.known({k: v for k, v in body.items() if k != "topic"},
            {"into", "on", "let", "whenMatched", "whenNotMatched", "parallelism"}, at, "$merge")
    if f.require(body, ["into"], at, "$merge") and f.object(body["into"], join(at, "into"), "$merge.into"):
        into = join(at, "into")
        f.require(body["into"], ["connectionName", "db", "coll"], into, "$merge.into")
        f.known(body["into"], {"connectionName", "db", "coll"}, into, "$merge.into")
        f.connection(body["into"], into, "$merge.into", ("Cluster",))
    f.one_of(body, "whenNotMatched", ("insert", "discard", "fail"), at, "$merge")
    if not isinstance(body.get("whenMatched", []), list):
        f.one_of(body, "whenMatched", ("replace", "keepExisting", "merge", "fail", "delete"), at, "$merge")


def _emit(f: Findings, body: dict, at: str) -> None:
    f.known(body, EMIT_FIELDS, at, "$emit")
    if not f.require(body, ["connectionName"], at, "$emit"):
        return
    kind = f.connection(body, at, "$emit", EMIT_TYPES)
    f.require(body, EMIT_REQUIRED.get(kind, ()), at, f"$emit to {kind}")
    if kind == "Cluster" and isinstance(body.get("timeseries"), dict):
        f.require(body["timeseries"], ["timeField"], join(at, "timeseries"), "$emit.timeseries")
    registry = body.get("schemaRegistry")
    if registry is not None and f.object(registry, join(at, "schemaRegistry"), "$emit.schemaRegistry"):
        reg_at = join(at, "schemaRegistry")
        if f.require(registry, ["connectionName", "valueSchema"], reg_at, "$emit.schemaRegistry"):
            f.connection(registry, reg_at, "$emit.schemaRegistry", ("SchemaRegistry",))
            if isinstance(registry["valueSchema"], dict):
                f.one_of(registry["valueSchema"], "type", ("avro",), join(reg_at, "valueSchema"), "valueSchema")


def _window(op: str) -> Callable[[Findings, dict, str], None]:
    required, optional = WINDOW_FIELDS[op]

    def check(f: Findings, body: dict, at: str) -> None:
        f.known(body, required | optional, at, op)
        f.require(body, sorted(required), at, op)
        for name in ("interval", "hopSize", "gap"):
            f.duration(body, name, at, op)
        for name in ("idleTimeout", "allowedLateness"):
            f.duration(body, name, at, op, zero_ok=True)
        f.one_of(body, "boundary", ("eventTime", "processingTime"), at, op)
        if body.get("boundary") == "processingTime":
            for name in ("idleTimeout", "allowedLateness"):
                if name in body:
                    f.add(join(at, name), "window-boundary", f"{op}.{name} is not allowed with boundary processingTime")
        if "pipeline" in body and not isinstance(body["pipeline"], list):
            f.add(join(at, "pipeline"), "field-type", f"{op}.pipeline must be an array of stages")
    return check


def _lookup(f: Findings, body: dict, at: str) -> None:
    f.known(body, {"from", "localField", "foreignField", "as", "let", "pipeline", "parallelism"}, at, "$lookup")
    _from(f, body, at, "$lookup")
    if ("localField" in body) != ("foreignField" in body):
        f.add(at, "required-field", "$lookup needs localField and foreignField together")


def _cached_lookup(f: Findings, body: dict, at: str) -> None:
    f.known(body, {"ttl", "maxMemUsageBytes", "from", "localField", "foreignField", "as"}, at, "$cachedLookup")
    f.require(body, ["ttl", "maxMemUsageBytes"], at, "$cachedLookup")
    f.duration(body, "ttl", at, "$cachedLookup")
    if "maxMemUsageBytes" in body and not (_int(body["maxMemUsageBytes"]) and body["maxMemUsageBytes"] > 0):
        f.add(join(at, "maxMemUsageBytes"), "field-type", "$cachedLookup.maxMemUsageBytes must be a positive integer")
    _from(f, body, at, "$cachedLookup")


def _from(f: Findings, body: dict, at: str, op: str) -> None:
    if not f.require(body, ["from", "as"], at, op):
        return
    if not isinstance(body["from"], dict):
        f.add(join(at, "from"), "field-type", f"{op}.from must be {{\"connectionName\": ..., \"db\": ..., \"coll\": ...}}: "
                                                   "stream processing looks up through a connection")
        return
    f.require(body["from"], ["connectionName", "db", "coll"], join(at, "from"), f"{op}.from")
    f.known(body["from"], {"connectionName", "db", "coll"}, join(at, "from"), f"{op}.from")
    f.connection(body["from"], join(at, "from"), f"{op}.from", ("Cluster",))


def _https(f: Findings, body: dict, at: str) -> None:
    f.known(body, {"connectionName", "path", "method", "parameters", "headers", "as", "onError", "payload", "config"},
            at, "$https")
    f.require(body, ["connectionName", "as"], at, "$https")
    f.connection(body, at, "$https", ("Https",))
    f.one_of(body, "method", ("GET", "POST", "PUT", "PATCH", "DELETE"), at, "$https")
    f.one_of(body, "onError", ON_ERROR, at, "$https")
    _payload(f, body, at, "$https")


def _external_function(f: Findings, body: dict, at: str, last: bool) -> None:
    allowed = {"connectionName", "functionName", "execution", "as", "onError", "payload", "parallelism", "partitionBy"}
    f.known(body, allowed, at, "$externalFunction")
    # "as" may be omitted only when the stage is the pipeline's terminal sink (§8.1).
    f.require(body, ["connectionName", "functionName"] + ([] if last else ["as"]), at, "$externalFunction")
    f.connection(body, at, "$externalFunction", ("AWSLambda",))
    f.one_of(body, "execution", ("sync", "async"), at, "$externalFunction")
    f.one_of(body, "onError", ON_ERROR, at, "$externalFunction")
    _payload(f, body, at, "$externalFunction")


def _payload(f: Findings, body: dict, at: str, op: str) -> None:
    if "payload" in body and not isinstance(body["payload"], list):
        f.add(join(at, "payload"), "field-type", f"{op}.payload must be an array of stages")


def _validate(f: Findings, body: dict, at: str) -> None:
    f.known(body, {"validator", "validationAction"}, at, "$validate")
    if f.require(body, ["validator"], at, "$validate"):
        f.object(body["validator"], join(at, "validator"), "$validate.validator")
    f.one_of(body, "validationAction", ("discard", "dlq"), at, "$validate")


def _group(f: Findings, body: dict, at: str) -> None:
    if "_id" not in body:
        f.add(at, "required-field", "$group needs \"_id\" (use null to group everything)")


def _limit(f: Findings, body: Any, at: str) -> None:
    if not (_int(body) and body > 0):
        f.add(at, "field-type", "$limit must be a positive integer")


def _count(f: Findings, body: Any, at: str) -> None:
    if not (isinstance(body, str) and body and not body.startswith("$") and "." not in body):
        f.add(at, "field-type", "$count must be a non-empty field name without '$' or '.'")


def _sort(f: Findings, body: dict, at: str) -> None:
    if not body:
        f.add(at, "field-type", "$sort needs at least one field")
    for key, value in body.items():
        if value not in (1, -1) and not isinstance(value, dict):
            f.add(join(at, key), "invalid-value", f"$sort.{key} must be 1 or -1")


_CHECKS: dict[str, Callable] = {
    "$source": _source, "$merge": _merge, "$emit": _emit, "$lookup": _lookup, "$cachedLookup": _cached_lookup,
    "$https": _https, "$externalFunction": _external_function, "$validate": _validate, "$group": _group,
    "$limit": _limit, "$count": _count, "$sort": _sort, "$match": lambda f, b, a: None,
    **{op: _window(op) for op in WINDOW_FIELDS},
}
_BODY_ANY = ("$limit", "$count")  # these take a scalar, not an object


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

