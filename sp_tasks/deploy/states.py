"""Processor states for many waits at once: one list call answers every wait that asks meanwhile.

While the executor waits for several processors together (a phase's parallel chains, each
waiting for its processor to be CREATED, STARTED or STOPPED), each wait polling GET
.../processors/{name} on its own backoff costs about seven reads per processor with Atlas's
delays. Here a wait's read is answered by a list read (one call per page of 500) when other
waits are running too: by the newest one that started after this wait began (so a wait never
sees a state from before its own write) and at most ``FRESH`` seconds before it asked; otherwise
it lists itself, and the waits that ask while that call runs share its answer. A lone wait reads
its one processor with GET: a whole list costs more than one document.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from sp_tasks.deploy import waiting

# How old a list read may be and still answer a poll: well under the waits' first poll interval
# after the first few, so batching adds at most this much to noticing a settled state.
FRESH = 0.25
ABSENT = waiting.Reading(None)


class ProcessorStates:
    """Shared by the threads of one apply; ``waiting()`` brackets each wait, ``reader(name)`` polls."""

    def __init__(self, client, clock):
        self.client, self.clock = client, clock
        self._cond = threading.Condition()
        self._waits = 0
        self._started = 0  # list reads started so far (their sequence numbers)
        self._in_flight: int | None = None  # sequence number of the list read running now
        self._latest = (0, float("-inf"), {})  # newest finished list read: (seq, started at, states)
        self.list_calls = 0

    @contextmanager
    def waiting(self) -> Iterator[None]:
        with self._cond:
            self._waits += 1
        try:
            yield
        finally:
            with self._cond:
                self._waits -= 1

    def reader(self, name: str) -> Callable[[], str | None]:
        """A read of ``name``'s state (None = absent) that only trusts list reads started from now on."""
        read = self.readings(name)
        return lambda: read().state

    def readings(self, name: str) -> Callable[[], waiting.Reading]:
        """As :meth:`reader`, the whole reading: state and any transition under way."""
        with self._cond:
            since = self._started
        return lambda: self._reading(name, since)

    def _reading(self, name: str, since: int) -> waiting.Reading:
        with self._cond:
            alone = self._waits <= 1
        if alone:
            return waiting.processor_reading(self.client, name)
        asked = self.clock.monotonic()
        shared = 0
        with self._cond:
            while True:
                seq, at, states = self._latest
                if seq > since and (at >= asked - FRESH or seq == shared):
                    return states.get(name, ABSENT)
                if self._in_flight is None:
                    break
                # A read in flight answers when it started after this wait began (else list next).
                shared = self._in_flight if self._in_flight > since else 0
                self._cond.wait()
            self._started += 1
            mine = self._in_flight = self._started
            self.list_calls += 1
        started = self.clock.monotonic()
        try:
            docs = self.client.list_processors(include_locks=True)
        finally:
            with self._cond:
                self._in_flight = None
                self._cond.notify_all()
        found = {d.get("name"): waiting.Reading.of(d) for d in docs}
        with self._cond:
            if mine > self._latest[0]:
                self._latest = (mine, started, found)
        return found.get(name, ABSENT)
