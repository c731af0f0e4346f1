"""Fault injection and request accounting for tests and benchmarks (not part of the Atlas API).

Rules arrive as JSON through ``POST /_emulator/faults``:
  ``{"method": "POST", "path": "<regex>", "status": 429, "headers": {"Retry-After": "1"}, "count": 2}``
  ``{"path": "<regex>", "delay_ms": 20}``                 latency; no count = forever
  ``{"processor": "<name>", "fail_on_start": true}``      goes FAILED shortly after its next start
  ``{"processor": "<name>", "slow_factor": 1.1, "slow_ms": 0}``
                                                          its documents take 1.1× as long (+ slow_ms)
                                                          from entering to their sink write, as the
                                                          latency stats count it; no count = forever
  ``{"path": "<regex>", "status": 500, "after": 3}``      let 3 matching requests through first
  ``{"method": "POST", "path": "<regex>", "status": 500, "after_handler": true}``
                                                          the real handler runs (the write lands),
                                                          then this status replaces its answer
HTTP rules match ``method`` (optional) and a regex searched in the request path; the first
matching rule with a status answers instead of the real handler (with ``after_handler``: after
it, whatever it answered, so a client sees "write landed, answer lost"), and every matching delay
rule adds its latency. ``count`` bounds how many requests a rule affects.
"""
from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sp_tasks.emulator import errors


@dataclass
class Rule:
    path: re.Pattern[str] | None = None
    method: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    delay_ms: float = 0.0
    count: int | None = None  # None = forever
    after: int = 0
    processor: str | None = None
    fail_on_start: bool = False
    slow_factor: float = 1.0  # a processor's documents count as this many times slower …
    slow_ms: float = 0.0  # … plus this much (planted latency changes for perf-ab benchmarks)
    after_handler: bool = False  # run the real handler first, then answer with ``status``

    def matches(self, method: str, path: str) -> bool:
        if self.processor is not None:
            return False
        return (self.method is None or self.method == method) and (self.path is None or bool(self.path.search(path)))


def parse_rules(payload: Any) -> list[Rule]:
    items = payload if isinstance(payload, list) else [payload]
    rules = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise errors.validation(f"fault rule {index} must be an object")
        unknown = set(item) - {"method", "path", "status", "headers", "body", "delay_ms", "count", "after",
                               "processor", "fail_on_start", "after_handler", "slow_factor", "slow_ms"}
        if unknown:
            raise errors.invalid_attribute(f"rules[{index}].{sorted(unknown)[0]}")
        try:
            rules.append(Rule(
                path=re.compile(item["path"]) if item.get("path") else None,
                method=item.get("method", "").upper() or None,
                status=int(item["status"]) if item.get("status") is not None else None,
                headers={str(k): str(v) for k, v in (item.get("headers") or {}).items()},
                body=item.get("body"),
                delay_ms=float(item.get("delay_ms", 0)),
                count=int(item["count"]) if item.get("count") is not None else None,
                after=int(item.get("after", 0)),
                processor=item.get("processor"),
                fail_on_start=bool(item.get("fail_on_start", False)),
                after_handler=bool(item.get("after_handler", False)),
                slow_factor=float(item.get("slow_factor", 1.0)),
                slow_ms=float(item.get("slow_ms", 0.0)),
            ))
        except (re.error, TypeError, ValueError) as exc:
            raise errors.validation(f"fault rule {index} is invalid: {exc}")
        if rules[-1].after_handler and rules[-1].status is None:
            raise errors.validation(f"fault rule {index}: after_handler needs a status to answer with")
        slow = rules[-1].slow_factor != 1.0 or rules[-1].slow_ms != 0.0
        if slow and (rules[-1].processor is None or rules[-1].slow_factor < 1.0 or rules[-1].slow_ms < 0.0):
            raise errors.validation(f"fault rule {index}: slow_factor (>= 1) and slow_ms (>= 0) need a processor")
    return rules


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self.requests: Counter[str] = Counter()
        self.unauthenticated = 0  # 401 challenges: the first half of every Digest handshake

    def add(self, rules: list[Rule]) -> None:
        with self._lock:
            self._rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"method": r.method, "path": r.path.pattern if r.path else None, "status": r.status,
                     "delay_ms": r.delay_ms, "count": r.count, "after": r.after, "processor": r.processor,
                     "fail_on_start": r.fail_on_start, "after_handler": r.after_handler,
                     "slow_factor": r.slow_factor, "slow_ms": r.slow_ms} for r in self._rules]

    def for_request(self, method: str, path: str) -> tuple[float, Rule | None]:
        """Total delay (seconds) and the status rule, if any, that answers this request."""
        delay, answer = 0.0, None
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(method, path):
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                if rule.status is not None and answer is not None:
                    continue  # an earlier status rule already answers; this one is not consumed
                delay += rule.delay_ms / 1000.0
                if rule.status is not None:
                    answer = rule
                self._consume(rule)
        return delay, answer

    def take_fail_on_start(self, processor: str) -> bool:
        with self._lock:
            for rule in self._rules:
                if rule.fail_on_start and rule.processor == processor:
                    self._consume(rule)
                    return True
        return False

    def slowdown(self, processor: str) -> tuple[float, float]:
        """(factor, extra ms) by which ``processor``'s document latencies are stretched (1.0, 0.0: none).
        Read by the runtime thread on every sink write, so it never consumes a rule."""
        factor, extra = 1.0, 0.0
        with self._lock:
            for rule in self._rules:
                if rule.processor == processor and not rule.fail_on_start:
                    factor, extra = factor * rule.slow_factor, extra + rule.slow_ms
        return factor, extra

    def record(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def record_unauthenticated(self) -> None:
        with self._lock:
            self.unauthenticated += 1

    def request_counts(self) -> dict[str, Any]:
        with self._lock:
            by_endpoint = dict(sorted(self.requests.items()))
            unauthenticated = self.unauthenticated
        by_method = Counter()
        for key, n in by_endpoint.items():
            by_method[key.split(" ", 1)[0]] += n
        return {"total": sum(by_endpoint.values()), "by_method": dict(by_method), "by_endpoint": by_endpoint,
                "unauthenticated": unauthenticated}

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.unauthenticated = 0

    def _consume(self, rule: Rule) -> None:
        if rule.count is not None:
            rule.count -= 1
            if rule.count <= 0:
                self._rules.remove(rule)
