"""Pacing a client's parallel workers by the server's ``Ratelimit-Remaining``, so they never run into 429s.

Atlas sends ``Ratelimit-Limit`` and ``Ratelimit-Remaining`` on every answer (recorded: 1200 and a
count falling by one per call). One :class:`Pacer` is shared by every thread of a client: a call
may go out while the last count seen, minus the calls still in flight, stays above ``reserve``.
Below that, workers wait for the answers in flight (each brings a fresh count); when nothing is
in flight, one call goes out after a pause to probe the bucket, and the pause doubles while
the bucket stays low. Until the first answer, calls go one at a time (a burst could spend a
small budget before its size is known). Without the headers nothing is paced (the transport
still retries a 429 after ``Retry-After``). The pacer knows nothing of HTTP beyond those two header names.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Mapping

FIRST_PAUSE = 0.5  # seconds before probing a low bucket
MAX_PAUSE = 8.0


class Pacer:
    def __init__(self, reserve: int = 2, clock: Callable[[], float] = time.monotonic,
                 notify: Callable[[str], None] | None = None):
        self.reserve = reserve
        self.clock = clock
        self.notify = notify
        self.limit: int | None = None
        self.remaining: int | None = None  # None: the server sent no budget; nothing is paced
        self.in_flight = 0
        self.answered = False  # has any answer arrived (and told whether there is a budget)?
        self.held_s = 0.0  # total time workers were held back (benchmarks, doctor)
        self._seen_at = 0.0
        self._pause = FIRST_PAUSE
        self._cond = threading.Condition()

    def acquire(self) -> None:
        """Block until a call may go out, then count it as in flight."""
        started = self.clock()
        told = False
        with self._cond:
            while not self._may_send():
                if not told and self.notify is not None and self.remaining is not None:
                    told = True
                    self.notify(f"rate limit: {self.remaining} of {self.limit} calls left; pacing requests")
                if self.in_flight:
                    self._cond.wait(timeout=1.0)
                else:
                    self._cond.wait(timeout=max(0.0, self._seen_at + self._pause - self.clock()))
                    if self.in_flight == 0 and self.clock() >= self._seen_at + self._pause:
                        self._pause = min(self._pause * 2, MAX_PAUSE)
                        break  # probe: one call learns whether the bucket refilled
            self.in_flight += 1
            self.held_s += self.clock() - started

    def release(self, headers: Mapping[str, str] | None) -> None:
        """A call came back (``headers`` None: no answer); take its count into account."""
        with self._cond:
            self.in_flight = max(0, self.in_flight - 1)
            self.answered = self.answered or headers is not None
            remaining = _int((headers or {}).get("Ratelimit-Remaining"))
            if remaining is not None:
                if self.remaining is None or remaining > self.remaining or remaining > self.reserve:
                    self._pause = FIRST_PAUSE  # refilled (or never low): the next low spell starts short
                self.remaining = remaining
                self.limit = _int((headers or {}).get("Ratelimit-Limit")) or self.limit
                self._seen_at = self.clock()
            self._cond.notify_all()

    def _may_send(self) -> bool:
        if not self.answered:
            return self.in_flight == 0
        return self.remaining is None or self.remaining - self.in_flight > self.reserve


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
