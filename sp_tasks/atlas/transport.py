"""Sending one Admin API call safely: versioned headers, timeouts, retries, and error translation.

This is the only module that catches ``requests`` exceptions or reads status codes. The retry
rules follow what is safe (reference §7.2, urllib3's ``Retry``):
- 429 (rate limited) is retried for every method: Atlas refused the call before acting on it.
  ``Retry-After`` is honoured (capped), then exponential backoff with jitter.
- 5xx and read timeouts are retried only for idempotent calls (GET, DELETE). POST and PATCH are
  never blindly retried: they surface once, and the executor re-reads state and decides again.
- Connection errors before anything was sent (connect timeout, refused) are retried for every
  method, because the server cannot have acted on them.
Errors become ``AtlasApiError`` subclasses built from Atlas's envelope; messages never include
request bodies or headers, so no secret can leak through them.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

from sp_tasks import __version__
from sp_tasks.atlas.paths import Endpoint
from sp_tasks.errors import (AtlasApiError, AtlasAuthError, AtlasConflict, AtlasNotFound, AtlasRateLimited,
                             AtlasUnavailable)

USER_AGENT = f"sp-tasks/{__version__} (+https://github.com/sp-tasks; python-requests)"
IDEMPOTENT = frozenset({"GET", "DELETE", "HEAD"})
_ERROR_BY_STATUS = {401: AtlasAuthError, 403: AtlasAuthError, 404: AtlasNotFound, 409: AtlasConflict,
                    429: AtlasRateLimited}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # total tries, first one included
    backoff: float = 0.5  # seconds; doubles per retry
    backoff_max: float = 30.0
    retry_after_max: float = 120.0  # never wait longer than this on one Retry-After
    retry_statuses: frozenset[int] = frozenset({500, 502, 503, 504})

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        wait = min(self.backoff * 2 ** (attempt - 1), self.backoff_max) * (0.5 + random.random() / 2)
        if retry_after:
            try:
                wait = max(wait, min(float(retry_after), self.retry_after_max))
            except ValueError:
                pass  # an HTTP-date Retry-After: fall back to backoff
        return wait


@dataclass
class Transport:
    base_url: str
    session: requests.Session
    timeout: tuple[float, float] = (5.0, 60.0)  # (connect, read) seconds, on every call
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    calls: int = 0  # HTTP requests actually sent (retries included)

    def request(self, endpoint: Endpoint, path: str, *, body: Any = None,
                query: dict[str, Any] | None = None) -> Any:
        """Send the call; return the decoded JSON body (None when empty) or raise an AtlasError."""
        method = endpoint.method
        headers = {"Accept": endpoint.accept, "User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = endpoint.accept
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                self.calls += 1
                resp = self.session.request(method, self.base_url + path, json=body, params=query,
                                            headers=headers, timeout=self.timeout)
                if resp.status_code < 400:
                    return resp.json() if resp.content else None
            except ValueError:  # a 2xx that is not JSON: a proxy or captive portal, not Atlas
                raise AtlasUnavailable(f"{method} {path} was answered with a body that is not JSON; is "
                                       "ATLAS_BASE_URL the Admin API (or is a proxy in the way)?") from None
            except requests.RequestException as exc:
                # Anything requests raises: refused/connect timeout (never sent), read timeout,
                # broken or undecodable body (maybe acted on). Only the first kind is safe for writes.
                if last or not (_never_sent(exc) or method in IDEMPOTENT):
                    raise AtlasUnavailable(_unreachable(method, path, exc)) from None
                self.sleep(self.retry.delay(attempt, None))
                continue
            retryable = resp.status_code == 429 or (
                resp.status_code in self.retry.retry_statuses and method in IDEMPOTENT)
            if retryable and not last:
                self.sleep(self.retry.delay(attempt, resp.headers.get("Retry-After")))
                continue
            raise api_error(resp, method, endpoint.template)
        raise AssertionError("unreachable: the last attempt always returns or raises")


def api_error(resp: requests.Response, method: str, template: str) -> AtlasApiError:
    """Build the error from Atlas's envelope ``{error, errorCode, detail, reason, parameters}``."""
    try:
        envelope = resp.json()
        if not isinstance(envelope, dict):
            envelope = {}
    except ValueError:
        envelope = {}
    detail = envelope.get("detail") or resp.reason or "no detail"
    cls = _ERROR_BY_STATUS.get(resp.status_code, AtlasApiError)
    return cls(resp.status_code, envelope.get("errorCode"), str(detail), method=method, path=template,
               reason=envelope.get("reason", resp.reason or ""), parameters=envelope.get("parameters"))


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return isinstance(exc, requests.ConnectionError) and ("NewConnectionError" in text or "Connection refused" in text)


def _unreachable(method: str, path: str, exc: Exception) -> str:
    return (f"Atlas did not answer {method} {path} ({type(exc).__name__}); check the network, "
            "ATLAS_BASE_URL, or that the emulator is running (invoke emulator.status)")
