"""The deploy lock: one deploy or rollback at a time per workspace, across machines.

The Atlas Admin API is the only store two CI runners, or a laptop and CI, share, so the lock lives
in the workspace itself: a processor that is never started, named ``sp-tasks-<generation>__lock``,
whose definition carries the lease and the intent of its holder::

    [{"$source": {"documents": [{"sp_tasks_lock": {"token", "owner", "host", "boot_id", "pid",
        "started_at", "expires_at", "operation", "strategy", "environment", "revision",
        "snapshot", "processors": {name: _id before the deploy}}}]}},
     {"$emit": {"connectionName": "__testLog"}}]

A valid ``$source`` first and a sink last, as Atlas requires of every processor (reference §8.1);
the document source and the test-log sink need no connection, and a processor that is never
started costs nothing (guesses in ``atlas.unconfirmed.LOCK_PROCESSOR``).

Taking the lock creates generation n+1 above the newest one seen: the create is atomic (a name
exists once; 409 otherwise), so of two deployers that saw the same state exactly one wins, and
breaking a stale lock can never delete a lock someone else just took. A lease is stale once it
expired (the holder refreshes it every ``HEARTBEAT`` seconds) or when its holder was on this
machine and its process is gone. ``invoke unlock`` deletes every lock processor. The lock is
never a user processor: ``fetch_live`` keeps it out of the processors planned, shown and
snapshotted, and hands it over in ``LiveState.extra["locks"]``.
"""
from __future__ import annotations

import getpass
import os
import re
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from sp_tasks.errors import AtlasApiError, AtlasConflict, AtlasNotFound, AtlasUnavailable, LockHeld
from sp_tasks.model import LOCK_SUFFIX

TTL = 300.0  # seconds a lease lasts without a heartbeat (generous: clocks of two machines differ)
HEARTBEAT = 60.0
KEY = "sp_tasks_lock"
NAME = re.compile(r"^sp-tasks-(\d+)" + re.escape(LOCK_SUFFIX) + "$")
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def lock_name(generation: int) -> str:
    return f"sp-tasks-{generation}{LOCK_SUFFIX}"


def lock_pipeline(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"$source": {"documents": [{KEY: record}]}}, {"$emit": {"connectionName": "__testLog"}}]


def read_record(doc: dict[str, Any]) -> dict[str, Any]:
    """The lease/intent a lock processor carries ({} when it is not one we can read)."""
    try:
        record = doc["pipeline"][0]["$source"]["documents"][0][KEY]
    except (KeyError, IndexError, TypeError):
        return {}
    return record if isinstance(record, dict) else {}


def this_machine() -> dict[str, Any]:
    return {"owner": _owner(), "host": socket.gethostname(), "boot_id": _boot_id(), "pid": os.getpid()}


def new_record(now: datetime, intent: dict[str, Any], *, ttl: float = TTL) -> dict[str, Any]:
    return {"token": uuid.uuid4().hex, **this_machine(), "started_at": now.strftime(STAMP),
            "expires_at": (now + timedelta(seconds=ttl)).strftime(STAMP), **intent}


def status(lock_docs: list[dict[str, Any]], now: datetime, own_token: str = "") -> dict[str, Any] | None:
    """The newest lock as the plan shows it: its record plus ``name``, ``generation``, ``ours``,
    ``live`` (held by a running deploy that is not us) and ``stale_because``; None when unlocked."""
    locks = sorted(((_generation(d["name"]), d) for d in lock_docs if _generation(d.get("name", ""))),
                   key=lambda pair: pair[0])
    if not locks:
        return None
    generation, doc = locks[-1]
    record = read_record(doc)
    why = stale_because(record, now)
    ours = bool(own_token) and record.get("token") == own_token
    return {**record, "name": doc["name"], "generation": generation, "ours": ours,
            "live": not why and not ours, "stale_because": why}


def stale_because(record: dict[str, Any], now: datetime) -> str:
    """Why a lease no longer holds ("" when it does)."""
    try:
        expires = datetime.strptime(record["expires_at"], STAMP).replace(tzinfo=timezone.utc)
    except (KeyError, TypeError, ValueError):
        return "unreadable lease"
    if expires <= now:
        return f"expired at {record['expires_at']}"
    mine = this_machine()
    if (record.get("host"), record.get("boot_id")) == (mine["host"], mine["boot_id"]) and not _alive(record.get("pid")):
        return f"its process {record.get('pid')} on this machine is gone"
    return ""


def describe(lock: dict[str, Any]) -> str:
    what = f"{lock.get('strategy') or ''} {lock.get('operation') or 'deploy'}".strip()
    return (f"a {what} by {lock.get('owner', '?')} on {lock.get('host', '?')} (pid {lock.get('pid', '?')}, "
            f"since {lock.get('started_at', '?')}, lease until {lock.get('expires_at', '?')})")


@dataclass
class Lease:
    """A held lock: refreshed by a heartbeat thread until released."""

    client: Any
    name: str
    record: dict[str, Any]
    clock: Any
    ttl: float = TTL
    on_lost: Callable[[str], None] = lambda why: None
    lost: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def token(self) -> str:
        return self.record["token"]

    def note(self, **intent: Any) -> None:
        """Add to the recorded intent (e.g. the snapshot path once saved) and refresh."""
        self.record.update(intent)
        self.refresh()

    def refresh(self) -> bool:
        """Extend the lease; False (and ``on_lost``) when the lock was broken meanwhile."""
        record = {**self.record, "expires_at": (self.clock.now() + timedelta(seconds=self.ttl)).strftime(STAMP)}
        try:
            self.client.modify_processor(self.name, {"pipeline": lock_pipeline(record)})
        except AtlasNotFound:
            self._lose(f"the deploy lock {self.name} was broken (invoke unlock, or taken over after expiring)")
            return False
        except (AtlasApiError, AtlasUnavailable):
            return True  # transient: the lease still runs; the next beat tries again
        self.record = record
        return True

    def start_heartbeat(self, every: float = HEARTBEAT) -> "Lease":
        def beat() -> None:
            while not self._stop.wait(every):
                if not self.refresh():
                    return

        self._thread = threading.Thread(target=beat, name=f"lease {self.name}", daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.lost:
            return
        try:
            self.client.delete_processor(self.name)
        except (AtlasNotFound, AtlasApiError, AtlasUnavailable):
            pass  # gone already, or left to expire: the next deployer sees it stale

    def _lose(self, why: str) -> None:
        self.lost = why
        self.on_lost(why)


def acquire(client, intent: dict[str, Any], *, clock, ttl: float = TTL,
            lock_docs: list[dict[str, Any]] | None = None) -> Lease:
    """Take the lock or raise LockHeld. ``lock_docs``: the lock processors as just listed."""
    docs = lock_docs if lock_docs is not None else [d for d in client.list_processors(include_locks=True)
                                                    if _generation(d.get("name", ""))]
    now = clock.now()
    held = status(docs, now)
    if held and held["live"]:
        raise LockHeld(f"the workspace is locked by {describe(held)}; wait for it to finish, or if it is dead run "
                       f"`invoke unlock --env {intent.get('environment', 'E')}`; nothing was sent")
    name = lock_name((held["generation"] if held else 0) + 1)
    record = new_record(now, intent, ttl=ttl)
    _create(client, name, record)
    for doc in docs:  # stale generations: ours now supersedes them
        _delete_quietly(client, doc["name"])
    return Lease(client, name, record, clock, ttl)


def break_locks(client) -> list[dict[str, Any]]:
    """Delete every lock processor (``invoke unlock``); returns what was deleted, as read."""
    docs = [d for d in client.list_processors(include_locks=True) if _generation(d.get("name", ""))]
    for doc in docs:
        _delete_quietly(client, doc["name"])
    return docs


def clear_before_workspace_delete(runner, live) -> None:
    """Deleting a whole workspace: a running deploy's lock refuses it; a stale one goes first (Atlas
    refuses to delete a workspace that still has processors, and the lock is one)."""
    held = runner.lock_status(live)
    if held and held["live"]:
        raise LockHeld(f"the workspace is locked by {describe(held)}; wait for it to finish before deleting it")
    break_locks(runner.client)


def _create(client, name: str, record: dict[str, Any], *, tries: int = 2) -> None:
    """POST the lock; an unclear answer (5xx, lost) is settled by reading, then one more try."""
    try:
        client.create_processor({"name": name, "pipeline": lock_pipeline(record)})
    except AtlasConflict:
        raise LockHeld("another deploy took the workspace lock at the same moment; nothing was sent: plan "
                       "again once it has finished") from None
    except (AtlasApiError, AtlasUnavailable) as err:
        if isinstance(err, AtlasApiError) and err.status < 500:
            raise
        try:
            holder = read_record(client.get_processor(name)).get("token")
        except AtlasNotFound:
            holder = None
        if holder == record["token"]:
            return  # it landed
        if holder is None and tries > 1:
            return _create(client, name, record, tries=tries - 1)
        raise LockHeld(f"could not take the workspace lock {name} ({err}); nothing was sent") from None


def _delete_quietly(client, name: str) -> None:
    try:
        client.delete_processor(name)
    except (AtlasNotFound, AtlasApiError, AtlasUnavailable):
        pass


def _generation(name: str) -> int:
    match = NAME.match(name or "")
    return int(match.group(1)) if match else 0


def _owner() -> str:
    actor, run = os.environ.get("GITHUB_ACTOR"), os.environ.get("GITHUB_RUN_ID")
    if actor and run:
        return f"{actor} (GitHub Actions run {run})"
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _boot_id() -> str:
    """Tells two machines (or two boots) with the same host name apart for the dead-process check."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True  # cannot tell: only the expiry decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
