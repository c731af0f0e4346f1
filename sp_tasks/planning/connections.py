"""How one connection pair (desired file, live connection) becomes a Change, and who uses it.

Rules (reference §4.3, §4.4):
- not live → ``create``; ``type`` or networking changed → ``replace`` (Atlas cannot change
  them in place: delete + create, and every processor using it must be stopped meanwhile);
- other non-secret fields changed → ``update``;
- write-only secrets are never compared (Atlas never returns them): a connection whose only
  difference could be its secrets is a ``no-op``, unless ``rotate_secrets`` asks to send them
  again → ``update``. A snapshot (rollback) has no secrets, so it never causes an update;
- live only → ``delete`` only with prune and only when no processor that stays references it;
  built-in connections (``sample_stream_solar``) are never deleted.
Secret values never enter a Change: ``after`` is secret-free and ``secret_paths`` names the
write-only fields apply must fill from the connection file.
"""
from __future__ import annotations

from typing import Any, Iterable

from sp_tasks.model import BUILTIN_CONNECTIONS, ConnectionSpec, LiveConnection
from sp_tasks.planning.diff import FieldChange, compute_diff
from sp_tasks.planning.normalize import connection_document, secret_pointers, without_server_defaults
from sp_tasks.planning.plan import Action, Change

IMMUTABLE = ("type", "networking", "publicPrivateNetworking")
SECRET_MARK = "(secret)"  # shown instead of a value; the value itself never enters a plan


def referenced_connections(pipeline: list[Any], options: dict[str, Any] | None) -> frozenset[str]:
    """Every ``connectionName`` a processor uses: sources, sinks, lookups, HTTPS, DLQ."""
    return frozenset(_names([pipeline, options or {}]))


def _names(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        if isinstance(value.get("connectionName"), str):
            yield value["connectionName"]
        for item in value.values():
            yield from _names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _names(item)


def decide_connection(
    spec: ConnectionSpec | None,
    conn: LiveConnection | None,
    *,
    users: tuple[str, ...],
    prune: bool,
    rotate_secrets: bool,
) -> Change:
    """``users``: processors that use this connection and stay (desired, or live and kept)."""
    if conn is None:
        return _create(spec)
    if spec is None:
        return _live_only(conn, users=users, prune=prune)
    return _compare(spec, conn, users=users, rotate_secrets=rotate_secrets)


def _create(spec: ConnectionSpec) -> Change:
    secrets = secret_pointers(spec.body, spec.secret_paths)
    after = connection_document(spec.body, name=spec.name, type=spec.type, secrets=secrets)
    return Change(
        kind="connection",
        name=spec.name,
        action=Action.CREATE,
        after=after,
        reason="not deployed",
        consequence="new connection; processors can use it once it is READY",
        secret_paths=secrets,
    )


def _live_only(conn: LiveConnection, *, users: tuple[str, ...], prune: bool) -> Change:
    before = connection_document(conn.body, name=conn.name, type=conn.type, secrets=secret_pointers(conn.body))
    common = dict(kind="connection", name=conn.name, before=before)
    if conn.name in BUILTIN_CONNECTIONS or conn.type == "Sample":
        return Change(action=Action.NOOP, **common)  # built in: not ours to manage
    if not prune:
        return Change(action=Action.NOOP, reason="not in git (prune off)", **common)
    if users:
        return Change(action=Action.NOOP, reason=f"not in git but still used by {', '.join(users)}: kept", **common)
    return Change(action=Action.DELETE, reason="not in git", consequence="connection removed", **common)


def _compare(spec: ConnectionSpec, conn: LiveConnection, *, users: tuple[str, ...], rotate_secrets: bool) -> Change:
    secrets = secret_pointers(spec.body, spec.secret_paths)
    hidden = tuple(sorted(set(secrets) | set(secret_pointers(conn.body))))
    after = connection_document(spec.body, name=spec.name, type=spec.type, secrets=hidden)
    live_doc = connection_document(conn.body, name=conn.name, type=conn.type, secrets=hidden)
    before = without_server_defaults(live_doc, after)
    fields = compute_diff(before, after, ordered=())
    common = dict(kind="connection", name=spec.name, before=before, after=after, secret_paths=secrets)
    used_by = f"used by {', '.join(users)}" if users else "used by no processor"
    if any(f.path.split("/")[1] in IMMUTABLE for f in fields):
        return Change(
            action=Action.REPLACE,
            fields=fields,
            reason="type or networking changed: Atlas cannot change them in place (delete + create)",
            consequence=f"processors using it must be stopped while it is replaced: {', '.join(users) or 'none'}",
            stop_window="from before the delete until the new connection is READY" if users else "",
            **common,
        )
    if fields:
        reason = "changed: " + ", ".join(sorted({f.path.split("/")[1] for f in fields}))
        consequence = f"updated in place; {used_by}"
        return Change(action=Action.UPDATE, fields=fields, reason=reason, consequence=consequence, **common)
    if rotate_secrets and secrets:
        rotated = tuple(FieldChange(p, SECRET_MARK, SECRET_MARK) for p in secrets)
        consequence = f"secrets sent again; {used_by}"
        reason = "secret rotation asked"
        return Change(action=Action.UPDATE, fields=rotated, reason=reason, consequence=consequence, **common)
    reason = "write-only secrets are not compared (rotate with --rotate-secrets)" if secrets else ""
    return Change(action=Action.NOOP, reason=reason, **common)
