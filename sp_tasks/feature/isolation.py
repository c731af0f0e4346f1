"""Own sinks for an environment that shares clusters and topics with another: ``SINK_SUFFIX``. Pure.

A feature environment uses its base's connections, so without this its processors would write
into the base's databases and topics. ``SINK_SUFFIX`` in config.env (``env.create`` writes
``SINK_SUFFIX=_feature_<name>``) is applied while definitions are rendered, like a ``${VAR}``:

- ``$merge.into.db``, a time-series ``$emit.db`` and ``options.dlq.db`` get the suffix, so
  everything the environment writes to a cluster lands in databases of its own
  (``solar`` → ``solar_feature_demo``), which one ``dropDatabase`` per name removes;
- a Kafka ``$emit.topic`` gets it too (``solar-hot-panels`` → ``solar-hot-panels_feature_demo``);
- a ``$source`` that reads what a processor of the same set writes (the same connection and
  collection, or topic) reads the renamed one, so a chain of processors stays inside the
  environment; any other source still reads the base's data (reading is not writing);
- a Kafka ``$source.config.group_id`` gets it, so the copy never takes the base's partitions.

``$emit`` to ``__testLog`` is per processor already. A sink that has no such name (S3, Kinesis,
a terminal ``$externalFunction``/``$https``) or whose name is an expression cannot be isolated: a
``sink-not-isolated`` problem at that place, so validation fails (exit 4) and nothing is sent;
sharing is never silent. The documentation is docs/feature-environments.md.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from sp_tasks.diagnostics import Problem
from sp_tasks.model import SinkRename

RULE = "sink-not-isolated"
TEST_LOG = "__testLog"  # the built-in per-processor log sink
MAX_DB = 63  # MongoDB: database names have fewer than 64 characters
MAX_TOPIC = 249  # Kafka's limit for topic names
SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # valid in a database name and in a Kafka topic name
SUFFIX_RULE = "letters, digits, '_' and '-' (at most 32): valid in database and Kafka topic names"


def written(doc: Any) -> set[tuple[str, str, str]]:
    """What a processor definition writes by name: {("coll", connection, "db.coll"), ("topic", connection, topic)}."""
    out: set[tuple[str, str, str]] = set()
    sink = _last_stage(doc)
    body = sink.get("$merge", {}).get("into") if isinstance(sink.get("$merge"), dict) else sink.get("$emit")
    if isinstance(body, dict) and isinstance(body.get("connectionName"), str):
        if isinstance(body.get("db"), str) and isinstance(body.get("coll"), str):
            out.add(("coll", body["connectionName"], f"{body['db']}.{body['coll']}"))
        if isinstance(body.get("topic"), str):
            out.add(("topic", body["connectionName"], body["topic"]))
    return out


def isolate(doc: dict[str, Any], suffix: str, chained: set[tuple[str, str, str]]) -> tuple[
        dict[str, Any], list[SinkRename], list[Problem]]:
    """Copy of processor definition ``doc`` writing only to suffixed names; ``chained`` = what the
    whole set writes (:func:`written` of every processor), for sources that read it."""
    out = copy.deepcopy(doc)
    name = str(out.get("name", "?"))
    renames: list[SinkRename] = []
    problems: list[Problem] = []
    pipeline = out.get("pipeline") if isinstance(out.get("pipeline"), list) else []
    if pipeline and isinstance(pipeline[0], dict) and isinstance(pipeline[0].get("$source"), dict):
        _source(pipeline[0]["$source"], "/pipeline/0/$source", suffix, chained, name, renames)
    if len(pipeline) > 1 and isinstance(pipeline[-1], dict):
        _sink(pipeline[-1], f"/pipeline/{len(pipeline) - 1}", suffix, name, renames, problems)
    dlq = out.get("options", {}).get("dlq") if isinstance(out.get("options"), dict) else None
    if isinstance(dlq, dict) and "db" in dlq:
        _rename(dlq, "db", "/options/dlq", suffix, name, renames, problems, MAX_DB)
    return out, renames, problems


def _sink(stage: dict[str, Any], at: str, suffix: str, name: str, renames: list, problems: list) -> None:
    op = next(iter(stage), "")
    body = stage.get(op)
    if op == "$merge" and isinstance(body, dict) and isinstance(body.get("into"), dict):
        _rename(body["into"], "db", f"{at}/$merge/into", suffix, name, renames, problems, MAX_DB)
    elif op == "$merge":
        problems.append(Problem(f"{at}/$merge", RULE, _cannot(name, "$merge.into is not a document")))
    elif op == "$emit" and isinstance(body, dict) and body.get("connectionName") == TEST_LOG:
        return  # per processor: nothing another environment writes
    elif op == "$emit" and isinstance(body, dict) and "topic" in body:
        _rename(body, "topic", f"{at}/$emit", suffix, name, renames, problems, MAX_TOPIC)
    elif op == "$emit" and isinstance(body, dict) and "db" in body:
        _rename(body, "db", f"{at}/$emit", suffix, name, renames, problems, MAX_DB)
    elif op == "$emit":
        problems.append(Problem(f"{at}/$emit", RULE, _cannot(name, "its $emit writes to S3, Kinesis or another "
                                                                   "sink that has no database or topic name")))
    elif op in ("$externalFunction", "$https"):
        problems.append(Problem(f"{at}/{op}", RULE, _cannot(name, f"a terminal {op} calls the base's endpoint")))


def _source(body: dict[str, Any], at: str, suffix: str, chained: set, name: str, renames: list) -> None:
    connection = body.get("connectionName")
    if isinstance(body.get("db"), str) and _reads_written(body.get("db"), body.get("coll"), connection, chained):
        _rename(body, "db", at, suffix, name, renames, [], MAX_DB)
    topics = body.get("topic")
    if isinstance(topics, (str, list)):
        renamed = [f"{t}{suffix}" if ("topic", connection, t) in chained else t
                   for t in ([topics] if isinstance(topics, str) else topics)]
        new = renamed[0] if isinstance(topics, str) else renamed
        if new != topics:
            renames.append(SinkRename(name, f"{at}/topic", str(connection), _shown(topics), _shown(new)))
            body["topic"] = new
    config = body.get("config")
    if isinstance(config, dict) and isinstance(config.get("group_id"), str):
        _rename(config, "group_id", f"{at}/config", suffix, name, renames, [], MAX_TOPIC, connection=connection)


def _reads_written(db: str, coll: Any, connection: Any, chained: set) -> bool:
    """A change stream on collections the set writes (all of them: a partial match keeps the base's)."""
    colls = [coll] if isinstance(coll, str) else coll if isinstance(coll, list) else []
    return bool(colls) and all(("coll", connection, f"{db}.{c}") in chained for c in colls)


def _rename(body: dict[str, Any], key: str, at: str, suffix: str, name: str, renames: list, problems: list,
            limit: int, *, connection: Any = None) -> None:
    value = body.get(key)
    if not isinstance(value, str) or value.startswith("$"):
        problems.append(Problem(f"{at}/{key}", RULE, _cannot(name, f"{key} is an expression, not a fixed name")))
        return
    new = value + suffix
    if len(new) > limit:
        problems.append(Problem(f"{at}/{key}", RULE, f"processor {name}: {key} {new!r} would be {len(new)} "
                                                      f"characters, over the limit of {limit}; shorten {value!r} "
                                                      "or SINK_SUFFIX"))
        return
    body[key] = new
    renames.append(SinkRename(name, f"{at}/{key}", str(connection or body.get("connectionName", "")), value, new))


def _shown(topics: Any) -> str:
    return topics if isinstance(topics, str) else ", ".join(map(str, topics))


def _last_stage(doc: Any) -> dict[str, Any]:
    pipeline = doc.get("pipeline") if isinstance(doc, dict) else None
    return pipeline[-1] if isinstance(pipeline, list) and pipeline and isinstance(pipeline[-1], dict) else {}


def _cannot(name: str, why: str) -> str:
    return (f"processor {name} cannot get a sink of its own under SINK_SUFFIX ({why}), so it would write to "
            "the base environment's; give it a fixed database or Kafka topic name, or keep it off this "
            "environment (deploy it to a committed one)")
