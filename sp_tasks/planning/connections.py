"""How one connection pair (desired file, live connection) becomes a Change, and who uses it.

Rules (reference §4.3, §4.4):
- not live → ``create``; ``type`` or networking changed → ``replace`` (Atlas cannot change
  them in place: delete + create, and every processor using it must be stopped meanwhile);
- other non-secret fields changed → ``update``;
- secrets are compared only where Atlas returns them (Https headers, reference §4.3): write-only
  fields never come back, so a connection whose only difference could be those is a ``no-op``,
  unless ``rotate_secrets`` asks to send them again → ``update``. A secret restored from a
  snapshot is "(secret)" (value unknown): it equals whatever live holds;
- live only → ``delete`` only with prune and only when no processor that stays references it;
  built-in connections (``sample_stream_solar``) are never deleted.
Secret values never enter a Change: ``before``/``after`` leave them out, ``fields`` show
"(secret)", and ``secret_paths`` names every secret apply fills in from the Git file. A secret
the connection needs (a username's password) that neither the body nor a Git file supplies is
listed in ``missing_secrets`` of a change that sends the connection.
"""
from __future__ import annotations

from typing import Any, Iterable

from sp_tasks import pointers
from sp_tasks.model import BUILTIN_CONNECTIONS, ConnectionSpec, LiveConnection
from sp_tasks.planning.diff import FieldChange, compute_diff, redacted
from sp_tasks.planning.normalize import comparable, connection_document, without_server_defaults
from sp_tasks.planning.plan import Action, Change
from sp_tasks.secrets import MARK, connection_secrets, marked, needed_secrets, required_secrets

IMMUTABLE = ("type", "networking", "publicPrivateNetworking")


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
    secrets, missing = _secrets_of(spec)
    after = connection_document(spec.body, name=spec.name, type=spec.type, secrets=secrets)
    return Change(
        kind="connection",
        name=spec.name,
        action=Action.CREATE,
        after=after,
        reason="not deployed",
        consequence="new connection; processors can use it once it is READY",
        secret_paths=secrets,
        missing_secrets=missing,
    )


def _secrets_of(spec: ConnectionSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(secrets apply sends, those nothing supplies). ``spec.secret_paths`` are supplied by the
    Git file; any other secret the body shows, or its type requires, must have a value in it."""
    found = connection_secrets(spec.body, spec.type) + required_secrets(spec.body, spec.type) + marked(spec.body)
    return needed_secrets(spec.body, found, spec.secret_paths)


def _live_only(conn: LiveConnection, *, users: tuple[str, ...], prune: bool) -> Change:
    before = connection_document(conn.body, name=conn.name, type=conn.type,
                                 secrets=connection_secrets(conn.body, conn.type))
    common = dict(kind="connection", name=conn.name, before=before)
    if conn.name in BUILTIN_CONNECTIONS or conn.type == "Sample":
        return Change(action=Action.NOOP, **common)  # built in: not ours to manage
    if not prune:
        return Change(action=Action.NOOP, reason="not in git (prune off)", **common)
    if users:
        return Change(action=Action.NOOP, reason=f"not in git but still used by {', '.join(users)}: kept", **common)
    return Change(action=Action.DELETE, reason="not in git", consequence="connection removed", **common)


def _compare(spec: ConnectionSpec, conn: LiveConnection, *, users: tuple[str, ...], rotate_secrets: bool) -> Change:
    secrets, missing = _secrets_of(spec)
    before, after, fields = _documents(spec, conn, secrets)
    common = dict(kind="connection", name=spec.name, before=before, after=after, secret_paths=secrets)
    sent = dict(common, missing_secrets=missing)
    used_by = f"used by {', '.join(users)}" if users else "used by no processor"
    if any(f.path.split("/")[1] in IMMUTABLE for f in fields):
        return Change(
            action=Action.REPLACE,
            fields=fields,
            reason="type or networking changed: Atlas cannot change them in place (delete + create)",
            consequence=f"processors using it must be stopped while it is replaced: {', '.join(users) or 'none'}",
            stop_window="from before the delete until the new connection is READY" if users else "",
            **sent,
        )
    if fields:
        reason = "changed: " + ", ".join(sorted({f.path.split("/")[1] for f in fields}))
        consequence = f"updated in place; {used_by}"
        return Change(action=Action.UPDATE, fields=fields, reason=reason, consequence=consequence, **sent)
    if rotate_secrets and secrets:
        rotated = tuple(FieldChange(p, MARK, MARK) for p in secrets)
        consequence = f"secrets sent again; {used_by}"
        reason = "secret rotation asked"
        return Change(action=Action.UPDATE, fields=rotated, reason=reason, consequence=consequence, **sent)
    unreturned = any(pointers.get(conn.body, p) is None for p in secrets)
    reason = "write-only secrets are not compared (rotate with --rotate-secrets)" if unreturned else ""
    return Change(action=Action.NOOP, reason=reason, **common)


def _documents(spec: ConnectionSpec, conn: LiveConnection, secrets: tuple[str, ...]):
    """(before, after, fields): documents without secrets; fields compared on the real values
    where live returns them, shown redacted."""
    hidden = tuple(sorted(set(secrets) | set(connection_secrets(conn.body, conn.type))))
    desired_doc = connection_document(spec.body, name=spec.name, type=spec.type)
    live_doc = connection_document(conn.body, name=conn.name, type=conn.type)
    desired_doc, live_doc = comparable(desired_doc, live_doc, hidden, unreturned_hidden=True)
    fields = compute_diff(without_server_defaults(live_doc, desired_doc), desired_doc, ordered=())
    after = connection_document(spec.body, name=spec.name, type=spec.type, secrets=hidden)
    live_shown = connection_document(conn.body, name=conn.name, type=conn.type, secrets=hidden)
    return without_server_defaults(live_shown, after), after, redacted(fields, hidden)
