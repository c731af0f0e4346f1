"""Normalization of desired and live documents, so a diff shows only what deploy would change.

Both sides go through the same functions: read-only and server-filled fields are dropped,
write-only connection secrets are removed (Atlas never returns them, so comparing them would be
a permanent diff), and equality is judged on a canonical form where whole numbers are one type
(Atlas has returned ``10`` as ``10.0``) but strings are never touched. Key order is kept inside
``pipeline`` (``$sort``, ``$project``, document literals depend on it) and ignored in options
and connection objects. The cleaned documents keep the values exactly as written, because they
are what will be sent; only comparisons and fingerprints use the canonical form.
"""
from __future__ import annotations

import json
from typing import Any

# A processor definition is exactly these fields; everything else the API returns (``_id``,
# ``state``, ``stats``, ``links``, ``effectiveTier``, ``failoverEnabled``,
# ``eligibleForFailover``) is read-only or not managed from Git.
PROCESSOR_FIELDS = ("name", "pipeline", "options", "tier")
# Sent with a modify request only; never part of the definition Atlas stores.
REQUEST_ONLY_OPTIONS = frozenset({"resumeFromCheckpoint"})
CONNECTION_READ_ONLY = frozenset({"_id", "id", "state", "links"})

# Write-only connection fields (reference §4.3): never returned on GET/list.
WRITE_ONLY_POINTERS = (
    "/authentication/password",
    "/authentication/clientSecret",
    "/authentication/sslKey",
    "/authentication/sslKeyPassword",
    "/schemaRegistryAuthentication/password",
)
# Header names that carry credentials; treated as secrets whether or not Atlas echoes them.
_SECRET_HEADER_WORDS = ("authorization", "api-key", "apikey", "token", "secret", "cookie", "password")

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


def connection_document(body: dict[str, Any], *, name: str, type: str, secrets: tuple[str, ...] = ()) -> dict:
    """A connection as compared and shown: no read-only fields, no nulls, no secret values."""
    doc = {"name": name, "type": type}
    doc.update((k, v) for k, v in body.items() if k not in CONNECTION_READ_ONLY and v is not None)
    for pointer in secrets:
        doc = remove_pointer(doc, pointer)
    return doc


def secret_pointers(body: dict[str, Any], declared: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Pointers of secret fields present in ``body``: declared, write-only, credential headers."""
    headers = body.get("headers") if isinstance(body.get("headers"), dict) else {}
    candidates = [*declared, *WRITE_ONLY_POINTERS]
    candidates += [join_pointer("/headers", h) for h in headers if _is_secret_header(h)]
    present = (p for p in candidates if get_pointer(body, p) is not None)
    return tuple(sorted(set(present)))


def _is_secret_header(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_HEADER_WORDS)


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


def join_pointer(base: str, key: str | int) -> str:
    """RFC 6901: ``~`` and ``/`` in a key are escaped."""
    return f"{base}/{str(key).replace('~', '~0').replace('/', '~1')}"


def split_pointer(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def get_pointer(doc: Any, pointer: str) -> Any:
    """Value at ``pointer`` or None when any segment is missing."""
    for key in split_pointer(pointer):
        if isinstance(doc, dict):
            doc = doc.get(key)
        elif isinstance(doc, list) and key.isdigit() and int(key) < len(doc):
            doc = doc[int(key)]
        else:
            return None
    return doc


def remove_pointer(doc: dict[str, Any], pointer: str) -> dict[str, Any]:
    """Copy of ``doc`` without the field at ``pointer`` (dict paths only); parents emptied stay."""
    head, *rest = split_pointer(pointer)
    if head not in doc:
        return doc
    copy = dict(doc)
    if not rest:
        del copy[head]
    elif isinstance(copy[head], dict):
        copy[head] = remove_pointer(copy[head], "/" + "/".join(pointer.split("/")[2:]))
    return copy
