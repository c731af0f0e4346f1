"""A snapshot read back as desired state (for rollback) or as live state (to compare with it).

Rollback is not a second engine: ``compute_plan(desired_from_snapshot(s), live, exact=True)``
plans the way back, and the same executor applies it. Verifying a rollback is
``fingerprint(live_from_snapshot(s)) == fingerprint(fetch_live(...))``.

Snapshot format (``format_version`` 1, written by ``deploy.snapshots``)::

    {"format_version": 1, "environment": str, "workspace": str, "project_id": str,
     "taken_at": str, "workspace_doc": object|null,
     "connections": [StreamsConnection documents, secret values "(secret)" or absent],
     "processors": [StreamsProcessorWithStats documents: name, pipeline, options, tier, state, stats, …]}

A snapshot holds no secret values: write-only fields never came back from Atlas, and every other
secret is "(secret)". Rolling back therefore takes each secret from the Git file of the same name
and type at apply time (:func:`with_secret_sources` marks which ones it can); a secret the
restored object needs that no Git file supplies shows in the plan as ``missing_secrets``, and
such a plan is refused before any write. A "(secret)" equals any live value when comparing, so a
secret rotated since the snapshot stays as it is (its old value is nowhere to be had).
A processor that was running (STARTED) is restored STARTED; any other state (CREATED, STOPPED,
FAILED) is restored as stopped — a FAILED state cannot be recreated on purpose.
"""
from __future__ import annotations

from dataclasses import replace
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
from sp_tasks.secrets import WRITE_ONLY, connection_secrets, has_value, marked, required_secrets

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


def identities_from_snapshot(snapshot: dict[str, Any], *, source: str = "snapshot") -> dict[str, str]:
    """Processor name → ``_id`` as the snapshot recorded them: a rollback renames a processor that
    still exists under another name back, instead of recreating it without its state."""
    processors, _ = _documents(snapshot, source)
    return {doc["name"]: doc["_id"] for doc in processors
            if isinstance(doc.get("name"), str) and isinstance(doc.get("_id"), str) and doc["_id"]}


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


def with_secret_sources(target: DesiredState, git: DesiredState) -> DesiredState:
    """``target`` (from a snapshot) with ``secret_paths`` declared wherever the Git file of the
    same name (and type) has the secret's value: the executor reads it from there at apply time."""
    connections = tuple(_sourced_connection(c, git.connection(c.name)) for c in target.connections)
    processors = tuple(_sourced_processor(p, git.processor(p.name)) for p in target.processors)
    return DesiredState(processors=processors, connections=connections)


def _sourced_connection(spec: ConnectionSpec, source: ConnectionSpec | None) -> ConnectionSpec:
    if source is None or source.type != spec.type:
        return spec
    wanted = set(connection_secrets(spec.body, spec.type)) | set(required_secrets(spec.body, spec.type))
    wanted |= set(marked(spec.body)) | set(WRITE_ONLY.get(spec.type, ()))  # write-only: the snapshot cannot tell
    return replace(spec, secret_paths=_supplied(wanted, spec.body, source.body))


def _sourced_processor(spec: ProcessorSpec, source: ProcessorSpec | None) -> ProcessorSpec:
    if source is None:
        return spec
    definition = {"pipeline": spec.pipeline, "options": spec.options}
    return replace(spec, secret_paths=_supplied(marked(definition), definition,
                                                {"pipeline": source.pipeline, "options": source.options}))


def _supplied(wanted, doc: dict[str, Any], source: dict[str, Any]) -> tuple[str, ...]:
    """Pointers of ``wanted`` secrets ``doc`` has no value for and ``source`` does."""
    return tuple(sorted(p for p in wanted if not has_value(doc, p) and has_value(source, p)))

