"""Sending one Admin API call safely: versioned headers, timeouts, pacing, retries, error translation.

This is the only module that catches ``requests`` exceptions or reads status codes. The retry
rules follow what is safe (reference §7.2, urllib3's ``Retry``):
- 429 (rate limited) is retried for every method: Atlas refused the call before acting on it.
  ``Retry-After`` is honoured (capped), then exponential backoff with jitter. Calls are paced by
  ``Ratelimit-Remaining`` first (``pacing``), so parallel workers rarely meet a 429 at all.
- 5xx and read timeouts are retried only for idempotent calls (GET, DELETE). POST and PATCH are
  never blindly retried: they surface once, and the executor re-reads state and decides again.
- Connection errors before anything was sent (connect timeout, refused, unknown host) are
  retried for every method, because the server cannot have acted on them, but only within
  ``connect_budget_s`` from the first try: an unreachable URL fails in about that long.
Every retry is announced through ``on_retry`` (the front end shows it as it happens). Errors
become ``AtlasApiError`` subclasses built from Atlas's envelope; messages never include request
bodies or headers, so no secret can leak through them.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

from sp_tasks import __version__
from sp_tasks.atlas.pacing import Pacer
from sp_tasks.atlas.paths import Endpoint
from sp_tasks.errors import (AtlasApiError, AtlasAuthError, AtlasConflict, AtlasNotFound, AtlasRateLimited,
                             AtlasUnavailable)

USER_AGENT = f"sp-tasks/{__version__} (+https://github.com/sp-tasks; python-requests)"
IDEMPOTENT = frozenset({"GET", "DELETE", "HEAD"})
CONNECT_TIMEOUT = 2.0  # seconds for TCP + TLS to Atlas; a healthy connection takes well under 1 s
_ERROR_BY_STATUS = {401: AtlasAuthError, 403: AtlasAuthError, 404: AtlasNotFound, 409: AtlasConflict,
                    429: AtlasRateLimited}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # total tries, first one included
    backoff: float = 0.5  # seconds; doubles per retry
    backoff_max: float = 30.0
    retry_after_max: float = 120.0  # never wait longer than this on one Retry-After
    retry_statuses: frozenset[int] = frozenset({500, 502, 503, 504})
    connect_budget_s: float = 5.0  # give up on an unreachable server after about this long

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        wait = min(self.backoff * 2 ** (attempt - 1), self.backoff_max) * (0.5 + random.random() / 2)
        if retry_after:
            try:
                wait = max(wait, min(float(retry_after), self.retry_after_max))
            except ValueError:
                pass  # an HTTP-date Retry-After: fall back to backoff
        return wait


@dataclass(frozen=True)
class RetryNotice:
    """One retry about to happen, for the front end (``str()`` is the line to show)."""

    method: str
    path: str  # the endpoint's template: never a name or value a user typed
    attempt: int  # the retry's number (2 = first retry)
    attempts: int
    wait_s: float
    reason: str

    def __str__(self) -> str:
        return (f"retrying {self.method} {self.path} in {self.wait_s:.1f} s "
                f"(attempt {self.attempt} of {self.attempts}): {self.reason}")


@dataclass
class Transport:
    base_url: str
    session: requests.Session
    timeout: tuple[float, float] = (CONNECT_TIMEOUT, 60.0)  # (connect, read) seconds, on every call
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    calls: int = 0  # HTTP requests actually sent (retries included)
    on_retry: Callable[[RetryNotice], None] | None = None
    pacer: Pacer = field(default_factory=Pacer)
    clock: Callable[[], float] = time.monotonic

    def request(self, endpoint: Endpoint, path: str, *, body: Any = None,
                query: dict[str, Any] | None = None) -> Any:
        """Send the call; return the decoded JSON body (None when empty) or raise an AtlasError."""
        resp = self.exchange(endpoint, path, body=body, query=query)
        if resp.status_code >= 400:
            raise api_error(resp, endpoint.method, endpoint.template)
        try:
            return resp.json() if resp.content else None
        except ValueError:  # a 2xx that is not JSON: a proxy or captive portal, not Atlas
            raise AtlasUnavailable(f"{endpoint.method} {path} was answered with a body that is not JSON; is "
                                   "ATLAS_BASE_URL the Admin API (or is a proxy in the way)?") from None

    def exchange(self, endpoint: Endpoint, path: str, *, body: Any = None,
                 query: dict[str, Any] | None = None) -> requests.Response:
        """Send the call with the retries that are safe; the last answer as it came (any status).
        Raises AtlasUnavailable only when no answer came. ``invoke doctor`` judges answers itself."""
        method = endpoint.method
        headers = {"Accept": endpoint.accept, "User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = endpoint.accept
        streak = _Streak(self.retry.connect_budget_s, self.clock)
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            resp, sent_at = None, self.clock()
            self.pacer.acquire()
            try:
                self.calls += 1
                resp = self.session.request(method, self.base_url + path, json=body, params=query, headers=headers,
                                            timeout=(streak.connect_timeout(self.timeout[0]), self.timeout[1]))
                streak.reset()
            except requests.RequestException as exc:
                # Anything requests raises: refused/connect timeout (never sent), read timeout,
                # broken or undecodable body (maybe acted on). Only the first kind is safe for writes.
                never_sent, wait = _never_sent(exc), self.retry.delay(attempt, None)
                if never_sent:
                    streak.failed(sent_at)
                if last or (never_sent and streak.spent() + wait >= streak.budget) or not (
                        never_sent or method in IDEMPOTENT):
                    raise AtlasUnavailable(_unreachable(method, path, exc, streak.spent())) from None
                streak.waited += self._wait(endpoint, attempt, wait, _describe(exc))
                continue
            finally:
                self.pacer.release(resp.headers if resp is not None else None)
            retryable = resp.status_code == 429 or (
                resp.status_code in self.retry.retry_statuses and method in IDEMPOTENT)
            if retryable and not last:
                wait = self.retry.delay(attempt, resp.headers.get("Retry-After"))
                self._wait(endpoint, attempt, wait, f"{resp.status_code} {_code(resp) or resp.reason}")
                continue
            return resp
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _wait(self, endpoint: Endpoint, attempt: int, seconds: float, reason: str) -> float:
        if self.on_retry is not None:
            self.on_retry(RetryNotice(endpoint.method, endpoint.template, attempt + 1, self.retry.attempts,
                                      seconds, reason))
        self.sleep(seconds)
        return seconds


@dataclass
class _Streak:
    """Consecutive connection failures of one call: together they get ``budget`` seconds."""

    budget: float
    clock: Callable[[], float]
    started: float | None = None
    waited: float = 0.0  # retry waits inside the streak (what a fake sleep does not show on the clock)

    def failed(self, attempt_started: float) -> None:
        if self.started is None:
            self.started = attempt_started

    def spent(self) -> float:
        return 0.0 if self.started is None else max(self.clock() - self.started, self.waited)

    def connect_timeout(self, configured: float) -> float:
        """The connect timeout never runs past what is left of the budget."""
        return configured if self.started is None else max(0.2, min(configured, self.budget - self.spent()))

    def reset(self) -> None:
        self.started, self.waited = None, 0.0


def api_error(resp: requests.Response, method: str, template: str) -> AtlasApiError:
    """Build the error from Atlas's envelope ``{error, errorCode, detail, reason, parameters}``."""
    envelope = _envelope(resp)
    detail = envelope.get("detail") or resp.reason or "no detail"
    cls = _ERROR_BY_STATUS.get(resp.status_code, AtlasApiError)
    return cls(resp.status_code, envelope.get("errorCode"), str(detail), method=method, path=template,
               reason=envelope.get("reason", resp.reason or ""), parameters=envelope.get("parameters"))


def _envelope(resp: requests.Response) -> dict[str, Any]:
    try:
        envelope = resp.json()
    except ValueError:
        return {}
    return envelope if isinstance(envelope, dict) else {}


def _code(resp: requests.Response) -> str:
    return str(_envelope(resp).get("errorCode") or "")


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return isinstance(exc, requests.ConnectionError) and any(
        sign in text for sign in ("NewConnectionError", "Connection refused", "NameResolutionError",
                                  "Failed to resolve"))


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout"
    text = repr(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "NameResolutionError" in text or "Failed to resolve" in text:
        return "host name not found"
    return type(exc).__name__


def _unreachable(method: str, path: str, exc: Exception, seconds: float) -> str:
    return (f"Atlas did not answer {method} {path} ({_describe(exc)}, gave up after {seconds:.1f} s); check the "
            "network, ATLAS_BASE_URL, or that the emulator is running (invoke emulator.status)")
