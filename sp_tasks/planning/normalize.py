"""Normalization of desired and live documents, so a diff shows only what deploy would change.

Both sides go through the same functions: read-only and server-filled fields are dropped,
connection secrets the live side does not return are compared on neither side (Atlas never
returns write-only fields, so comparing them would be a permanent diff; which fields are
secrets is ``sp_tasks.secrets``), and equality is judged on a canonical form where whole numbers
are one type (Atlas has returned ``10`` as ``10.0``) but strings are never touched. Key order is
kept inside ``pipeline`` (``$sort``, ``$project``, document literals depend on it) and ignored
in options and connection objects. The cleaned documents keep the values exactly as written, because they
are what will be sent; only comparisons and fingerprints use the canonical form.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from sp_tasks import pointers
from sp_tasks.secrets import MARK, connection_secrets, redact
# Pointer names kept for existing callers (tests, scenario loaders); the code is sp_tasks.pointers.
from sp_tasks.pointers import get as get_pointer, join as join_pointer, remove as remove_pointer  # noqa: F401

# A processor definition is exactly these fields; everything else the API returns (``_id``,
# ``state``, ``stats``, ``links``, ``effectiveTier``, ``failoverEnabled``,
# ``eligibleForFailover``) is read-only or not managed from Git.
PROCESSOR_FIELDS = ("name", "pipeline", "options", "tier")
# Sent with a modify request only; never part of the definition Atlas stores.
REQUEST_ONLY_OPTIONS = frozenset({"resumeFromCheckpoint"})
CONNECTION_READ_ONLY = frozenset({"_id", "id", "state", "links"})

ANY = object()  # "whatever the server filled in"
# Filled in by Atlas when a connection file leaves them out: ignored on the live side then.
CONNECTION_SERVER_DEFAULTS: dict[str, Any] = {
    "region": ANY,
    "networking": {"access": {"type": "PUBLIC"}},
    "publicPrivateNetworking": {"access": {"type": "PUBLIC"}},
}


def processor_document(name: str, pipeline: list[Any], options: dict | None, tier: str | None) -> dict:
    """The comparable definition of one processor; ``options``/``tier`` only when meaningful."""
    doc: dict[str, Any] = {"name": name, "pipeline": list(pipeline)}
    cleaned = clean_options(options)
    if cleaned:
        doc["options"] = cleaned
    if tier:
        doc["tier"] = tier
    return doc


def processor_document_from_api(doc: dict[str, Any]) -> dict[str, Any]:
    """Definition part of a ``StreamsProcessorWithStats`` document (snapshot or GET)."""
    return processor_document(doc["name"], doc.get("pipeline") or [], doc.get("options"), doc.get("tier"))


def clean_options(options: dict[str, Any] | None) -> dict[str, Any] | None:
    """Options without request-only keys, nulls and an empty ``dlq`` (Atlas' "no DLQ")."""
    if not options:
        return None
    kept = {k: v for k, v in options.items() if k not in REQUEST_ONLY_OPTIONS and v is not None}
    if kept.get("dlq") == {}:
        del kept["dlq"]
    return kept or None


def connection_document(body: dict[str, Any], *, name: str, type: str, secrets: Iterable[str] = ()) -> dict:
    """A connection as compared and shown: no read-only fields, no nulls, none of ``secrets``."""
    doc = {"name": name, "type": type}
    doc.update((k, v) for k, v in body.items() if k not in CONNECTION_READ_ONLY and v is not None)
    for pointer in secrets:
        doc = pointers.remove(doc, pointer)
    return doc


def secret_pointers(body: dict[str, Any], declared: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A connection's secret pointers (declared ones kept even when absent): ``secrets.connection_secrets``."""
    return connection_secrets(body, None, declared)


def comparable(desired: Any, live: Any, secrets: Iterable[str], *, unreturned_hidden: bool) -> tuple[Any, Any]:
    """(desired, live) ready to compare where secrets are concerned. A desired secret that is
    MARK (restored from a snapshot: value unknown) counts as equal to any live value. With
    ``unreturned_hidden`` (connections) a secret live does not show is compared on neither side:
    Atlas never returns write-only fields."""
    unknown = []
    for pointer in secrets:
        if unreturned_hidden and pointers.get(live, pointer) is None:
            desired = pointers.remove(desired, pointer)
        elif pointers.get(desired, pointer) == MARK:
            unknown.append(pointer)
    return desired, redact(live, unknown)


def without_server_defaults(live_doc: dict[str, Any], desired_doc: dict[str, Any]) -> dict[str, Any]:
    """``live_doc`` minus fields Atlas filled in with its defaults where the file said nothing."""
    kept = {}
    for key, value in live_doc.items():
        default = CONNECTION_SERVER_DEFAULTS.get(key)
        server_filled = key not in desired_doc and (default is ANY or (default is not None and same(default, value)))
        if not server_filled:
            kept[key] = value
    return kept


def canonical(value: Any, *, ordered: bool = False) -> Any:
    """Comparable form: whole floats become ints; dict keys sorted unless ``ordered``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [canonical(v, ordered=ordered) for v in value]
    if isinstance(value, dict):
        items = value.items() if ordered else sorted(value.items())
        return {k: canonical(v, ordered=ordered) for k, v in items}
    return value


def canonical_document(doc: Any) -> Any:
    """Canonical form of a whole processor/connection document: order kept only in ``pipeline``."""
    if not isinstance(doc, dict):
        return canonical(doc)
    return {k: canonical(v, ordered=(k == "pipeline")) for k, v in sorted(doc.items())}


def canonical_json(value: Any, *, ordered: bool = False) -> str:
    return json.dumps(canonical(value, ordered=ordered), separators=(",", ":"), ensure_ascii=False)


def same(a: Any, b: Any, *, ordered: bool = False) -> bool:
    """Equal after canonicalization; with ``ordered`` a different key order is a difference."""
    return canonical_json(a, ordered=ordered) == canonical_json(b, ordered=ordered)
