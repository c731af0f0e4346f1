"""The plan as data: actions, changes, the plan itself, its versioned JSON form and the live fingerprint.

A plan says everything apply will do; apply must be driven by ``Change.action``, ``before``,
``after``, ``tier``, ``desired_state`` and ``secret_paths`` only. ``reason``, ``consequence``
and ``stop_window`` are for people (terminal, PR comment) and must never be branched on.

JSON format (``format_version`` 1; what ``deploy --plan FILE`` reads)::

    {"format_version": 1, "environment": str, "workspace": str, "project_id": str,
     "created_at": str, "live_fingerprint": str (sha256 hex), "default_tier": str,
     "prune": bool, "rotate_secrets": bool, "exact": bool,
     "summary": {"<action>": count, ...},            # informational, ignored on load
     "changes": [{"kind": "connection"|"processor", "name": str, "action": <Action value>,
                  "before": object|null, "after": object|null,   # normalized, secrets hidden
                  "fields": [{"path": JSON pointer, "before": any, "after": any}],
                  "consequence": str, "stop_window": str, "reason": str,
                  "tier": str|null, "desired_state": "STARTED"|"STOPPED"|null,
                  "live_state": str|null, "secret_paths": [JSON pointer, ...],
                  "missing_secrets": [JSON pointer, ...],
                  "renamed_from": str|null, "repair": bool}],
     "lock": object|null,
     "targets": [str, ...],                           # --processor: only these were planned
     "untouched_processors": [str, ...], "untouched_connections": [str, ...],
     "sinks": [{"processor", "pointer", "connection", "before", "after"}, ...]}  # only with SINK_SUFFIX

``changes`` is in apply order: repairs first (``repair`` true: leftovers of an interrupted deploy
removed, originals renamed back, see ``planning.repairs``), then the rest. No secret value is ever in a plan: processor definitions show
"(secret)" in place of each one, connection documents leave them out, and ``fields`` show a
changed secret as "(secret)" on both sides. ``secret_paths`` lists the secrets apply takes from
the Git file of the same name when it sends the object; ``missing_secrets`` those of them no Git
file supplies (a snapshot's connection whose file is gone): such a plan cannot be applied.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from sp_tasks import jsonpos
from sp_tasks.errors import DataFileError
from sp_tasks.model import LiveState
from sp_tasks.planning.diff import FieldChange, redacted
from sp_tasks.planning.normalize import canonical_document, connection_document, processor_document
from sp_tasks.secrets import connection_secrets, document_secrets, processor_secrets, redact, repr_with

FORMAT_VERSION = 1


class Action(str, Enum):
    """What apply does to one connection or processor. Values are stable JSON strings."""

    CREATE = "create"
    UPDATE = "update"
    UPDATE_RESET = "update-reset"  # modify with resumeFromCheckpoint: false (state discarded)
    REPLACE = "replace"  # delete + create (connection type or networking changed)
    START = "start"
    STOP = "stop"
    DELETE = "delete"
    RENAME = "rename"  # a repair: an existing processor gets its name back (same _id and state)
    NOOP = "no-op"


DESTRUCTIVE = frozenset({Action.UPDATE_RESET, Action.REPLACE, Action.DELETE})


@dataclass(frozen=True)
class Change:
    kind: str  # "connection" | "processor"
    name: str
    action: Action
    before: dict[str, Any] | None = None  # normalized live; None = not deployed
    after: dict[str, Any] | None = None  # normalized desired, as it will be sent; None = not in Git
    fields: tuple[FieldChange, ...] = ()
    consequence: str = ""  # checkpoint/data consequence in words (humans only)
    stop_window: str = ""  # how long output pauses (humans only)
    reason: str = ""  # why this action (humans only)
    tier: str | None = None  # processors: tier to start on
    desired_state: str | None = None  # processors: STARTED | STOPPED
    live_state: str | None = None  # processors: state when planned
    secret_paths: tuple[str, ...] = ()  # secrets apply fills in from the Git file when it sends this object
    missing_secrets: tuple[str, ...] = ()  # of those, the ones no Git file supplies: apply refuses
    renamed_from: str | None = None  # RENAME: the processor's current name
    repair: bool = False  # applied before anything else (planning/repairs.py), in plan order

    def __repr__(self) -> str:  # a plan holds no secrets; this keeps a hand-made Change honest too
        hidden = {p for doc in (self.before, self.after) for p in document_secrets(self.kind, doc, self.secret_paths)}
        return repr_with(self, before=redact(self.before, hidden), after=redact(self.after, hidden),
                         fields=redacted(self.fields, hidden))


@dataclass(frozen=True)
class Plan:
    environment: str  # apply refuses a plan made for another environment
    workspace: str
    project_id: str
    created_at: str
    changes: tuple[Change, ...]  # apply order
    live_fingerprint: str  # apply refuses when live state no longer has this fingerprint
    prune: bool = False
    rotate_secrets: bool = False
    exact: bool = False  # rollback: reserved copies (__blue, __canary) were planned too
    default_tier: str = ""
    lock: dict[str, Any] | None = None  # the deploy lock as read with live state (deploy/lock.py), for people
    targets: tuple[str, ...] = ()  # --processor: the plan covers only these (planning/targeting.py)
    untouched_processors: tuple[str, ...] = ()  # with targets: what the plan leaves alone, for people
    untouched_connections: tuple[str, ...] = ()
    sinks: tuple[dict[str, str], ...] = ()  # names SINK_SUFFIX changed (SinkRename.to_json), for people

    def has_changes(self) -> bool:
        """True when apply would do anything (the one place this is decided)."""
        return any(c.action is not Action.NOOP for c in self.changes)

    def is_destructive(self) -> bool:
        """True when some change discards state or deletes something (CI may require approval)."""
        return any(c.action in DESTRUCTIVE for c in self.changes)

    def summary(self) -> dict[str, int]:
        """Count per action, every action present (stable keys for JSON and renders)."""
        return {a.value: sum(c.action is a for c in self.changes) for a in Action}


def fingerprint(live: LiveState) -> str:
    """sha256 over live definitions and processor states; stats, read-only noise and secret values
    excluded (a plan file carries the fingerprint, and a snapshot holds no secrets to match)."""
    processors = sorted(
        ({**_redacted_processor(p.name, p.pipeline, p.options, p.tier), "state": p.state} for p in live.processors),
        key=lambda d: d["name"],
    )
    connections = sorted(
        (connection_document(c.body, name=c.name, type=c.type, secrets=connection_secrets(c.body, c.type))
         for c in live.connections),
        key=lambda d: d["name"],
    )
    material = {"workspace": live.workspace is not None, "connections": connections, "processors": processors}
    text = json.dumps(canonical_document(material), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _redacted_processor(name: str, pipeline: list[Any], options: dict | None, tier: str | None) -> dict[str, Any]:
    doc = processor_document(name, pipeline, options, tier)
    return redact(doc, processor_secrets(doc))


def plan_to_json(plan: Plan) -> str:
    """The documented, versioned JSON form (module docstring); stable key order."""
    head = {"format_version": FORMAT_VERSION}
    # "sinks" only where SINK_SUFFIX renamed something: other plans read as they always did.
    body = {k: v for k, v in asdict(plan).items() if k != "changes" and (k != "sinks" or v)}
    changes = [_change_to_dict(c) for c in plan.changes]
    return json.dumps({**head, **body, "summary": plan.summary(), "changes": changes}, indent=2, ensure_ascii=False)


def _change_to_dict(change: Change) -> dict[str, Any]:
    doc = asdict(change)
    doc["action"] = change.action.value
    doc["fields"] = [asdict(f) for f in change.fields]
    doc["secret_paths"] = list(change.secret_paths)
    doc["missing_secrets"] = list(change.missing_secrets)
    return doc


def plan_from_json(text: str, *, source: str = "plan") -> Plan:
    """Load a plan written by :func:`plan_to_json`; anything malformed → DataFileError naming ``source``."""
    try:
        doc = jsonpos.parse(text, source, max_depth=jsonpos.MAX_DEPTH + jsonpos.ENVELOPE_DEPTH).value
    except DataFileError as err:  # malformed, or nested deeper than any plan we write
        raise DataFileError(f"{err}; write it with `invoke plan --out FILE`") from None
    if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
        found = doc.get("format_version") if isinstance(doc, dict) else None
        raise DataFileError(f"{source}: format_version {found!r} is not {FORMAT_VERSION}; plan again with this version")
    try:
        return _plan_from_dict(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise DataFileError(f"{source}: malformed plan ({type(err).__name__}: {err}); plan again") from None


def _plan_from_dict(doc: dict[str, Any]) -> Plan:
    changes = tuple(_change_from_dict(c) for c in doc["changes"])
    return Plan(
        environment=_text(doc["environment"]),
        workspace=_text(doc["workspace"]),
        project_id=_text(doc["project_id"]),
        created_at=_text(doc["created_at"]),
        changes=changes,
        live_fingerprint=_text(doc["live_fingerprint"]),
        prune=bool(doc.get("prune", False)),
        rotate_secrets=bool(doc.get("rotate_secrets", False)),
        exact=bool(doc.get("exact", False)),
        default_tier=_text(doc.get("default_tier", "")),
        lock=_object(doc.get("lock")),
        targets=_names(doc.get("targets", [])),
        untouched_processors=_names(doc.get("untouched_processors", [])),
        untouched_connections=_names(doc.get("untouched_connections", [])),
        sinks=tuple({k: _text(r[k]) for k in ("processor", "pointer", "connection", "before", "after")}
                    for r in doc.get("sinks", [])),
    )


def _change_from_dict(doc: dict[str, Any]) -> Change:
    if doc["kind"] not in ("connection", "processor"):
        raise ValueError(f"change kind {doc['kind']!r} is not connection or processor")
    fields = tuple(FieldChange(_text(f["path"]), f.get("before"), f.get("after")) for f in doc.get("fields", []))
    return Change(
        kind=doc["kind"],
        name=_text(doc["name"]),
        action=Action(doc["action"]),
        before=_object(doc.get("before")),
        after=_object(doc.get("after")),
        fields=fields,
        consequence=_text(doc.get("consequence", "")),
        stop_window=_text(doc.get("stop_window", "")),
        reason=_text(doc.get("reason", "")),
        tier=doc.get("tier"),
        desired_state=doc.get("desired_state"),
        live_state=doc.get("live_state"),
        secret_paths=tuple(_text(p) for p in doc.get("secret_paths", [])),
        missing_secrets=tuple(_text(p) for p in doc.get("missing_secrets", [])),
        renamed_from=_optional_text(doc.get("renamed_from")),
        repair=bool(doc.get("repair", False)),
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, found {type(value).__name__}")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list of names, found {type(value).__name__}")
    return tuple(_text(v) for v in value)


def _object(value: Any) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"expected an object or null, found {type(value).__name__}")
    return value
