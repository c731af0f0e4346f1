"""Atlas's HTTP conventions around every API call: dated-version negotiation and the rate-limit budget.

Versions (recorded-atlas/README.md, reference §1.2): a client names a date in
``Accept: application/vnd.atlas.<YYYY-MM-DD>+json``; Atlas serves the newest version of the
resource at or before that date and names it in the response ``Content-Type``. A request with no
dated version, or a date before the resource's first version, gets 406 INVALID_VERSION_DATE.
Every streams resource has one version in the spec snapshot, so "newest at or before" is that
one whenever the date is not earlier.

Rate limit (recorded: ``Ratelimit-Limit: 1200`` and a ``Ratelimit-Remaining`` that falls by one
per call): a token bucket per project, refilled continuously. When it is empty the call is
refused with 429 and ``Retry-After`` before anything is done. The refill rate of the streams
endpoint set is not documented (``unconfirmed.RATE_LIMIT_REFILL_PER_S``); tests set their own.
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
    """Token buckets per project: ``take(group)`` spends one call or raises the 429."""

    def __init__(self, limit: int = unconfirmed.RATE_LIMIT_CAPACITY,
                 refill_per_s: float = unconfirmed.RATE_LIMIT_REFILL_PER_S,
                 clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # group -> (tokens, at)
        self.configure(limit, refill_per_s)
        self.refused = 0  # 429s answered because a bucket was empty

    def configure(self, limit: int, refill_per_s: float) -> None:
        if int(limit) < 1 or float(refill_per_s) < 0:
            raise errors.validation("rate_limit must be >= 1 and rate_refill_per_s >= 0")
        with self._lock:
            self.limit, self.refill_per_s = int(limit), float(refill_per_s)
            self._buckets.clear()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self.refused = 0

    def take(self, group: str, path: str) -> dict[str, str]:
        """Spend one call for ``group``; returns the headers to answer with, or raises 429."""
        with self._lock:
            tokens = self._tokens(group)
            if tokens < 1:
                self.refused += 1
                self._buckets[group] = (tokens, self.clock())
                raise self._refusal(path, tokens)
            self._buckets[group] = (tokens - 1, self.clock())
            return self.headers(tokens - 1)

    def peek(self, group: str) -> dict[str, str]:
        with self._lock:
            return self.headers(self._tokens(group))

    def headers(self, tokens: float) -> dict[str, str]:
        return {"Ratelimit-Limit": str(self.limit), "Ratelimit-Remaining": str(max(0, math.floor(tokens)))}

    def _tokens(self, group: str) -> float:
        tokens, at = self._buckets.get(group, (float(self.limit), self.clock()))
        return min(float(self.limit), tokens + (self.clock() - at) * self.refill_per_s)

    def _refusal(self, path: str, tokens: float) -> errors.ApiError:
        wait = math.ceil((1 - tokens) / self.refill_per_s) if self.refill_per_s > 0 else 60
        per_minute = round(self.refill_per_s * 60)
        detail = (f"Rate limit exceeded for {path.lstrip('/')}. Please retry after {wait} seconds. "
                  f"Request capacity: {self.limit}. Refill rate: {per_minute} per 60 seconds.")
        err = errors.ApiError(429, errors.RATE_LIMITED_TOKEN_BUCKET, detail,
                              [path.lstrip("/"), wait, self.limit, per_minute, 60])
        err.headers = {"Retry-After": str(wait), **self.headers(tokens)}
        return err
