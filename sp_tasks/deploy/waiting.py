"""Waiting for Atlas to settle: polling with backoff, bounded, heard while it lasts, clear when it ends.

Atlas answers before a resource has settled (recorded-atlas/README.md, Terraform's provider): a
created processor is INIT/CREATING before CREATED, start and stop answer before STARTED/STOPPED
(stop checkpoints state: minutes for big ones), a connection with private networking is PENDING
before READY and DELETING before it is gone, and deleting a Kafka connection still deploying
answers 409 STREAM_KAFKA_CONNECTION_IS_DEPLOYING. Every step that needs a settled state waits
here. A wait is never silent: given a ``progress`` callable, it says "still waiting for X to be
STOPPED (15 s)" as the console's :class:`~sp_tasks.console.Heartbeat` schedules it, and a
timeout names the resource, the state it was left in and what was wanted. The clock is
injected: tests run these loops in zero wall-clock time.
"""
from __future__ import annotations

from typing import Any, Callable

from sp_tasks.console import Heartbeat
from sp_tasks.errors import AtlasConflict, AtlasNotFound, WaitTimeout

FIRST_POLL = 0.1
MAX_POLL = 2.0
SETTLE_TIMEOUT = 300.0
KAFKA_DEPLOYING = "STREAM_KAFKA_CONNECTION_IS_DEPLOYING"
CREATING_STATES = ("INIT", "CREATING")
# Visible states that mean "a transition is under way" (STARTING/STOPPING are not documented, but
# would mean the same; reference §5.3).
PROCESSOR_TRANSITIONS = ("INIT", "CREATING", "STARTING", "STOPPING")
CONNECTION_TRANSITIONS = ("PENDING", "DELETING")

Progress = Callable[[str], None]


def wait_until(read: Callable[[], Any], done: Callable[[Any], bool], *, what: str, clock,
               timeout: float, failed: Callable[[Any], str | None] = lambda _: None,
               progress: Progress | None = None, heard: Callable[[], str] | None = None) -> Any:
    """Call ``read`` until ``done(value)``; raise WaitTimeout, or the error text ``failed`` returns.
    ``what`` reads after "waiting for" ("processor p to be STARTED"); ``heard``, when given, is
    what the heartbeat says instead (a subject that changes while waiting)."""
    deadline = clock.monotonic() + timeout
    beat = Heartbeat(heard or what, clock, progress) if progress else None
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
        now = clock.monotonic()
        if now >= deadline:
            raise WaitTimeout(f"gave up waiting for {what} after {timeout:g} s: it is still {_describe(value)}; "
                              "check it in Atlas, then run the command again")
        clock.sleep(min(delay, max(0.0, deadline - now)))
        delay = min(delay * 2, MAX_POLL)


def processor_state(client, name: str) -> str | None:
    """Current state of a processor, or None when it does not exist."""
    try:
        return client.get_processor(name).get("state")
    except AtlasNotFound:
        return None


def wait_for_processor(client, name: str, wanted: str, *, clock, timeout: float,
                       progress: Progress | None = None, read: Callable[[], str | None] | None = None) -> None:
    """Poll ``name``'s state (``read``, e.g. a shared list read from deploy/states.py) until ``wanted``."""
    def failed(state: str | None) -> str | None:
        if state == "FAILED" and wanted != "FAILED":
            return f"processor {name} went FAILED while waiting for {wanted}"
        if state is None:
            return f"processor {name} no longer exists"
        return None

    wait_until(read or (lambda: processor_state(client, name)), lambda s: s == wanted,
               what=f"processor {name} to be {wanted}",
               clock=clock, timeout=timeout, failed=failed, progress=progress)


def wait_for_processor_created(client, name: str, *, clock, timeout: float, progress: Progress | None = None,
                               read: Callable[[], str | None] | None = None) -> str:
    """After create: wait past INIT/CREATING; returns the settled state (CREATED, or FAILED)."""
    def failed(state: str | None) -> str | None:
        return f"processor {name} disappeared while it was being created" if state is None else None

    return wait_until(read or (lambda: processor_state(client, name)),
                      lambda s: s is not None and s not in CREATING_STATES, what=f"processor {name} to be created",
                      clock=clock, timeout=timeout, failed=failed,
                      progress=progress)


def wait_for_connection_ready(client, name: str, *, clock, timeout: float, progress: Progress | None = None) -> None:
    def failed(doc: dict) -> str | None:
        return f"connection {name} is FAILED; check its settings in Atlas" if doc.get("state") == "FAILED" else None

    wait_until(lambda: client.get_connection(name), lambda d: d.get("state", "READY") == "READY",
               what=f"connection {name} to be READY", clock=clock, timeout=timeout, failed=failed, progress=progress)


def delete_connection(client, name: str, *, clock, timeout: float, progress: Progress | None = None) -> bool:
    """Delete a connection and wait until it is gone; False when it was already absent.
    A Kafka connection still deploying refuses (409, retryable): the delete is sent again."""
    def attempt() -> str:
        try:
            client.delete_connection(name)
            return "sent"
        except AtlasNotFound:
            return "absent"
        except AtlasConflict as err:
            if err.error_code != KAFKA_DEPLOYING:
                raise
            return "deploying"

    outcome = wait_until(attempt, lambda o: o != "deploying", what=f"connection {name} to finish deploying so it "
                         "can be deleted", clock=clock, timeout=timeout, progress=progress)
    if outcome == "absent":
        return False
    wait_until(lambda: _connection_state(client, name), lambda s: s is None, what=f"connection {name} to be deleted",
               clock=clock, timeout=timeout, progress=progress)
    return True


def settled_live(client, *, clock, timeout: float = SETTLE_TIMEOUT, progress: Progress | None = None):
    """``fetch_live`` once nothing visible is mid-transition, so a plan never acts on a half state."""
    seen: list = []

    def read():
        seen[:] = [client.fetch_live()]
        return seen[0]

    def heard() -> str:  # the heartbeat names what is still moving
        moving = unsettled(seen[0]) if seen else []
        return "the workspace to settle" + (f" ({', '.join(moving)})" if moving else "")

    return wait_until(read, lambda live: not unsettled(live), what="the workspace to settle", clock=clock,
                      timeout=timeout, progress=progress, heard=heard)


def unsettled(live) -> list[str]:
    """What in a LiveState is mid-transition, as "kind name (STATE)"."""
    found = [f"processor {p.name} ({under_way(p)})" for p in live.processors if under_way(p)]
    found += [f"connection {c.name} ({c.state})" for c in live.connections if c.state in CONNECTION_TRANSITIONS]
    return found


def under_way(processor) -> str | None:
    """The transition a LiveProcessor is in, or None when it is settled. A start or stop Atlas has
    accepted but not finished leaves ``state`` as it was; stats.status already says starting or
    stopping (unconfirmed.TRANSITION_IN_STATS_STATUS). A plan made then would propose what Atlas
    refuses (a modify during a start) or miss what is about to change (a stop)."""
    if processor.state in PROCESSOR_TRANSITIONS:
        return processor.state
    status = (processor.stats or {}).get("status")
    if status == "starting" and processor.state in ("CREATED", "STOPPED", "FAILED"):
        return f"{processor.state}, a start under way"
    if status == "stopping" and processor.state == "STARTED":
        return "STARTED, a stop under way"
    return None


def _connection_state(client, name: str) -> str | None:
    try:
        return client.get_connection(name).get("state", "READY")
    except AtlasNotFound:
        return None


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("state", "?"))
    if value is None:
        return "absent"
    if hasattr(value, "processors") and hasattr(value, "connections"):
        return ", ".join(unsettled(value)) or "settled"
    return str(value)
