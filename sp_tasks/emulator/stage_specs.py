"""The fields each ASP stage accepts, as the emulator's parser checks them (reference §8.3–§8.7).

Atlas parses a pipeline with MongoDB's IDL parser: an unknown field is "BSON field 'X.y' is an
unknown field.", a missing one "BSON field 'X.y' is missing but a required field", a bad enum
"Enumeration value 'v' for field 'X.y' is not a valid value." (the IDLUnknownField/
IDLFailedToParse/BadValue texts quoted in reference §7.2). ``stage_problem`` returns the first
such text for one stage, or None. Stages evaluated by the aggregation library (``$match``,
``$project``…) are only checked for shape here: their expressions are MongoDB's business.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sp_tasks.emulator.vocabulary import DURATION_UNITS

WINDOW_KINDS = ("$tumblingWindow", "$hoppingWindow", "$sessionWindow")


@dataclass(frozen=True)
class Spec:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    enums: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    durations: tuple[str, ...] = ()  # {size, unit} fields (0 also allowed where noted in §8.4)
    objects: dict[str, "Spec"] = field(default_factory=dict)  # nested documents checked the same way
    kinds: dict[str, str] = field(default_factory=dict)  # field -> "count" (an int >= 1) | "object"


_SOURCE_COMMON = ("connectionName", "timeField", "tsFieldName", "config")
_FROM = Spec(required=("connectionName", "db", "coll"))
_PARALLEL = {"parallelism": "count"}
_TIME = {"timeField": "object"}  # an expression ({$toDate: …}, {$dateFromString: …}), never a field name
_WINDOW_COMMON = ("boundary", "offset", "idleTimeout", "allowedLateness")
_BOUNDARY = {"boundary": ("eventTime", "processingTime")}

# $source by the type of its connection (§8.3); "documents" is the connection-less variant.
SOURCES: dict[str, Spec] = {
    "Kafka": Spec(("connectionName", "topic"), (*_SOURCE_COMMON, "partitionIdleTimeout", "schemaRegistry"),
                  durations=("partitionIdleTimeout",), kinds=_TIME),
    "Cluster": Spec(("connectionName",), (*_SOURCE_COMMON, "db", "coll", "initialSync", "readPreference",
                                          "readPreferenceTags"), kinds=_TIME,
                    objects={"initialSync": Spec((), ("enable", "parallelism"), kinds=_PARALLEL)}),
    "AWSKinesisDataStreams": Spec(("connectionName", "stream"), (*_SOURCE_COMMON, "region", "shardIdleTimeout"),
                                  durations=("shardIdleTimeout",), kinds=_TIME),
    "Sample": Spec(("connectionName",), _SOURCE_COMMON, kinds=_TIME),
    "documents": Spec(("documents",), ("timeField", "tsFieldName"), kinds=_TIME),
}
# $emit by the type of its connection (§8.5).
EMITS: dict[str, Spec] = {
    "Kafka": Spec(("connectionName", "topic"), ("config", "parallelism", "partitionBy", "schemaRegistry"),
                  kinds=_PARALLEL),
    "Cluster": Spec(("connectionName", "db", "coll", "timeseries"), ("parallelism",), kinds=_PARALLEL),
    "AWSKinesisDataStreams": Spec(("connectionName", "stream"), ("region", "partitionKey", "config", "parallelism"),
                                  kinds=_PARALLEL),
    "S3": Spec(("connectionName", "bucket"), ("region", "path", "config", "parallelism"), kinds=_PARALLEL),
    "TestLog": Spec(("connectionName",), ()),
}
STAGES: dict[str, Spec] = {
    "$merge": Spec(("into",), ("on", "let", "whenMatched", "whenNotMatched", "parallelism"),
                   objects={"into": Spec(("connectionName", "db", "coll"))}, kinds=_PARALLEL),
    "$tumblingWindow": Spec(("interval", "pipeline"), _WINDOW_COMMON, _BOUNDARY, ("interval",)),
    "$hoppingWindow": Spec(("interval", "hopSize", "pipeline"), _WINDOW_COMMON, _BOUNDARY, ("interval", "hopSize")),
    "$sessionWindow": Spec(("partitionBy", "gap", "pipeline"), ("boundary", "allowedLateness"), _BOUNDARY, ("gap",)),
    "$lookup": Spec(("from", "as"), ("localField", "foreignField", "let", "pipeline", "parallelism"),
                    objects={"from": _FROM}, kinds=_PARALLEL),
    "$cachedLookup": Spec(("ttl", "maxMemUsageBytes", "from", "as"), ("localField", "foreignField"),
                          durations=("ttl",), objects={"from": _FROM}),
    "$https": Spec(("connectionName", "as"), ("path", "method", "parameters", "headers", "onError", "payload",
                                              "config"),
                   {"method": ("GET", "POST", "PUT", "PATCH", "DELETE"), "onError": ("dlq", "ignore", "fail")}),
    "$externalFunction": Spec(("connectionName", "functionName"), ("execution", "as", "onError", "payload",
                                                                    "parallelism", "partitionBy"),
                              {"execution": ("sync", "async"), "onError": ("dlq", "ignore", "fail")},
                              kinds=_PARALLEL),
    "$validate": Spec(("validator",), ("validationAction",), {"validationAction": ("discard", "dlq")}),
}


def stage_problem(op: str, body: Any, spec: Spec | None = None) -> str | None:
    spec = spec or STAGES.get(op)
    if spec is None:
        return None
    if not isinstance(body, dict):
        return f"BSON field '{op}' is the wrong type '{_type(body)}', expected type 'object'"
    for name in body:
        if name not in spec.required and name not in spec.optional:
            return f"BSON field '{op}.{name}' is an unknown field."
    for name in spec.required:
        if name not in body:
            return f"BSON field '{op}.{name}' is missing but a required field"
    for name, allowed in spec.enums.items():
        if name in body and body[name] not in allowed:
            return f"Enumeration value '{body[name]}' for field '{op}.{name}' is not a valid value."
    for name in spec.durations:
        if name in body and (problem := duration_problem(body[name], f"{op}.{name}")):
            return problem
    for name, kind in spec.kinds.items():
        if name in body and (problem := _kind_problem(body[name], kind, f"{op}.{name}")):
            return problem
    for name, inner in spec.objects.items():
        if name in body and (problem := stage_problem(f"{op}.{name}", body[name], inner)):
            return problem
    return None


def _kind_problem(value: Any, kind: str, where: str) -> str | None:
    if kind == "object" and not isinstance(value, dict):
        return f"BSON field '{where}' is the wrong type '{_type(value)}', expected type 'object'"
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"BSON field '{where}' is the wrong type '{_type(value)}', expected type 'int'"
        if value < 1:
            return f"BSON field '{where}' must be at least 1, got {value}"
    return None


def duration_problem(value: Any, where: str) -> str | None:
    if not isinstance(value, dict) or set(value) != {"size", "unit"}:
        return f"BSON field '{where}' must be a duration {{size, unit}}"
    size = value["size"]
    if isinstance(size, bool) or not isinstance(size, (int, float)) or size <= 0:
        return f"BSON field '{where}.size' must be a positive number"
    if value["unit"] not in DURATION_UNITS:
        return f"Enumeration value '{value['unit']}' for field '{where}.unit' is not a valid value."
    return None


def window_problem(op: str, body: dict[str, Any]) -> str | None:
    """Window rules beyond the fields (§8.4): no lateness/idle timeout with processing time."""
    if body.get("boundary") == "processingTime":
        for name in ("idleTimeout", "allowedLateness"):
            if body.get(name) not in (None, 0):
                return f"{op}.{name} is not allowed with boundary processingTime"
    for name in ("idleTimeout", "allowedLateness"):
        if body.get(name) not in (None, 0) and (problem := duration_problem(body[name], f"{op}.{name}")):
            return problem
    if not isinstance(body.get("pipeline"), list):
        return f"BSON field '{op}.pipeline' is the wrong type '{_type(body.get('pipeline'))}', expected type 'array'"
    return None


def _type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "bool", type(None): "null"}.get(
        type(value), "double" if isinstance(value, float) else "int")
