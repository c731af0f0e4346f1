"""Asynchronous lifecycles: how long each Atlas transition takes, and the transitions still pending.

Real Atlas answers before a resource has settled (Terraform's provider polls past each of these):
a created processor is ``INIT`` then ``CREATING`` before ``CREATED``; after ``:start`` it keeps
its state (``CREATED``/``STOPPED``) until it is ``STARTED``; after ``:stop`` it stays
``STARTED`` until ``STOPPED`` (checkpointing; minutes for big state); a connection with private
networking is ``PENDING`` before ``READY`` and ``DELETING`` before it is gone (404). A public
Kafka connection answered ``READY`` at once in the real recordings, so public connections settle
immediately unless the ``public_connection_*`` delays say otherwise.

A pending transition is a list of ``[state, due]`` steps kept in the resource document under
``PENDING`` (never shown to clients) and indexed here by due time; the backend applies due
steps before every request and from a ticker thread, so a transition happens on time whether
or not anyone is polling. A delay of 0 applies the transition inside the request, as before.
"""
from __future__ import annotations

import threading
from typing import Any

from sp_tasks.emulator import errors

PENDING = "_pending"  # document key of the pending steps; stripped from every response
GONE = "(gone)"  # final "state" of a deletion: the row is removed
# Seconds per transition: short but real, so clients that do not wait are caught.
DEFAULT_DELAYS: dict[str, float] = {
    "processor_create": 0.5,  # INIT -> CREATING -> CREATED
    "processor_start": 1.0,  # CREATED/STOPPED -> STARTED
    "processor_stop": 1.0,  # STARTED -> STOPPED
    "private_connection_create": 2.0,  # PENDING -> READY (VPC, PrivateLink, transit gateway)
    "private_connection_delete": 1.0,  # DELETING -> 404
    "public_connection_create": 0.0,  # recorded: READY in the create answer
    "public_connection_delete": 0.0,  # recorded: 202 {} and no DELETING seen
}
ZERO_DELAYS = dict.fromkeys(DEFAULT_DELAYS, 0.0)


def parse_delays(spec: Any, base: dict[str, float] | None = None) -> dict[str, float]:
    """``{"processor_start": 2, …}`` (or ``"zero"``/``"default"``) merged over ``base``."""
    if spec == "zero":
        return dict(ZERO_DELAYS)
    if spec == "default":
        return dict(DEFAULT_DELAYS)
    if not isinstance(spec, dict):
        raise errors.validation('lifecycle must be "zero", "default" or an object of transition: seconds')
    out = dict(base if base is not None else DEFAULT_DELAYS)
    for key, value in spec.items():
        if key not in DEFAULT_DELAYS:
            raise errors.validation(f"unknown lifecycle transition {key!r}; known: {', '.join(DEFAULT_DELAYS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
            raise errors.validation(f"lifecycle.{key} must be a number of seconds between 0 and 3600")
        out[key] = float(value)
    return out


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as clients see it (no bookkeeping)."""
    return {k: v for k, v in doc.items() if k != PENDING} if PENDING in doc else doc


def pending_target(doc: dict[str, Any]) -> str | None:
    """The state a pending transition ends in (``STARTED``, ``STOPPED``, ``READY``, GONE…)."""
    steps = (doc.get(PENDING) or {}).get("steps")
    return steps[-1][0] if steps else None


def private_networking(doc: dict[str, Any]) -> bool:
    for key in ("networking", "publicPrivateNetworking"):
        access = ((doc.get(key) or {}).get("access") or {}).get("type")
        if access and access != "PUBLIC":
            return True
    return False


class Schedule:
    """Index of resources with pending steps: key -> next due time (wall clock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[tuple[str, str, str, str], float] = {}

    def add(self, key: tuple[str, str, str, str], doc: dict[str, Any]) -> None:
        steps = (doc.get(PENDING) or {}).get("steps")
        with self._lock:
            if steps:
                self._due[key] = steps[0][1]
            else:
                self._due.pop(key, None)

    def due(self, now: float) -> list[tuple[str, str, str, str]]:
        with self._lock:
            return [k for k, at in self._due.items() if at <= now]

    def next_due(self) -> float | None:
        with self._lock:
            return min(self._due.values(), default=None)

    def clear(self) -> None:
        with self._lock:
            self._due.clear()


def advance(doc: dict[str, Any], now: float) -> tuple[dict[str, Any], list[str]]:
    """Apply the steps of ``doc`` due by ``now``: (new document, states entered in order)."""
    pending = dict(doc.get(PENDING) or {})
    steps = list(pending.get("steps") or [])
    entered = []
    while steps and steps[0][1] <= now:
        state, _ = steps.pop(0)
        entered.append(state)
    out = {k: v for k, v in doc.items() if k != PENDING}
    if entered and entered[-1] != GONE:
        out["state"] = entered[-1]
    if steps:
        out[PENDING] = {**pending, "steps": steps}
    return out, entered


def schedule(doc: dict[str, Any], now: float, steps: list[tuple[str, float]], **extra: Any) -> dict[str, Any]:
    """``doc`` with ``steps`` (state, seconds from now) pending; ``extra`` rides along (e.g. resume)."""
    at, timed = now, []
    for state, seconds in steps:
        at += seconds
        timed.append([state, at])
    return {**doc, PENDING: {"steps": timed, **extra}}
