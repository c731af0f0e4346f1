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

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Reading:
    """A processor as one read saw it: its state (None: absent) and stats.status, which alone tells
    that a start or stop is under way while the state still shows the old value (see under_way)."""

    state: str | None
    status: str | None = None

    @classmethod
    def of(cls, doc: dict[str, Any] | None) -> "Reading":
        return cls(None) if doc is None else cls(doc.get("state"), (doc.get("stats") or {}).get("status"))

    @property
    def verb(self) -> str | None:
        """What it is doing, "starting", "stopping" or "being created"; None when settled."""
        if self.status == "starting" and self.state in ("CREATED", "STOPPED", "FAILED"):
            return "starting"
        if self.status == "stopping" and self.state == "STARTED":
            return "stopping"
        return "being created" if self.state in CREATING_STATES else None

    @property
    def transition(self) -> str | None:
        """"STOPPED → STARTED under way", or None when settled."""
        target = {"starting": "STARTED", "stopping": "STOPPED", "being created": "CREATED"}.get(self.verb or "")
        return f"{self.state} → {target} under way" if target else None

    def __str__(self) -> str:  # "starting (STOPPED → STARTED under way)", "STOPPED", "absent"
        return f"{self.verb} ({self.transition})" if self.verb else self.state or "absent"


def processor_reading(client, name: str) -> Reading:
    """One GET of a processor: its state and any transition under way."""
    try:
        return Reading.of(client.get_processor(name))
    except AtlasNotFound:
        return Reading(None)


def processor_state(client, name: str) -> str | None:
    """Current state of a processor, or None when it does not exist."""
    return processor_reading(client, name).state


def wait_for_processor(client, name: str, wanted: str, *, clock, timeout: float,
                       progress: Progress | None = None, read: Callable[[], Reading] | None = None) -> None:
    """Poll ``name`` (``read``, e.g. a shared list read from deploy/states.py) until it is ``wanted``.
    The heartbeat and a timeout name the transition under way, not the state it is leaving."""
    def failed(seen: Reading) -> str | None:
        if seen.state == "FAILED" and wanted != "FAILED" and not seen.verb:
            return f"processor {name} went FAILED while waiting for {wanted}"
        if seen.state is None:
            return f"processor {name} no longer exists"
        return None

    _wait_for_reading(client, name, read, lambda r: r.state == wanted, f"processor {name} to be {wanted}",
                      clock=clock, timeout=timeout, failed=failed, progress=progress)


def wait_for_start_to_end(client, name: str, *, clock, timeout: float, progress: Progress | None = None,
                          read: Callable[[], Reading] | None = None) -> Reading:
    """A start under way (sent by someone else, or a killed deployer): wait until it has ended,
    STARTED or FAILED, before anything that would race it (a stop). Returns what it ended in."""
    return _wait_for_reading(client, name, read, lambda r: r.verb != "starting",
                             f"processor {name} to finish starting", clock=clock, timeout=timeout, progress=progress)


def wait_for_processor_created(client, name: str, *, clock, timeout: float, progress: Progress | None = None,
                               read: Callable[[], Reading] | None = None) -> str | None:
    """After create: wait past INIT/CREATING; returns the settled state (CREATED, or FAILED)."""
    def failed(seen: Reading) -> str | None:
        return f"processor {name} disappeared while it was being created" if seen.state is None else None

    return _wait_for_reading(client, name, read, lambda r: r.state is not None and r.state not in CREATING_STATES,
                             f"processor {name} to be created", clock=clock, timeout=timeout, failed=failed,
                             progress=progress).state


def _wait_for_reading(client, name: str, read: Callable[[], Reading] | None, done: Callable[[Reading], bool],
                      what: str, *, clock, timeout: float, progress: Progress | None = None,
                      failed: Callable[[Reading], str | None] = lambda _: None) -> Reading:
    """wait_until over processor readings; the heartbeat adds the transition the last one showed."""
    seen: list[Reading] = []

    def reading() -> Reading:
        seen[:] = [(read or (lambda: processor_reading(client, name)))()]
        return seen[0]

    def heard() -> str:
        return what + (f" ({seen[0].transition})" if seen and seen[0].transition else "")

    return wait_until(reading, done, what=what, clock=clock, timeout=timeout, failed=failed, progress=progress,
                      heard=heard)


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
    verb = Reading(processor.state, (processor.stats or {}).get("status")).verb
    return f"{processor.state}, {_ACTS[verb]} under way" if verb else None


_ACTS = {"starting": "a start", "stopping": "a stop"}


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
