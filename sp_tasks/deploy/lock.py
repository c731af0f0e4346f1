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
breaking a stale lock can never delete a lock someone else just took. A just-created processor is
INIT/CREATING for a moment and Atlas may refuse or lose a modify meanwhile, so the lock is held
only once it reads CREATED. A lease is stale once it expired (the holder refreshes it every
``HEARTBEAT`` seconds) or when its holder was on this machine and its process is gone. A refused
update is never ignored: recording the intent fails the flow before any change, and a refused
heartbeat is reported, then loses the lease before it can run out unnoticed. ``invoke unlock``
deletes every lock processor. The lock is never a user processor: ``fetch_live`` keeps it out of
the processors planned, shown and snapshotted, and hands it over in ``LiveState.extra["locks"]``.
"""
from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sp_tasks.deploy import holder, waiting
from sp_tasks.errors import (AtlasApiError, AtlasConflict, AtlasNotFound, AtlasUnavailable, DeployError, LockHeld,
                             WaitTimeout)
from sp_tasks.model import LOCK_SUFFIX

TTL = 300.0  # seconds a lease lasts without a heartbeat (generous: clocks of two machines differ)
HEARTBEAT = 60.0
NOTE_TRIES = 3  # a transient refusal of the intent is sent again (an idempotent whole-pipeline PATCH)
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


def new_record(now: datetime, intent: dict[str, Any], *, ttl: float = TTL) -> dict[str, Any]:
    return {"token": uuid.uuid4().hex, **holder.this_machine(), "started_at": now.strftime(STAMP),
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
        expires = _stamp(record["expires_at"])
    except (KeyError, TypeError, ValueError):
        return "unreadable lease"
    if expires <= now:
        return f"expired at {record['expires_at']}"
    mine = holder.this_machine()
    here = (record.get("host"), record.get("boot_id")) == (mine["host"], mine["boot_id"])
    if here and not holder.alive(record.get("pid")):
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
    record: dict[str, Any]  # as Atlas holds it: only a write that succeeded changes it
    clock: Any
    ttl: float = TTL
    on_lost: Callable[[str], None] = lambda why: None
    warn: Callable[[str], None] = lambda line: None  # a refused refresh or release, said as it happens
    every: float = HEARTBEAT
    lost: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _writing: threading.Lock = field(default_factory=threading.Lock)  # note() and the heartbeat both write

    @property
    def token(self) -> str:
        return self.record["token"]

    def note(self, **intent: Any) -> None:
        """Add to the recorded intent (e.g. the snapshot path once saved) and refresh. It comes before
        any change, so a refusal stops the flow there: DeployError, nothing changed."""
        for attempt in range(NOTE_TRIES):
            try:
                return self._write(intent)
            except AtlasNotFound:
                self._lose(f"the deploy lock {self.name} was broken (invoke unlock, or taken over after expiring)")
                raise DeployError(f"{self.lost}; nothing was changed") from None
            except (AtlasApiError, AtlasUnavailable) as err:
                if attempt + 1 == NOTE_TRIES or not _transient(err):
                    raise DeployError(f"Atlas refused to record the deploy's intent in the deploy lock {self.name} "
                                      f"({err}); nothing was changed: run the command again") from None
                self.clock.sleep(2.0 ** attempt)

    def refresh(self) -> bool:
        """Extend the lease; False (and ``on_lost``) when the lock was broken meanwhile, or when it
        could not be extended and would run out before the next beat."""
        try:
            self._write({})
        except AtlasNotFound:
            self._lose(f"the deploy lock {self.name} was broken (invoke unlock, or taken over after expiring)")
            return False
        except (AtlasApiError, AtlasUnavailable) as err:
            left = (_stamp(self.record["expires_at"]) - self.clock.now()).total_seconds()
            if left <= self.every:
                self._lose(f"could not extend the deploy lock {self.name} ({err}) and its lease ends at "
                           f"{self.record['expires_at']}: stopping before another deploy may take it")
                return False
            self.warn(f"could not extend the deploy lock {self.name} ({err}); its lease holds until "
                      f"{self.record['expires_at']}, trying again in {self.every:g} s")
        return True

    def _write(self, intent: dict[str, Any]) -> None:
        with self._writing:
            record = {**self.record, **intent,
                      "expires_at": (self.clock.now() + timedelta(seconds=self.ttl)).strftime(STAMP)}
            self.client.modify_processor(self.name, {"pipeline": lock_pipeline(record)})
            self.record = record

    def start_heartbeat(self, every: float | None = None) -> "Lease":
        self.every = every or self.every

        def beat() -> None:
            while not self._stop.wait(self.every):
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
        except AtlasNotFound:
            pass
        except (AtlasApiError, AtlasUnavailable) as err:
            self.warn(f"could not remove the deploy lock {self.name} ({err}); it expires at "
                      f"{self.record['expires_at']}, or run `invoke unlock`")

    def _lose(self, why: str) -> None:
        self.lost = why
        self.on_lost(why)


def acquire(client, intent: dict[str, Any], *, clock, ttl: float = TTL,
            lock_docs: list[dict[str, Any]] | None = None, progress: waiting.Progress | None = None) -> Lease:
    """Take the lock or raise LockHeld; returns once the lock processor is CREATED.
    ``lock_docs``: the lock processors as just listed."""
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
    _settle(client, name, clock, progress)
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
            taker = read_record(client.get_processor(name)).get("token")
        except AtlasNotFound:
            taker = None
        if taker == record["token"]:
            return  # it landed
        if taker is None and tries > 1:
            return _create(client, name, record, tries=tries - 1)
        raise LockHeld(f"could not take the workspace lock {name} ({err}); nothing was sent") from None


def _settle(client, name: str, clock, progress) -> None:
    """Wait past INIT/CREATING: a modify sent meanwhile may be refused or lost (waiting.py)."""
    try:
        state = waiting.wait_for_processor_created(client, name, clock=clock, timeout=waiting.SETTLE_TIMEOUT,
                                                   progress=progress)
    except WaitTimeout as err:
        state = str(err)
    if state != "CREATED":
        _delete_quietly(client, name)
        raise LockHeld(f"could not take the workspace lock {name}: {state}, not CREATED; nothing was sent")


def _delete_quietly(client, name: str) -> None:
    try:
        client.delete_processor(name)
    except (AtlasNotFound, AtlasApiError, AtlasUnavailable):
        pass


def _transient(err: Exception) -> bool:
    """Worth sending the same lock update again: Atlas did not answer, or answered 429/5xx."""
    return isinstance(err, AtlasUnavailable) or getattr(err, "status", 0) in (429, 500, 502, 503, 504)


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, STAMP).replace(tzinfo=timezone.utc)


def _generation(name: str) -> int:
    match = NAME.match(name or "")
    return int(match.group(1)) if match else 0
