"""Polling until a processor or connection reaches a state, with backoff and a bounded timeout.

Atlas answers start/stop/create before the resource has settled (stop checkpoints state and
can take minutes; connections go PENDING → READY), so every step that needs a settled state
polls here. The clock is injected: tests run these loops in zero wall-clock time. A wait is
never silent: given a ``progress`` callable, it says "still waiting for X to be STOPPED (15 s)" as
the console's :class:`~sp_tasks.console.Heartbeat` schedules it.
"""
from __future__ import annotations

from typing import Any, Callable

from sp_tasks.console import Heartbeat
from sp_tasks.errors import AtlasNotFound, WaitTimeout

FIRST_POLL = 0.1
MAX_POLL = 2.0


def wait_until(read: Callable[[], Any], done: Callable[[Any], bool], *, what: str, clock,
               timeout: float, failed: Callable[[Any], str | None] = lambda _: None,
               progress: Callable[[str], None] | None = None) -> Any:
    """Call ``read`` until ``done(value)``; raise WaitTimeout, or the error text ``failed`` returns."""
    deadline = clock.monotonic() + timeout
    beat = Heartbeat(what, clock, progress) if progress else None
    delay = FIRST_POLL
    while True:
        if beat:
            beat.tick()
        value = read()
        if done(value):
            return value
        problem = failed(value)
        if problem:
            raise WaitTimeout(f"{what}: {problem}")
        if clock.monotonic() >= deadline:
            raise WaitTimeout(f"{what}: still not there after {timeout:g}s (last seen: {_describe(value)})")
        clock.sleep(delay)
        delay = min(delay * 2, MAX_POLL)


def processor_state(client, name: str) -> str | None:
    """Current state of a processor, or None when it does not exist."""
    try:
        return client.get_processor(name).get("state")
    except AtlasNotFound:
        return None


def wait_for_processor(client, name: str, wanted: str, *, clock, timeout: float,
                       progress: Callable[[str], None] | None = None) -> None:
    def failed(state: str | None) -> str | None:
        if state == "FAILED" and wanted != "FAILED":
            return f"processor {name} went FAILED while waiting for {wanted}"
        if state is None:
            return f"processor {name} no longer exists"
        return None

    wait_until(lambda: processor_state(client, name), lambda s: s == wanted,
               what=f"processor {name} to be {wanted}", clock=clock, timeout=timeout, failed=failed, progress=progress)


def wait_for_connection_ready(client, name: str, *, clock, timeout: float,
                              progress: Callable[[str], None] | None = None) -> None:
    def failed(doc: dict) -> str | None:
        return f"connection {name} is FAILED; check its settings in Atlas" if doc.get("state") == "FAILED" else None

    wait_until(lambda: client.get_connection(name), lambda d: d.get("state", "READY") == "READY",
               what=f"connection {name} to be READY", clock=clock, timeout=timeout, failed=failed,
               progress=progress)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("state", "?"))
    return str(value)
