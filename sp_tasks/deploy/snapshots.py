"""Snapshots of live state: what a workspace looked like before a deploy, saved as JSON for rollback.

A snapshot is the full live state — workspace, connections, processors with pipeline, options,
tier, state and stats — in the documented format below, with no secret value: every secret
``sp_tasks.secrets`` knows of (write-only fields should Atlas ever return one, credential fields
and Https headers, ``$https`` stage headers) is "(secret)". ``rollback`` plans from it like from
Git and takes those values from the Git files at apply time.

    {"format_version": 1, "environment": "production", "workspace": "ws", "project_id": "…",
     "taken_at": "2026-11-26T15:20:00Z", "reason": "pre-deploy", "verified": false,
     "revision": "<git sha of the checkout that took it>",
     "workspace_doc": {…}, "connections": [API documents], "processors": [API documents]}

``reason``: ``pre-deploy`` / ``pre-rollback`` (taken before writing: whatever live was, maybe
half-applied after a crash), ``deployed`` / ``rolled-back`` (taken after a deploy or rollback
passed its health gate and re-plan: ``verified`` true), ``manual``. ``invoke rollback`` goes by
default to the newest verified snapshot that differs from live (:func:`candidates`).

Default location: ``.sp/snapshots/<env>/<UTC timestamp>.json`` under the project root.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sp_tasks import inputfiles, jsonpos
from sp_tasks.errors import DataFileError
from sp_tasks.model import LiveState
from sp_tasks.secrets import connection_secrets, processor_secrets, redact

FORMAT_VERSION = 1
_STRIP = ("links",)


def snapshots_dir(root: Path, env: str) -> Path:
    return Path(root) / ".sp" / "snapshots" / env


def build_snapshot(live: LiveState, *, environment: str, workspace: str, project_id: str,
                   taken_at: datetime, reason: str = "", verified: bool = False, revision: str = "") -> dict[str, Any]:
    """The snapshot document for ``live`` (pure)."""
    return {
        "format_version": FORMAT_VERSION,
        "environment": environment,
        "workspace": workspace,
        "project_id": project_id,
        "taken_at": taken_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reason": reason,
        "verified": verified,
        "revision": revision,
        "workspace_doc": _clean(live.workspace) if live.workspace else None,
        "connections": [redact(_clean(c.body), connection_secrets(c.body, c.type)) for c in live.connections],
        "processors": [_redacted_processor(p) for p in live.processors],
    }


def save_snapshot(snapshot: dict[str, Any], root: Path, out: str | Path | None = None) -> Path:
    """Write the snapshot; default path is timestamped under .sp/snapshots/<env>/."""
    if out is None:
        stamp = snapshot["taken_at"].replace(":", "").replace("-", "").replace(".", "")
        out = snapshots_dir(root, snapshot["environment"]) / f"{stamp}.json"
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(snapshot, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a snapshot
    return path


def load_snapshot(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        where = path.parent if path.parent.is_dir() else Path(".sp") / "snapshots"
        raise DataFileError(f"snapshot {path} does not exist; see the snapshots there are with `ls {where}`, or "
                            "leave out --snapshot to roll back to the latest pre-deploy one")
    # Unreadable, not UTF-8, malformed or absurdly deep: DataFileError naming file, line and column.
    text = inputfiles.read_text(path, what="snapshot file")
    doc = jsonpos.parse(text, str(path), max_depth=jsonpos.MAX_DEPTH + jsonpos.ENVELOPE_DEPTH).value
    missing = [k for k in ("format_version", "environment", "workspace", "connections", "processors")
               if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise DataFileError(f"snapshot {path} is missing {', '.join(missing)}; is it an sp-tasks snapshot?")
    if doc["format_version"] != FORMAT_VERSION:
        raise DataFileError(f"snapshot {path} has format_version {doc['format_version']}; "
                            f"this sp-tasks reads version {FORMAT_VERSION}")
    return doc


@dataclass(frozen=True)
class Candidate:
    """One snapshot as ``invoke rollback --list`` shows it."""

    path: Path
    taken_at: str
    reason: str
    revision: str
    verified: bool
    is_live: bool  # live state already equals it (definitions and states)

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "taken_at": self.taken_at, "reason": self.reason, "revision": self.revision,
                "verified": self.verified, "is_live": self.is_live}


def candidates(root: Path, settings, live: LiveState) -> list[Candidate]:
    """This workspace's snapshots, newest first (another workspace's or an unreadable one is skipped)."""
    from sp_tasks.planning.plan import fingerprint
    from sp_tasks.planning.snapshot_desired import live_from_snapshot

    now = fingerprint(live)
    found = []
    for path in sorted(snapshots_dir(root, settings.name).glob("*.json"), reverse=True):
        try:
            doc = load_snapshot(path)
            same = fingerprint(live_from_snapshot(doc, source=str(path))) == now
        except DataFileError:
            continue
        if (doc.get("workspace"), doc.get("project_id")) != (settings.workspace, settings.project_id):
            continue
        found.append(Candidate(path, str(doc.get("taken_at", "")), str(doc.get("reason", "")),
                               str(doc.get("revision") or "unknown"), doc.get("verified") is True, same))
    return found


def default_target(found: list[Candidate], env: str) -> Candidate:
    """The last verified good state that is not what live already is."""
    for candidate in found:
        if candidate.verified and not candidate.is_live:
            return candidate
    raise DataFileError(f"no verified snapshot of environment '{env}' differs from live state; `invoke rollback "
                        f"--env {env} --list` shows them all; pass --snapshot FILE or --to-ref REV")


def latest_snapshot(root: Path, env: str, reason: str | None = None) -> Path:
    """Newest snapshot file for ``env`` (optionally only those taken for ``reason``)."""
    candidates = sorted(snapshots_dir(root, env).glob("*.json"), reverse=True)
    for path in candidates:
        if reason is None or load_snapshot(path).get("reason") == reason:
            return path
    raise DataFileError(f"no {reason + ' ' if reason else ''}snapshot for environment '{env}' in "
                        f"{snapshots_dir(root, env)}; deploy once, or pass --snapshot FILE or --to-ref REF")


def _redacted_processor(p) -> dict[str, Any]:
    doc = _clean(_processor_doc(p))
    return redact(doc, processor_secrets(doc))


def _processor_doc(p) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": p.id, "name": p.name, "state": p.state, "pipeline": p.pipeline}
    if p.options:
        doc["options"] = p.options
    if p.tier:
        doc["tier"] = p.tier
    if p.stats is not None:
        doc["stats"] = p.stats
    return doc


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _STRIP}
