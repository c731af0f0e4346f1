"""Which values are secrets and how they are hidden: every secret rule of sp-tasks lives here. Pure.

No secret value may appear in output, logs, plans, snapshots, reports or exceptions (DESIGN §4).
Secrets are known by their place (a JSON pointer), found by these rules:

- connections: Atlas's write-only fields per type (reference §4.3: accepted, never returned),
  and every string under a credential-looking key (``password``, ``clientSecret``, ``sslKey``,
  ``Authorization``, ``x-api-key`` …) or starting with ``Bearer``/``Basic``;
- processors: the same two rules inside ``$https`` and ``$externalFunction`` stages, wherever
  they sit (headers, parameters, payload; window pipelines included), except field paths and
  variables (``"$doc.token"``: the value is the document's, not the file's). Elsewhere in a
  pipeline a key such as ``password`` names a document field (``{"$project": {"password": 0}}``);
- both: any value rendered from a ``${VAR}`` whose name looks like a credential (``${API_TOKEN}``).
  The rendered text cannot tell, so ``desired`` records those places as declared pointers.

A hidden value becomes :data:`MARK`. A document holding MARK (snapshot, plan) says "a secret was
here" without its value; whoever needs the value takes it from the Git file of the same name.
"""
from __future__ import annotations

import copy
import re
from dataclasses import fields
from typing import Any, Iterable, Iterator

from sp_tasks import pointers

MARK = "(secret)"
CHANGED = "(secret changed)"  # how a plan shows a secret whose value differs

# Write-only connection fields per type (reference §4.3). The emulator drops exactly these.
WRITE_ONLY: dict[str, tuple[str, ...]] = {
    "Kafka": ("/authentication/password", "/authentication/clientSecret", "/authentication/sslKey",
              "/authentication/sslKeyPassword"),
    "SchemaRegistry": ("/schemaRegistryAuthentication/password",),
}
# A write-only field a connection must be sent with, known by the returned field that pairs with
# it: a username needs its password, a clientId its clientSecret, a certificate its key.
# (sslKeyPassword is optional: an unencrypted key has none.)
IMPLIED_BY: dict[str, str] = {
    "/authentication/password": "/authentication/username",
    "/authentication/clientSecret": "/authentication/clientId",
    "/authentication/sslKey": "/authentication/sslCertificate",
    "/schemaRegistryAuthentication/password": "/schemaRegistryAuthentication/username",
}
HTTP_STAGES = ("$https", "$externalFunction")

_SECRET_WORDS = {"password", "passwd", "pwd", "passphrase", "secret", "token", "credential", "credentials",
                 "authorization", "cookie"}
_KEY_QUALIFIERS = {"api", "private", "secret", "ssl", "access", "signing", "encryption", "auth"}
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")
_CREDENTIAL_VALUE = re.compile(r"(?i)(bearer|basic)\s")
_FIELD_PATH = re.compile(r"\$\$?[A-Za-z_]")  # "$field.path", "$$variable" (never "${VAR}")


def is_secret_name(name: str) -> bool:
    """Does a key, header or variable name look like a credential? (``sslKey``, ``X-Auth-Token``,
    ``API_TOKEN`` yes; ``username``, ``partitionKey``, ``tokenEndpointUrl`` no.)"""
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words:
        return False
    if words[-1] in _SECRET_WORDS or "".join(words) in ("apikey", "accesskey", "privatekey"):
        return True
    return words[-1] == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS


def looks_like_credential(value: Any) -> bool:
    """An HTTP credential written out (``Bearer …``, ``Basic …``)."""
    return isinstance(value, str) and bool(_CREDENTIAL_VALUE.match(value))


def connection_secrets(body: dict[str, Any], type: str | None = None, declared: Iterable[str] = ()) -> tuple[str, ...]:
    """Sorted pointers of a connection's secrets: ``declared`` ones (kept even when ``body`` lacks
    them: their value comes from a Git file), write-only fields of ``type`` and credential fields."""
    found = set(declared) | {p for p in _write_only(type or body.get("type")) if pointers.get(body, p) is not None}
    return tuple(sorted(found | set(_credentials(body, ""))))


def processor_secrets(doc: dict[str, Any], declared: Iterable[str] = ()) -> tuple[str, ...]:
    """Sorted pointers of the secrets in a processor definition (``pipeline``/``options`` at its root)."""
    return tuple(sorted(set(declared) | set(_in_http_stages(doc, ""))))


def document_secrets(kind: str, doc: Any, declared: Iterable[str] = ()) -> tuple[str, ...]:
    """:func:`connection_secrets` or :func:`processor_secrets` by ``kind``; () for a non-document."""
    if not isinstance(doc, dict):
        return tuple(sorted(set(declared)))
    return connection_secrets(doc, None, declared) if kind == "connection" else processor_secrets(doc, declared)


def required_secrets(body: dict[str, Any], type: str | None = None) -> tuple[str, ...]:
    """Write-only fields a connection with this (secret-free) body must be sent with."""
    return tuple(p for p in _write_only(type or body.get("type"))
                 if p in IMPLIED_BY and pointers.get(body, IMPLIED_BY[p]) is not None)


def needed_secrets(doc: Any, found: Iterable[str], declared: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every secret apply must send, those nothing supplies): a ``declared`` one comes from a Git
    file at apply time; any other needs a real value in ``doc`` (not absent, not :data:`MARK`)."""
    declared = set(declared)
    needed = tuple(sorted(declared | set(found)))
    return needed, tuple(p for p in needed if p not in declared and not has_value(doc, p))


def has_value(doc: Any, pointer: str) -> bool:
    """A real value is at ``pointer``: present and not :data:`MARK`."""
    value = pointers.get(doc, pointer)
    return value is not None and value != MARK


def marked(doc: Any, at: str = "") -> tuple[str, ...]:
    """Pointers of every :data:`MARK` in ``doc`` (places whose secret value was hidden)."""
    if doc == MARK:
        return (at,)
    return tuple(p for key, item in _items(doc) for p in marked(item, pointers.join(at, key)))


def redact(doc: Any, secret_pointers: Iterable[str]) -> Any:
    """Copy of ``doc`` with the value at each present pointer replaced by :data:`MARK`."""
    present = [p for p in secret_pointers if p and pointers.get(doc, p) is not None]
    if not present:
        return doc
    safe = copy.deepcopy(doc)
    for pointer in present:
        pointers.put(safe, pointer, MARK)
    return safe


def redact_at(value: Any, path: str, secret_pointers: Iterable[str]) -> Any:
    """``value``, found at ``path`` of a document whose secrets are at ``secret_pointers``, hidden."""
    secret_pointers = tuple(secret_pointers)
    if value is None:
        return None
    if any(path == p or path.startswith(p + "/") for p in secret_pointers):
        return MARK
    return redact(value, [p[len(path):] for p in secret_pointers if p.startswith(path + "/")])


def repr_with(obj: Any, **shown: Any) -> str:
    """The dataclass repr of ``obj`` with some fields replaced (by their redacted form)."""
    parts = (f"{f.name}={shown.get(f.name, getattr(obj, f.name))!r}" for f in fields(obj) if f.repr)
    return f"{type(obj).__name__}({', '.join(parts)})"


def _write_only(kind: Any) -> tuple[str, ...]:
    return WRITE_ONLY.get(kind, ()) if isinstance(kind, str) else ()


def _credentials(value: Any, at: str, *, expressions: bool = False) -> Iterator[str]:
    """Credential strings below ``value``; with ``expressions`` field paths are not ones."""
    for key, item in _items(value):
        here = pointers.join(at, key)
        if isinstance(item, (dict, list)):
            yield from _credentials(item, here, expressions=expressions)
        elif isinstance(item, str) and (is_secret_name(str(key)) or looks_like_credential(item)):
            if not (expressions and _FIELD_PATH.match(item)):
                yield here


def _in_http_stages(value: Any, at: str) -> Iterator[str]:
    for key, item in _items(value):
        here = pointers.join(at, key)
        if key in HTTP_STAGES and isinstance(item, dict):
            yield from _credentials(item, here, expressions=True)
        else:
            yield from _in_http_stages(item, here)


def _items(value: Any) -> Iterable[tuple[Any, Any]]:
    if isinstance(value, dict):
        return value.items()
    if isinstance(value, list):
        return enumerate(value)
    return ()
