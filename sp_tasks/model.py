"""Shared value types: desired state (from Git), live state (from Atlas) and their vocabulary.

Frozen dataclasses only; no I/O. ``desired`` builds :class:`DesiredState`, ``atlas.client``
builds :class:`LiveState`, ``planning`` compares them. Dict/list payloads keep the key order
they were read with, because key order is meaningful in MongoDB pipelines.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sp_tasks.secrets import connection_secrets, processor_secrets, redact, repr_with

TIERS: tuple[str, ...] = ("SP2", "SP5", "SP10", "SP30", "SP50")  # ascending size

# Connections every workspace may reference without a file in connections/.
BUILTIN_CONNECTIONS: dict[str, str] = {"sample_stream_solar": "Sample", "__testLog": "TestLog"}

# Suffixes of the copies deploy strategies make of processor X: X__green (new definition under
# test), X__blue (previous definition, kept stopped as the rollback target), X__canary (shadow
# run writing to shadow sinks), X__retired (the older X__blue, parked during a blue-green cut-over
# until the new X passes its health gate). Git must not use them; plans never prune them implicitly.
BLUE_SUFFIX, GREEN_SUFFIX, CANARY_SUFFIX, RETIRED_SUFFIX = "__blue", "__green", "__canary", "__retired"
# The deploy lock is a never-started processor named "sp-tasks-<generation>__lock" (deploy/lock.py).
LOCK_SUFFIX = "__lock"
# `invoke perf-ab` runs X's base and head definitions side by side as X__ab_base and X__ab_head
# (equal lengths, so their sink names are equally long too), writing to suffixed sinks.
AB_BASE_SUFFIX, AB_HEAD_SUFFIX = "__ab_base", "__ab_head"
RESERVED_SUFFIXES: tuple[str, ...] = (BLUE_SUFFIX, GREEN_SUFFIX, CANARY_SUFFIX, RETIRED_SUFFIX, LOCK_SUFFIX,
                                      AB_BASE_SUFFIX, AB_HEAD_SUFFIX)


def is_lock_name(name: str) -> bool:
    """True for the deploy lock's processor: never a user processor, never planned or shown."""
    return name.endswith(LOCK_SUFFIX)


class ProcessorState(str, Enum):
    """States the API reports (reference §5.3). Values are the API's strings."""

    INIT = "INIT"
    CREATING = "CREATING"
    CREATED = "CREATED"
    STARTED = "STARTED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class ProcessorSpec:
    """One processors/<name>.json after ${VAR} rendering. ``pipeline`` may hold secret values
    (``$https`` headers): planning and rendering work on redacted copies."""

    name: str
    pipeline: list[Any]
    options: dict[str, Any] | None = None
    tier: str | None = None  # None = the environment's DEFAULT_TIER
    desired_state: ProcessorState = ProcessorState.STARTED  # file key "state": STARTED | STOPPED
    file: str = ""  # path relative to the project root, for messages
    secret_paths: tuple[str, ...] = ()  # JSON pointers (from the definition's root) of secret values

    def __repr__(self) -> str:  # dataclass repr would print secrets in tracebacks
        definition = {"pipeline": self.pipeline, "options": self.options}
        return repr_with(self, **redact(definition, processor_secrets(definition, self.secret_paths)))


@dataclass(frozen=True)
class ConnectionSpec:
    """One connections/<name>.json after ${VAR} rendering. ``body`` may hold secret values:
    never print, log or snapshot it: planning and rendering work on secret-free copies."""

    name: str
    type: str
    body: dict[str, Any]
    file: str = ""
    secret_paths: tuple[str, ...] = ()  # JSON pointers of secret fields in body (write-only, credentials)

    def __repr__(self) -> str:  # dataclass repr would print secrets in tracebacks
        return f"ConnectionSpec(name={self.name!r}, type={self.type!r}, file={self.file!r})"


@dataclass(frozen=True)
class SinkRename:
    """A name ``SINK_SUFFIX`` changed (feature/isolation.py): processor, JSON pointer, connection, from → to."""

    processor: str
    pointer: str
    connection: str
    before: str
    after: str

    def to_json(self) -> dict[str, str]:
        return {"processor": self.processor, "pointer": self.pointer, "connection": self.connection,
                "before": self.before, "after": self.after}


@dataclass(frozen=True)
class DesiredState:
    processors: tuple[ProcessorSpec, ...] = ()
    connections: tuple[ConnectionSpec, ...] = ()
    sinks: tuple[SinkRename, ...] = ()  # what SINK_SUFFIX renamed, shown by the plan

    def processor(self, name: str) -> ProcessorSpec | None:
        return next((p for p in self.processors if p.name == name), None)

    def connection(self, name: str) -> ConnectionSpec | None:
        return next((c for c in self.connections if c.name == name), None)


@dataclass(frozen=True)
class LiveProcessor:
    """A processor as GET/list returns it (``StreamsProcessorWithStats``)."""

    name: str
    id: str
    state: str
    pipeline: list[Any]
    options: dict[str, Any] | None = None
    tier: str | None = None
    stats: dict[str, Any] | None = None

    @classmethod
    def from_api(cls, doc: dict[str, Any]) -> "LiveProcessor":
        return cls(
            name=doc["name"],
            id=doc.get("_id", ""),
            state=doc.get("state", ""),
            pipeline=doc.get("pipeline", []),
            options=doc.get("options") or None,
            tier=doc.get("tier"),
            stats=doc.get("stats"),
        )

    def __repr__(self) -> str:  # live $https headers are secrets too
        definition = {"pipeline": self.pipeline, "options": self.options}
        return repr_with(self, **redact(definition, processor_secrets(definition)))


@dataclass(frozen=True)
class LiveConnection:
    """A connection as GET/list returns it (write-only secrets already absent)."""

    name: str
    type: str
    body: dict[str, Any]
    state: str = "READY"

    @classmethod
    def from_api(cls, doc: dict[str, Any]) -> "LiveConnection":
        return cls(name=doc["name"], type=doc.get("type", ""), body=doc, state=doc.get("state", "READY"))

    def __repr__(self) -> str:  # Https headers come back from Atlas
        return repr_with(self, body=redact(self.body, connection_secrets(self.body, self.type)))


@dataclass(frozen=True)
class LiveState:
    """Everything fetch_live() read from one workspace; ``workspace`` None = it does not exist."""

    workspace: dict[str, Any] | None
    connections: tuple[LiveConnection, ...] = ()
    processors: tuple[LiveProcessor, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. page counts, for diagnostics
