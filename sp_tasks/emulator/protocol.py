"""Atlas's HTTP conventions around every API call: dated-version negotiation and the rate-limit budget.

Versions (recorded-atlas/README.md, reference §1.2): a client names a date in
``Accept: application/vnd.atlas.<YYYY-MM-DD>+json``; Atlas serves the newest version of the
resource at or before that date and names it in the response ``Content-Type``. A request with no
dated version, or a date before the resource's first version, gets 406 INVALID_VERSION_DATE.
Every streams resource has one version in the spec snapshot, so "newest at or before" is that
one whenever the date is not earlier.

Rate limit (recorded: ``Ratelimit-Limit: 1200`` and a ``Ratelimit-Remaining`` that falls by exactly
one per call over 51 s, fresh per project): a budget of ``limit`` calls per project per window,
renewed when the window ends; a call over budget is refused with 429 and ``Retry-After`` (the
seconds to the window's end) before anything is done. The window's length is not documented
(``unconfirmed.RATE_LIMIT_WINDOW_S``); tests set their own.
"""
from __future__ import annotations

import math
import re
import threading
import time
from typing import Callable

from sp_tasks.atlas import unconfirmed
from sp_tasks.emulator import errors

_DATED = re.compile(r"^application/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+(json|gzip)$")
INVALID_VERSION_DATE = "INVALID_VERSION_DATE"


def negotiate(accept: str | None, resource_version: str) -> str:
    """The media type to answer with, or raise the 406 Atlas sends."""
    offered = [part.split(";")[0].strip().lower() for part in (accept or "").split(",")]
    for media in offered:
        match = _DATED.match(media)
        # ISO dates compare correctly as strings.
        if match and match.group(2) == "json" and match.group(1) >= resource_version:
            return f"application/vnd.atlas.{resource_version}+json"
    raise errors.ApiError(406, INVALID_VERSION_DATE, "Invalid accept header or version date.")


class RateBudget:
    """Call budgets per project: ``take(group)`` spends one call or raises the 429."""

    def __init__(self, limit: int = unconfirmed.RATE_LIMIT_CAPACITY,
                 window_s: float = unconfirmed.RATE_LIMIT_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # group -> (window start, calls used)
        self.configure(limit, window_s)
        self.refused = 0  # 429s answered because a budget was spent

    def configure(self, limit: int, window_s: float) -> None:
        if int(limit) < 1 or float(window_s) <= 0:
            raise errors.validation("rate_limit must be >= 1 and rate_window_s > 0")
        with self._lock:
            self.limit, self.window_s = int(limit), float(window_s)
            self._windows.clear()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self.refused = 0

    def take(self, group: str, path: str) -> dict[str, str]:
        """Spend one call for ``group``; returns the headers to answer with, or raises 429."""
        with self._lock:
            start, used = self._window(group)
            if used >= self.limit:
                self.refused += 1
                wait = max(1, math.ceil(start + self.window_s - self.clock()))
                raise self._refusal(path, wait)
            self._windows[group] = (start, used + 1)
            return self.headers(self.limit - used - 1)

    def headers(self, remaining: int) -> dict[str, str]:
        return {"Ratelimit-Limit": str(self.limit), "Ratelimit-Remaining": str(max(0, remaining))}

    def _window(self, group: str) -> tuple[float, int]:
        now = self.clock()
        start, used = self._windows.get(group, (now, 0))
        if now - start >= self.window_s:
            start, used = now, 0
        return start, used

    def _refusal(self, path: str, wait: int) -> errors.ApiError:
        window = round(self.window_s)
        detail = (f"Rate limit exceeded for {path.lstrip('/')}. Please retry after {wait} seconds. "
                  f"Request capacity: {self.limit}. Refill rate: {self.limit} per {window} seconds.")
        return errors.ApiError(429, errors.RATE_LIMITED_TOKEN_BUCKET, detail,
                               [path.lstrip("/"), wait, self.limit, self.limit, window],
                               headers={"Retry-After": str(wait), **self.headers(0)})
