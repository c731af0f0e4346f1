"""The ASP pipeline rules of reference §8, as one pure check shared by `invoke validate` and the
emulator's server-side validation (which answers ``400 STREAM_PROCESSOR_GENERIC_ERROR``).

:func:`check_processor` returns every :class:`Problem` found, never the first only. Pointers are
relative to the processor document (``/pipeline/2/$merge/into``, ``/options/dlq``). This module
owns order and nesting (``$source`` first and once, sink last, one window, the placement matrix
of §8.2, stage vocabulary, variables, DLQ, parallelism vs tier); :mod:`sp_tasks.stage_rules`
owns the fields of each stage.
"""
from __future__ import annotations

import difflib
import re
from typing import Any, Iterator, Mapping

from sp_tasks import stage_rules, tiers
from sp_tasks.atlas import unconfirmed
from sp_tasks.diagnostics import Problem
from sp_tasks.jsonpos import join
from sp_tasks.model import BUILTIN_CONNECTIONS

__all__ = ["Problem", "check_processor", "STAGES"]

WINDOWS = tiers.WINDOWS
SINKS = ("$merge", "$emit")
MAIN, WINDOW, PAYLOAD = "main pipeline", "window pipeline", "payload"
# Placement matrix (§8.2): stage -> contexts it may appear in.
_EVERYWHERE = (MAIN, WINDOW, PAYLOAD)
STAGES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("$addFields", "$set", "$project", "$replaceRoot"), _EVERYWHERE),
    **dict.fromkeys(("$match", "$redact", "$replaceWith", "$unset", "$unwind", "$validate", "$https",
                     "$externalFunction", "$lookup"), (MAIN, WINDOW)),
    # Documented (§8.2 "also documented") without a placement: accepted where ordinary stages are.
    **dict.fromkeys(("$throttle", "$vectorSearch"), (MAIN, WINDOW)),
    **dict.fromkeys(("$source", "$cachedLookup", "$setStreamMeta", *SINKS, *WINDOWS), (MAIN,)),
    **dict.fromkeys(("$group", "$sort", "$count", "$limit"), (WINDOW,)),
}
# MongoDB stages that ASP does not run; anything else unknown is reported as a likely typo.
UNSUPPORTED = (
    "$out", "$facet", "$geoNear", "$search", "$searchMeta", "$indexStats", "$collStats", "$currentOp",
    "$listSessions", "$listLocalSessions", "$planCacheStats", "$bucket", "$bucketAuto", "$sortByCount",
    "$graphLookup", "$unionWith", "$densify", "$fill", "$setWindowFields", "$sample", "$skip", "$documents",
    "$changeStream", "$changeStreamSplitLargeEvent", "$listSearchIndexes", "$queryStats",
    "$shardedDataDistribution", "$listClusterCatalog", "$listSampledQueries", "$rankFusion", "$scoreFusion",
)
_VARIABLES = re.compile(r"\$\$(NOW|CLUSTER_TIME|USER_ROLES|SEARCH_META)\b|(?<!\$)\$SEARCH_META\b")


def check_processor(
    name: str,
    pipeline: Any,
    options: Any,
    *,
    connection_types: Mapping[str, str],
    tier: str | None = None,
) -> list[Problem]:
    """Every §8 problem of one processor. ``connection_types`` maps connection name -> type
    (built-ins are added when absent); ``tier`` None skips the parallelism-vs-tier check.
    ``name`` is the processor's name; messages do not repeat it (callers add context)."""
    found = stage_rules.Findings({**BUILTIN_CONNECTIONS, **connection_types})
    if not isinstance(pipeline, list) or not pipeline:
        found.add("/pipeline", "pipeline-shape", "pipeline must be a non-empty array of stages starting with $source")
        return found.problems
    _check_structure(found, pipeline)
    _check_stages(found, pipeline, "/pipeline", MAIN)
    _check_variables(found, pipeline, "/pipeline")
    _check_dlq(found, options)
    _check_parallelism(found, pipeline, tier)
    return found.problems


def stage_op(stage: Any) -> str | None:
    """The operator of a well-formed stage document (one key starting with '$'), else None."""
    if isinstance(stage, dict) and len(stage) == 1:
        op = next(iter(stage))
        return op if op.startswith("$") else None
    return None


def _check_structure(found: stage_rules.Findings, pipeline: list) -> None:
    ops = [stage_op(stage) for stage in pipeline]
    if ops[0] != "$source":
        where = f"move the $source at /pipeline/{ops.index('$source')} to the start" if "$source" in ops \
            else "add {\"$source\": {\"connectionName\": ...}} as the first stage"
        found.add("/pipeline/0", "source-first", f"the first stage must be $source, not {ops[0] or 'this'}; {where}")
    for index in [i for i, op in enumerate(ops) if op == "$source"][1:]:
        found.add(f"/pipeline/{index}", "source-once", "a pipeline has exactly one $source; remove this one")
    for index in [i for i, op in enumerate(ops) if op in WINDOWS][1:]:
        found.add(f"/pipeline/{index}", "window-count",
                  f"a pipeline may have only one window stage; merge this {ops[index]} into the first one")
    for index, op in enumerate(ops[:-1]):
        if op in SINKS:
            found.add(f"/pipeline/{index}", "sink-not-last", f"{op} is a sink and must be the last stage; move it to the end")
    _check_initial_sync(found, pipeline, ops)
    last = len(ops) - 1
    if ops[last] not in (*SINKS, "$externalFunction") and not (
            ops[last] == "$https" and unconfirmed.HTTPS_TERMINAL_SINK):
        found.add(f"/pipeline/{last}", "sink-missing",
                  f"the last stage must be a sink ($merge, $emit or $externalFunction), not {ops[last] or 'this'}; "
                  "add one at the end")


def _check_initial_sync(found: stage_rules.Findings, pipeline: list, ops: list) -> None:
    source = pipeline[0].get("$source") if ops[0] == "$source" else None
    sync = source.get("initialSync") if isinstance(source, dict) else None
    if isinstance(sync, dict) and sync.get("enable") and any(op in WINDOWS for op in ops):
        found.add("/pipeline/0/$source/initialSync", "initial-sync-window",
                  "initialSync cannot be combined with a window stage; disable it or remove the window")


def _check_stages(found: stage_rules.Findings, pipeline: list, pointer: str, context: str) -> None:
    for index, stage in enumerate(pipeline):
        at = join(pointer, index)
        op = stage_op(stage)
        if op is None:
            found.add(at, "stage-shape", "a stage must be an object with exactly one $-operator key, "
                                         "e.g. {\"$match\": {...}}")
            continue
        if _placement_ok(found, op, at, context):
            body, body_at = stage[op], join(at, op)
            last = context == MAIN and index == len(pipeline) - 1
            stage_rules.check_stage(found, op, body, body_at, last=last)
            _check_nested(found, op, body, body_at)


def _placement_ok(found: stage_rules.Findings, op: str, at: str, context: str) -> bool:
    if op in UNSUPPORTED:
        found.add(at, "unsupported-stage", f"{op} is not supported by Atlas Stream Processing; remove it")
        return False
    if op not in STAGES:
        hint = difflib.get_close_matches(op, list(STAGES), n=1)
        found.add(at, "unknown-stage", f"unknown stage {op}" + (f"; did you mean {hint[0]}?" if hint else ""))
        return False
    allowed = STAGES[op]
    if context in allowed:
        return True
    if allowed == (WINDOW,):
        found.add(at, "window-only-stage", f"{op} is only allowed inside a window's pipeline; "
                                           "wrap it in $tumblingWindow, $hoppingWindow or $sessionWindow")
    elif op != "$source" or context != MAIN:  # a misplaced main-pipeline $source is reported by structure
        found.add(at, "stage-placement", f"{op} is not allowed in a {context}; "
                                         f"it may appear only in: {', '.join(allowed)}")
    return False


def _check_nested(found: stage_rules.Findings, op: str, body: Any, at: str) -> None:
    if not isinstance(body, dict):
        return
    if op in WINDOWS and isinstance(body.get("pipeline"), list):
        _check_stages(found, body["pipeline"], join(at, "pipeline"), WINDOW)
    if op in ("$https", "$externalFunction") and isinstance(body.get("payload"), list):
        _check_stages(found, body["payload"], join(at, "payload"), PAYLOAD)


def _check_variables(found: stage_rules.Findings, value: Any, pointer: str) -> None:
    for at, text in _strings(value, pointer):
        for match in _VARIABLES.finditer(text):
            found.add(at, "unsupported-variable", f"{match.group(0)} is not available in stream processing; "
                                                  "use the document's event time ($_ts) or remove it")


def _strings(value: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, join(pointer, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, join(pointer, index))


def _check_dlq(found: stage_rules.Findings, options: Any) -> None:
    if options is None:
        return
    if not found.object(options, "/options", "options"):
        return
    dlq = options.get("dlq")
    # {} is how a modify request removes the DLQ (§5.2), so only a non-empty DLQ is checked.
    if dlq is None or dlq == {} or not found.object(dlq, "/options/dlq", "options.dlq"):
        return
    found.known(dlq, {"connectionName", "db", "coll"}, "/options/dlq", "options.dlq")
    found.require(dlq, ["connectionName", "db", "coll"], "/options/dlq", "options.dlq")
    found.connection(dlq, "/options/dlq", "options.dlq (dead letter queue)", ("Cluster",))


def _check_parallelism(found: stage_rules.Findings, pipeline: list, tier: str | None) -> None:
    settings = [("/pipeline" + p, v) for p, v in tiers.parallelism_settings(pipeline)]
    for at, value in settings:
        if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 64):
            found.add(at, "parallelism", f"parallelism must be an integer from 1 to 64, not {value!r}")
        elif value > 1 and "$externalFunction" in at and _async_function(pipeline, at):
            found.add(at, "parallelism", "parallelism is only allowed with execution \"sync\"; remove it")
    requested = tiers.cumulative_parallelism(pipeline)
    minimum = tiers.tier_for_parallelism(requested)
    first = next((at for at, v in settings if isinstance(v, int) and v > 1), "/pipeline")
    if minimum is None:
        found.add(first, "parallelism-tier", f"cumulative parallelism {requested} exceeds every tier (SP50 allows 64); "
                                             "lower the parallelism settings")
    elif tier in tiers.TIER_TABLE and requested > tiers.TIER_TABLE[tier].max_parallelism:
        message = unconfirmed.PARALLELISM_MESSAGE.format(
            requested=requested, limit=tiers.TIER_TABLE[tier].max_parallelism, minimum=minimum)
        found.add(first, "parallelism-tier", f"{message} Set \"tier\" to {minimum} or lower the parallelism.")


def _async_function(pipeline: list, pointer: str) -> bool:
    stage = _resolve(pipeline, pointer.split("/")[2:-1])
    return isinstance(stage, dict) and stage.get("execution") == "async"


def _resolve(value: Any, tokens: list[str]) -> Any:
    for token in tokens:
        value = value[int(token)] if isinstance(value, list) else value.get(token) if isinstance(value, dict) else None
    return value
