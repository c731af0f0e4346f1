"""A snapshot read back as desired state (for rollback) or as live state (to compare with it).

Rollback is not a second engine: ``compute_plan(desired_from_snapshot(s), live, exact=True)``
plans the way back, and the same executor applies it. Verifying a rollback is
``fingerprint(live_from_snapshot(s)) == fingerprint(fetch_live(...))``.

Snapshot format (``format_version`` 1, written by ``deploy.snapshots``)::

    {"format_version": 1, "environment": str, "workspace": str, "project_id": str,
     "taken_at": str, "workspace_doc": object|null,
     "connections": [StreamsConnection documents, secrets absent],
     "processors": [StreamsProcessorWithStats documents: name, pipeline, options, tier, state, stats, …]}

A snapshot holds no secrets, so its connections carry none: the planner never compares
write-only fields, and rollback never updates a connection because its secrets are missing.
A processor that was running (STARTED) is restored STARTED; any other state (CREATED, STOPPED,
FAILED) is restored as stopped — a FAILED state cannot be recreated on purpose.
"""
from __future__ import annotations

from typing import Any

from sp_tasks.errors import DataFileError
from sp_tasks.model import (
    ConnectionSpec,
    DesiredState,
    LiveConnection,
    LiveProcessor,
    LiveState,
    ProcessorSpec,
    ProcessorState,
)
from sp_tasks.planning.normalize import CONNECTION_READ_ONLY, clean_options
from sp_tasks.planning.processors import RUNNING

SNAPSHOT_FORMAT_VERSION = 1


def desired_from_snapshot(snapshot: dict[str, Any], *, source: str = "snapshot") -> DesiredState:
    """The state recorded in ``snapshot`` as a DesiredState (tiers as recorded, None = default)."""
    processors, connections = _documents(snapshot, source)
    try:
        return DesiredState(
            processors=tuple(_processor_spec(doc, source) for doc in processors),
            connections=tuple(_connection_spec(doc, source) for doc in connections),
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise DataFileError(f"{source}: malformed processor or connection ({type(err).__name__}: {err})") from None


def live_from_snapshot(snapshot: dict[str, Any], *, source: str = "snapshot") -> LiveState:
    """The state recorded in ``snapshot`` as a LiveState, e.g. to fingerprint and compare."""
    processors, connections = _documents(snapshot, source)
    try:
        return LiveState(
            workspace=snapshot.get("workspace_doc"),
            connections=tuple(LiveConnection.from_api(doc) for doc in connections),
            processors=tuple(LiveProcessor.from_api(doc) for doc in processors),
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise DataFileError(f"{source}: malformed processor or connection ({type(err).__name__}: {err})") from None


def _documents(snapshot: Any, source: str) -> tuple[list[dict], list[dict]]:
    if not isinstance(snapshot, dict) or snapshot.get("format_version") != SNAPSHOT_FORMAT_VERSION:
        found = snapshot.get("format_version") if isinstance(snapshot, dict) else None
        raise DataFileError(f"{source}: format_version {found!r} is not {SNAPSHOT_FORMAT_VERSION}; take a new snapshot")
    processors, connections = snapshot.get("processors"), snapshot.get("connections")
    if not isinstance(processors, list) or not isinstance(connections, list):
        raise DataFileError(f"{source}: \"processors\" and \"connections\" must be lists")
    if not all(isinstance(d, dict) for d in processors + connections):
        raise DataFileError(f"{source}: every processor and connection must be a JSON object")
    return processors, connections


def _processor_spec(doc: dict[str, Any], source: str) -> ProcessorSpec:
    running = doc.get("state") in RUNNING
    return ProcessorSpec(
        name=doc["name"],
        pipeline=list(doc["pipeline"]),
        options=clean_options(doc.get("options")),
        tier=doc.get("tier"),
        desired_state=ProcessorState.STARTED if running else ProcessorState.STOPPED,
        file=f"{source}#processor:{doc['name']}",
    )


def _connection_spec(doc: dict[str, Any], source: str) -> ConnectionSpec:
    body = {k: v for k, v in doc.items() if k not in CONNECTION_READ_ONLY}
    return ConnectionSpec(name=doc["name"], type=doc["type"], body=body, file=f"{source}#connection:{doc['name']}")
