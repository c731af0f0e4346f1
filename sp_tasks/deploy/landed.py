"""Did a write land? How the executor reads back after an answer that leaves it unclear. Pure
predicates over API documents, plus the idempotent forms of delete and existence.

Writes are never blindly retried: after a 5xx or a lost answer the executor reads the object and
asks these whether the write took effect, then decides again (reference §7.2).
"""
from __future__ import annotations

from typing import Any, Callable

from sp_tasks.errors import AtlasNotFound, AtlasUnavailable
from sp_tasks.planning.normalize import same


def still_working(err: Exception) -> bool:
    """504 STREAM_PROCESSOR_TIMEOUT or a lost answer: the operation may still complete, so poll
    for the state instead of deciding now (reference §7.2)."""
    return isinstance(err, AtlasUnavailable) or getattr(err, "status", 0) == 504


def processor_matches(live: dict[str, Any], body: dict[str, Any]) -> bool:
    """Did a PATCH land? Compare what it meant to set (pipeline, options, tier), canonically."""
    wanted = {k: v for k, v in body.items() if k != "options"}
    options = {k: v for k, v in (body.get("options") or {}).items() if k != "resumeFromCheckpoint" and v != {}}
    have = {k: live.get(k) for k in wanted}
    return same(have, wanted) and same({k: (live.get("options") or {}).get(k) for k in options}, options)


def connection_matches(live: dict[str, Any], payload: dict[str, Any]) -> bool:
    """Did a connection PATCH land? Compare the non-secret fields it sent (``payload``: no secrets)."""
    sent = {k: v for k, v in payload.items() if k not in ("name", "type")}
    return same({k: live.get(k) for k in sent}, sent)


def exists(read: Callable[[str], Any], name: str) -> bool:
    try:
        read(name)
        return True
    except AtlasNotFound:
        return False


def idempotent_delete(delete: Callable[[], None]) -> tuple[str, str]:
    try:
        delete()
        return "done", ""
    except AtlasNotFound:
        return "already-done", "was already gone"
