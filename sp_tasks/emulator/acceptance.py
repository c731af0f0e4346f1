"""What the emulator accepts as a processor definition, and as a modify that keeps the checkpoint.

The emulator's own reading of reference §8 (and §5.2 for modify), kept apart from the product's
``invoke validate`` on purpose: a test double that imported the product's rules would agree with
it by construction (``tests/emulator/test_validation_agreement.py`` compares the two).
``definition_problem`` returns the first problem as the text Atlas puts after "had a problem
occur: ", or None. Order checked: pipeline shape, stage placement (§8.1–§8.2), stage fields
(``stage_specs``), connections and their types, unsupported variables, DLQ (§8.7),
parallelism against the tier (§8.6).
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterator, Mapping

from sp_tasks.atlas import unconfirmed
from sp_tasks.emulator import stage_specs
from sp_tasks.emulator.stage_specs import WINDOW_KINDS
from sp_tasks.emulator.vocabulary import MAX_PARALLELISM, NOOP_SINK, SAMPLE_SOURCES, TEST_LOG, TIERS

SINKS = ("$merge", "$emit")
MAIN, WINDOW, PAYLOAD = "main", "window", "payload"
_ANYWHERE = (MAIN, WINDOW, PAYLOAD)
PLACES: dict[str, tuple[str, ...]] = {  # §8.2 placement matrix
    **dict.fromkeys(("$addFields", "$set", "$project", "$replaceRoot"), _ANYWHERE),
    **dict.fromkeys(("$match", "$redact", "$replaceWith", "$unset", "$unwind", "$validate", "$https",
                     "$externalFunction", "$lookup", "$throttle", "$vectorSearch"), (MAIN, WINDOW)),
    **dict.fromkeys(("$source", "$cachedLookup", "$setStreamMeta", *SINKS, *WINDOW_KINDS), (MAIN,)),
    **dict.fromkeys(("$group", "$sort", "$count", "$limit"), (WINDOW,)),
}
SOURCE_TYPES = ("Kafka", "Cluster", "AWSKinesisDataStreams", "Sample")
USES = {"$merge": ("Cluster",), "$lookup": ("Cluster",), "$cachedLookup": ("Cluster",), "$https": ("Https",),
        "$externalFunction": ("AWSLambda",)}
_VARIABLES = re.compile(r"\$\$(NOW|CLUSTER_TIME|USER_ROLES)\b|\$SEARCH_META\b")
PARALLEL_STAGES = ("$lookup", "$merge", "$emit", "$externalFunction")


def definition_problem(pipeline: Any, options: Any, *, connection_types: Mapping[str, str],
                       tier: str | None) -> str | None:
    types = {**{s: "Sample" for s in SAMPLE_SOURCES}, TEST_LOG: "TestLog", NOOP_SINK: "TestLog",
             **connection_types}
    for check in (_shape(pipeline), _stages(pipeline, MAIN), _connections(pipeline, types),
                  _variables(pipeline), _dlq(options, types), _parallelism(pipeline, tier)):
        problem = next(check, None)
        if problem:
            return problem
    return None


def referenced_connections(pipeline: Any, options: Any) -> frozenset[str]:
    """Every connectionName in a definition (the planner has its own walk: no shared code, on purpose)."""
    return frozenset(_names([pipeline, options or {}]))


def _names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("connectionName"), str):
            yield value["connectionName"]
        for item in value.values():
            yield from _names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _names(item)


def _op(stage: Any) -> str | None:
    return next(iter(stage)) if isinstance(stage, dict) and len(stage) == 1 else None


def _shape(pipeline: Any) -> Iterator[str]:
    if not isinstance(pipeline, list) or not pipeline:
        yield "the pipeline must be a non-empty array of stages"
        return
    ops = [_op(s) for s in pipeline]
    if None in ops:
        yield "a pipeline stage specification object must contain exactly one field"
    elif ops[0] != "$source":
        yield "the first stage of a stream processor must be $source"
    elif ops.count("$source") > 1:
        yield "a pipeline can have only one $source stage"
    elif sum(op in WINDOW_KINDS for op in ops) > 1:
        yield "a pipeline can have at most one window stage"
    elif not _ends_in_sink(pipeline):
        yield "the last stage of a stream processor must be a sink: $merge, $emit or $externalFunction"
    elif any(op in SINKS for op in ops[:-1]):
        yield f"{next(op for op in ops[:-1] if op in SINKS)} must be the last stage of the pipeline"


def _ends_in_sink(pipeline: list) -> bool:
    op = _op(pipeline[-1])
    if op in SINKS or op == "$externalFunction":
        return True
    return op == "$https" and unconfirmed.HTTPS_TERMINAL_SINK


def _stages(pipeline: list, place: str) -> Iterator[str]:
    for index, stage in enumerate(pipeline):
        op, body = _op(stage), (stage or {}).get(_op(stage)) if _op(stage) else None
        if op is None:
            yield "a pipeline stage specification object must contain exactly one field"
            return
        if op not in PLACES:
            yield f"Unrecognized pipeline stage name: '{op}'"
            return
        if place not in PLACES[op]:
            where = {MAIN: "the main pipeline", WINDOW: "a window's pipeline", PAYLOAD: "a payload"}[place]
            yield f"{op} is not allowed in {where}"
            return
        if op == "$externalFunction" and index < len(pipeline) - 1 and not (body or {}).get("as"):
            yield "BSON field '$externalFunction.as' is missing but a required field"
            return
        yield from _inner(op, body, pipeline)


def _inner(op: str, body: Any, pipeline: list) -> Iterator[str]:
    problem = stage_specs.stage_problem(op, body)
    if problem is None and op in WINDOW_KINDS:
        problem = stage_specs.window_problem(op, body)
        if problem is None and _initial_sync(pipeline):
            problem = "a window cannot be used with a $source that has initialSync enabled"
        if problem is None:
            problem = next(_stages(body["pipeline"], WINDOW), None)
    if problem is None and op in ("$https", "$externalFunction") and "payload" in body:
        payload = body["payload"]
        problem = (next(_stages(payload, PAYLOAD), None) if isinstance(payload, list)
                   else f"BSON field '{op}.payload' is the wrong type, expected type 'array'")
    if problem is None and op == "$group" and (not isinstance(body, dict) or "_id" not in body):
        problem = "a group specification must include an _id"
    if problem:
        yield problem


def _initial_sync(pipeline: list) -> bool:
    source = (pipeline[0] or {}).get("$source") or {}
    return isinstance(source, dict) and bool((source.get("initialSync") or {}).get("enable"))


def _connections(pipeline: list, types: Mapping[str, str]) -> Iterator[str]:
    source = pipeline[0]["$source"]
    if not isinstance(source, dict):
        yield "BSON field '$source' is the wrong type, expected type 'object'"
        return
    if "documents" in source:
        yield from _spec(stage_specs.stage_problem("$source", source, stage_specs.SOURCES["documents"]))
    else:
        yield from _typed("$source", source, types, SOURCE_TYPES, stage_specs.SOURCES)
    for stage in _all_stages(pipeline[1:]):
        op = _op(stage)
        body = stage[op] if op else None
        if op == "$emit":
            yield from _typed(op, body, types, tuple(stage_specs.EMITS), stage_specs.EMITS)
        elif op in USES and isinstance(body, dict):
            holder = body.get("into") if op == "$merge" else body.get("from") if op in ("$lookup", "$cachedLookup") else body
            yield from _uses(op, (holder or {}).get("connectionName"), types, USES[op])


def _typed(op: str, body: dict, types: Mapping[str, str], allowed: tuple[str, ...], specs: dict) -> Iterator[str]:
    name = body.get("connectionName")
    problem = next(_uses(op, name, types, allowed), None)
    if problem:
        yield problem
    else:
        yield from _spec(stage_specs.stage_problem(op, body, specs[types[name]]))


def _uses(op: str, name: Any, types: Mapping[str, str], allowed: tuple[str, ...]) -> Iterator[str]:
    if not isinstance(name, str) or name not in types:
        yield f"connection named {name} does not exist. Check sp.listConnections() for available connections"
    elif types[name] not in allowed:
        yield f"{op} cannot use connection {name} of type {types[name]}"


def _spec(problem: str | None) -> Iterator[str]:
    if problem:
        yield problem


def _all_stages(pipeline: list) -> Iterator[dict]:
    for stage in pipeline:
        yield stage
        op = _op(stage)
        inner = stage[op] if op else None
        if isinstance(inner, dict):
            for key in ("pipeline", "payload"):
                if isinstance(inner.get(key), list) and op != "$lookup":
                    yield from _all_stages(inner[key])


def _variables(pipeline: list) -> Iterator[str]:
    found = _VARIABLES.search(json.dumps(pipeline))
    if found:
        yield f"variable {found.group(0)} is not supported in stream processing"


def _dlq(options: Any, types: Mapping[str, str]) -> Iterator[str]:
    dlq = (options or {}).get("dlq") if isinstance(options, dict) else None
    if not dlq:
        return
    missing = [k for k in ("connectionName", "db", "coll") if not dlq.get(k)]
    if missing:
        yield f"BSON field 'options.dlq.{missing[0]}' is missing but a required field"
    else:
        yield from _uses("options.dlq", dlq["connectionName"], types, ("Cluster",))


def _parallelism(pipeline: list, tier: str | None) -> Iterator[str]:
    values = [p for p in _parallel_values(pipeline) if p > 1]
    requested = sum(values) - len(values)
    limit = MAX_PARALLELISM.get(tier or "", max(MAX_PARALLELISM.values()))
    if requested > limit:
        minimum = next((t for t in TIERS if MAX_PARALLELISM[t] >= requested), None)
        yield unconfirmed.PARALLELISM_MESSAGE.format(requested=requested, limit=limit,
                                                     minimum=minimum or "none (above SP50)")


def _parallel_values(pipeline: list) -> Iterator[int]:
    source = pipeline[0].get("$source") or {}
    sync = (source.get("initialSync") or {}) if isinstance(source, dict) else {}
    for stage in [{"$source": sync}, *pipeline[1:]]:
        op = _op(stage)
        value = (stage[op] or {}).get("parallelism") if op and isinstance(stage[op], dict) else None
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            value = 1  # a bad value is the field checks' business, not this count's
        yield value or 1


def checkpoint_problem(old: list, new: list) -> str | None:
    """Reference §5.2: what a modify may not change while resuming from the checkpoint."""
    if same(old, new, ordered=True):
        return None  # the same pipeline re-sent (a DLQ or tier change) modifies nothing
    advice = "; set options.resumeFromCheckpoint to false"
    if not same(_stage(old, "$source"), _stage(new, "$source")):
        return "the $source stage cannot be changed while resuming from a checkpoint" + advice
    old_window, new_window = _window(old), _window(new)
    if old_window is None:
        return None
    if new_window is None:
        return "a window stage cannot be removed while resuming from a checkpoint" + advice
    (old_kind, old_spec), (new_kind, new_spec) = old_window, new_window
    if old_kind != new_kind or not all(same(old_spec.get(k), new_spec.get(k)) for k in ("interval", "hopSize", "gap")):
        return "a window's type or interval cannot be changed while resuming from a checkpoint" + advice
    inner = [_op(s) for s in new_spec.get("pipeline") or []]
    if "$group" not in inner and "$sort" not in inner:
        return "a windowed pipeline can be modified with its checkpoint only when the window pipeline has $group or $sort"
    return None


def _stage(pipeline: list, key: str) -> Any:
    return next((s[key] for s in pipeline if isinstance(s, dict) and key in s), None)


def _window(pipeline: list) -> tuple[str, dict] | None:
    for stage in pipeline:
        for kind in WINDOW_KINDS:
            if isinstance(stage, dict) and kind in stage:
                return kind, stage[kind]
    return None


def same(a: Any, b: Any, *, ordered: bool = False) -> bool:
    """Equal as Atlas compares definitions: 10 equals 10.0; key order counts only with ``ordered``."""
    return _canonical(a, ordered) == _canonical(b, ordered)


def _canonical(value: Any, ordered: bool) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical(v, ordered) for v in value]
    if isinstance(value, dict):
        items = [(k, _canonical(v, ordered)) for k, v in value.items()]
        return items if ordered else sorted(items, key=lambda kv: kv[0])
    return value
