"""Time as an injected effect: the Clock protocol, the real SystemClock and a FakeClock for tests.

Code that waits or samples (profiling, waiting for a state, retries) takes a ``clock`` argument
instead of calling :mod:`time` directly, so tests run in zero wall-clock time and stay
deterministic. ``monotonic()`` measures elapsed time; ``now()`` stamps records (UTC, aware).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware UTC."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (negative values count as zero)."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


EPOCH_2025 = datetime(2025, 1, 1, tzinfo=timezone.utc)


class FakeClock:
    """A clock that only moves when told: ``sleep`` advances it instantly.

    ``on_sleep`` (optional) is called with the new monotonic time after each sleep, which lets
    a test change the world (counters, states) as time passes.
    """

    def __init__(self, start: datetime = EPOCH_2025, on_sleep: Callable[[float], None] | None = None):
        self._t = 0.0
        self._start = start
        self.on_sleep = on_sleep
        self.sleeps: list[float] = []  # every requested sleep, for assertions

    def monotonic(self) -> float:
        return self._t

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._t)

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep (e.g. a slow API call)."""
        self._t += max(0.0, seconds)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep(self._t)
