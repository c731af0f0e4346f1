"""The emulator's own admin endpoints under ``/_emulator/`` (not part of the Atlas API).

  POST   /_emulator/faults      add fault rules (see ``faults.py`` for the rule format)
  GET    /_emulator/faults      list active rules;      DELETE clears them
  GET    /_emulator/requests    API requests served, by method and path template, 401 challenges and
                                 429s of the rate-limit budget; DELETE resets
  POST   /_emulator/config      {"sample_rate": docs/s per processor, "token_ttl": seconds,
                                 "revoke_tokens": true, "lifecycle": {transition: seconds} | "zero" |
                                 "default", "rate_limit": calls, "rate_window_s": seconds,
                                 "stats_latency": bool}   (answers the whole configuration)
  POST   /_emulator/reset       forget every resource, document, fault and counter
  GET    /_emulator/documents   ?group=&cluster=&db=&coll= | &bootstrapServers=&topic= | &processorId=
                                 (?group= alone: {"collections": [[cluster, db, coll, n]], "topics":
                                 [[bootstrapServers, topic, n]]})
  DELETE /_emulator/documents   the same query: drop a database (or one collection) with its change
                                 log, a topic or a test log; answers {"deleted": rows}. Emulator only:
                                 Atlas's Admin API cannot drop cluster data (env.destroy uses this)
  GET    /_emulator/health      liveness (used to detect a running background emulator)

GET routes are open. Every other method needs the emulator's key pair (Digest or Bearer, as the
API) or both ``X-SP-Emulator: 1`` and ``Content-Type: application/json``: a web page can send
neither without a CORS preflight, which this server never grants, so a page open in the
developer's browser cannot reset the emulator or inject faults (a no-cors ``fetch`` sends a
"simple" request: no custom header, no JSON content type).
"""
from __future__ import annotations

import os
from typing import Any

from sp_tasks import __version__
from sp_tasks.emulator import errors, lifecycle
from sp_tasks.emulator.faults import parse_rules

PREFIX = "/_emulator/"
HEADER = "X-SP-Emulator"
OPEN_METHODS = frozenset({"GET"})
REFUSED = (f"Emulator admin requests other than GET need the emulator key pair (Digest or Bearer) or the "
           f"headers '{HEADER}: 1' and 'Content-Type: application/json'.")


def caller_allowed(backend, method: str, uri: str, headers: Any) -> bool:
    """May this request use an admin route? (``headers``: any mapping with ``get``.)"""
    if method in OPEN_METHODS:
        return True
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if headers.get(HEADER) == "1" and content_type == "application/json":
        return True
    return backend.auth.check(method, uri, headers.get("Authorization"))[0]


def handle(backend, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
    route = (method, path[len(PREFIX):].strip("/"))
    if route == ("GET", "health"):
        from sp_tasks.emulator.daemon import code_fingerprint

        return 200, {"ok": True, "version": __version__, "code": code_fingerprint(), "pid": os.getpid(),
                     "data": backend.db.path}
    if route == ("POST", "faults"):
        backend.faults.add(parse_rules(body))
        return 200, {"rules": backend.faults.describe()}
    if route == ("GET", "faults"):
        return 200, {"rules": backend.faults.describe()}
    if route == ("DELETE", "faults"):
        backend.faults.clear()
        return 204, None
    if route == ("GET", "requests"):
        return 200, {**backend.faults.request_counts(), "rate_limited": backend.rate.refused}
    if route == ("DELETE", "requests"):
        backend.faults.reset_counts()
        backend.rate.refused = 0
        return 204, None
    if route == ("POST", "config"):
        return 200, _configure(backend, body or {})
    if route == ("GET", "config"):
        return 200, _configuration(backend)
    if route == ("POST", "reset"):
        backend.reset()
        return 204, None
    if route == ("GET", "documents"):
        with backend.lock:
            return 200, backend.documents(query.get("group", ""), query)
    if route == ("DELETE", "documents"):
        with backend.lock:
            return 200, backend.drop_documents(query.get("group", ""), query)
    raise errors.ApiError(404, errors.NOT_FOUND, f"Unknown emulator admin endpoint {method} {path}.", [path])


CONFIG_KEYS = {"sample_rate", "token_ttl", "revoke_tokens", "lifecycle", "rate_limit", "rate_window_s",
               "stats_latency"}


def _configure(backend, body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body, dict) or set(body) - CONFIG_KEYS:
        raise errors.validation(f"config accepts only {', '.join(sorted(CONFIG_KEYS))}")
    delays = lifecycle.parse_delays(body["lifecycle"], backend.delays) if "lifecycle" in body else None
    if body.get("revoke_tokens"):
        backend.auth.revoke_all()
    if "sample_rate" in body:
        rate = float(body["sample_rate"])
        if rate < 0:
            raise errors.validation("sample_rate must be >= 0")
        backend.set_sample_rate(rate)
    if "token_ttl" in body:
        backend.auth.token_ttl = int(body["token_ttl"])
    if delays is not None:
        backend.set_delays(delays)
    if "rate_limit" in body or "rate_window_s" in body:
        backend.rate.configure(body.get("rate_limit", backend.rate.limit),
                               body.get("rate_window_s", backend.rate.window_s))
    if "stats_latency" in body:
        backend.processors.stats_latency = bool(body["stats_latency"])
    return _configuration(backend)


def _configuration(backend) -> dict[str, Any]:
    return {"sample_rate": backend.runtime.sample_rate if backend.runtime else None,
            "token_ttl": backend.auth.token_ttl, "lifecycle": backend.delays, "rate_limit": backend.rate.limit,
            "rate_window_s": backend.rate.window_s, "stats_latency": backend.processors.stats_latency}
