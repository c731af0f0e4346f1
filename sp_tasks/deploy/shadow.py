"""Shadow definitions: the copy of a processor a canary runs, writing only to ``__canary`` targets.

Shadow sinks: ``$merge.into.coll``, ``$emit.topic``, a time-series ``$emit.coll`` and
``options.dlq.coll`` get the ``__canary`` suffix; ``$emit`` to ``__testLog`` is left alone; a Kafka
source's ``group_id`` gets the suffix too, so the copy never takes the live processor's partitions.
Any other sink (S3, Kinesis, a terminal ``$externalFunction``/``$https``, a target given by an
expression) and any pipeline with side-effect stages cannot be shadowed safely: StrategyError.
Pure.
"""
from __future__ import annotations

import copy
from typing import Any

from sp_tasks.errors import StrategyError
from sp_tasks.model import CANARY_SUFFIX

SIDE_EFFECTS = frozenset({"$https", "$externalFunction"})  # stages a canary must not run twice
TEST_LOG = "__testLog"  # built-in log sink: a canary writing there needs no shadow


def shadow_definition(doc: dict[str, Any], *, source: str, suffix: str = CANARY_SUFFIX) -> dict[str, Any]:
    """Copy of processor definition ``doc`` whose sink and DLQ write to ``__canary`` targets
    (``suffix``: another reserved suffix, e.g. perf-ab's ``__ab_base`` / ``__ab_head`` copies)."""
    shadow = copy.deepcopy(doc)
    pipeline = shadow.get("pipeline") or []
    if not pipeline or not isinstance(pipeline[-1], dict):
        raise _cannot(source, "its pipeline has no sink stage")
    calls = sorted({key for stage in pipeline if isinstance(stage, dict) for key in stage} & SIDE_EFFECTS)
    if calls:  # the canary would call the endpoint / function a second time for every document
        raise _cannot(source, f"its {', '.join(calls)} stage has side effects a shadow copy would repeat")
    _own_consumer_group(pipeline[0], source, suffix)
    _shadow_sink(pipeline[-1], source, suffix)
    dlq = (shadow.get("options") or {}).get("dlq")
    if isinstance(dlq, dict) and dlq.get("coll") is not None:
        dlq["coll"] = _suffixed(dlq["coll"], source, "options.dlq.coll", suffix)
    return shadow


def _own_consumer_group(stage: Any, source: str, suffix: str) -> None:
    """A Kafka source with a fixed group_id would share partitions (and committed offsets) with
    the live processor, taking messages away from it: give the canary its own group."""
    config = ((stage or {}).get("$source") or {}).get("config") if isinstance(stage, dict) else None
    if isinstance(config, dict) and config.get("group_id") is not None:
        config["group_id"] = _suffixed(config["group_id"], source, "$source.config.group_id", suffix)


def _shadow_sink(stage: dict[str, Any], source: str, suffix: str) -> None:
    if isinstance(stage.get("$merge"), dict):
        into = stage["$merge"].get("into")
        if not isinstance(into, dict):
            raise _cannot(source, "$merge.into is not a document")
        into["coll"] = _suffixed(into.get("coll"), source, "$merge.into.coll", suffix)
        return
    emit = stage.get("$emit")
    if not isinstance(emit, dict):
        raise _cannot(source, f"its sink {next(iter(stage), '?')} has no shadow form")
    if emit.get("connectionName") == TEST_LOG:
        return
    if "topic" in emit:
        emit["topic"] = _suffixed(emit["topic"], source, "$emit.topic", suffix)
    elif "coll" in emit:
        emit["coll"] = _suffixed(emit["coll"], source, "$emit.coll", suffix)
    else:
        raise _cannot(source, "its $emit writes to S3 or Kinesis, which have no shadow form")


def _suffixed(value: Any, source: str, where: str, suffix: str) -> str:
    if not isinstance(value, str):
        raise _cannot(source, f"{where} is an expression, not a fixed name")
    return value + suffix


def _cannot(source: str, why: str) -> StrategyError:
    return StrategyError(
        f"processor {source}: canary cannot shadow its output ({why}); deploy it with "
        "--strategy in-place or blue-green"
    )
