"""Shadow sinks for canary runs: the same processor definition, writing where nobody reads.

A canary must not write into the live sink, so its terminal stage and DLQ are redirected:
``$merge.into.coll`` → ``<coll>__canary``, ``$emit.topic`` → ``<topic>__canary``, an Atlas
time-series ``$emit.coll`` → ``<coll>__canary``, ``options.dlq.coll`` → ``<coll>__canary``.
``$emit`` to the built-in ``__testLog`` already writes nowhere that matters. Any other sink
(S3, Kinesis, a terminal ``$externalFunction``/``$https``, a target given by an expression)
cannot be shadowed safely: a StrategyError says so, and in-place or blue-green must be used.
"""
from __future__ import annotations

import copy
from typing import Any

from sp_tasks.errors import StrategyError
from sp_tasks.model import CANARY_SUFFIX

TEST_LOG = "__testLog"


def shadow_definition(doc: dict[str, Any], *, source: str) -> dict[str, Any]:
    """Copy of processor definition ``doc`` whose sink and DLQ write to ``__canary`` targets."""
    shadow = copy.deepcopy(doc)
    pipeline = shadow.get("pipeline") or []
    if not pipeline or not isinstance(pipeline[-1], dict):
        raise _cannot(source, "its pipeline has no sink stage")
    _shadow_sink(pipeline[-1], source)
    dlq = (shadow.get("options") or {}).get("dlq")
    if isinstance(dlq, dict) and dlq.get("coll") is not None:
        dlq["coll"] = _suffixed(dlq["coll"], source, "options.dlq.coll")
    return shadow


def _shadow_sink(stage: dict[str, Any], source: str) -> None:
    if isinstance(stage.get("$merge"), dict):
        into = stage["$merge"].get("into")
        if not isinstance(into, dict):
            raise _cannot(source, "$merge.into is not a document")
        into["coll"] = _suffixed(into.get("coll"), source, "$merge.into.coll")
        return
    emit = stage.get("$emit")
    if not isinstance(emit, dict):
        raise _cannot(source, f"its sink {next(iter(stage), '?')} has no shadow form")
    if emit.get("connectionName") == TEST_LOG:
        return
    if "topic" in emit:
        emit["topic"] = _suffixed(emit["topic"], source, "$emit.topic")
    elif "coll" in emit:
        emit["coll"] = _suffixed(emit["coll"], source, "$emit.coll")
    else:
        raise _cannot(source, "its $emit writes to S3 or Kinesis, which have no shadow form")


def _suffixed(value: Any, source: str, where: str) -> str:
    if not isinstance(value, str):
        raise _cannot(source, f"{where} is an expression, not a fixed name")
    return value + CANARY_SUFFIX


def _cannot(source: str, why: str) -> StrategyError:
    return StrategyError(
        f"processor {source}: canary cannot shadow its output ({why}); deploy it with "
        "--strategy in-place or blue-green"
    )
