"""JSON pointers (RFC 6901): the one implementation of escape, join, split, get, put and remove.

Pointers name places in processor and connection documents everywhere: diagnostics, diffs,
secret fields. ``get`` never raises (a missing place is None); ``remove`` returns a copy and
leaves its argument alone, copying only along the pointer; ``put`` writes in place and creates
missing objects on the way, because it fills a payload its caller has already copied.
"""
from __future__ import annotations

from typing import Any


def escape(token: Any) -> str:
    """One reference token (``~`` and ``/`` escaped)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def join(pointer: str, *tokens: Any) -> str:
    return pointer + "".join("/" + escape(t) for t in tokens)


def split(pointer: str) -> list[str]:
    """Reference tokens of ``pointer`` (unescaped); ``""`` is the root."""
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def get(doc: Any, pointer: str) -> Any:
    """The value at ``pointer``, or None when any step is missing."""
    for token in split(pointer):
        doc = _child(doc, token)
        if doc is None:
            return None
    return doc


def put(doc: Any, pointer: str, value: Any) -> None:
    """Set the value at ``pointer`` in place; missing objects on the way are created."""
    *parents, last = split(pointer)
    for token in parents:
        child = _child(doc, token)
        if child is None:
            child = doc[token] = {}
        doc = child
    if isinstance(doc, list):
        doc[int(last)] = value
    else:
        doc[last] = value


def remove(doc: Any, pointer: str) -> Any:
    """Copy of ``doc`` without the value at ``pointer`` (``doc`` itself when it has none)."""
    tokens = split(pointer)
    if not tokens or _child(doc, tokens[0]) is None:
        return doc
    head, rest = tokens[0], join("", *tokens[1:])
    if isinstance(doc, list):
        index = int(head)
        return doc[:index] + ([] if not rest else [remove(doc[index], rest)]) + doc[index + 1:]
    copy = dict(doc)
    if rest:
        copy[head] = remove(copy[head], rest)
    else:
        del copy[head]
    return copy


def _child(doc: Any, token: str) -> Any:
    if isinstance(doc, dict):
        return doc.get(token)
    if isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
        return doc[int(token)]
    return None
