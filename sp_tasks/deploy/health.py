"""The post-deploy health gate: did every touched processor start and keep doing its job?

Pure judgement (``judge_health``) over a few samples of the processors list, plus one shell
function that gathers them (``run_health_gate``): wait for STARTED within a timeout, then sample
``samples`` times ``interval_s`` apart — one list call per sample, whatever the processor count.
A processor passes when it never goes FAILED, its input count grows, and its DLQ and output
ratios over the window stay within the policy. Policy comes from ``thresholds.json`` → ``health``:

    "health": {"started_timeout_s": 60, "samples": 3, "interval_s": 2,
               "max_dlq_ratio": 0.05, "min_output_ratio": null, "require_input": true,
               "canary_output_tolerance": null}
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping, Sequence

from sp_tasks.errors import ConfigError


@dataclass(frozen=True)
class HealthPolicy:
    started_timeout_s: float = 60.0
    samples: int = 3
    interval_s: float = 2.0
    max_dlq_ratio: float = 0.05  # DLQ messages per input message over the gate window
    min_output_ratio: float | None = None  # None: windowed/filtering pipelines may emit little
    require_input: bool = True  # input count must grow during the window
    # Share by which a canary's output ratio may differ from live; None = not compared, because
    # an intended filter change moves it too. Set it when a change must not alter output volume.
    canary_output_tolerance: float | None = None

    @classmethod
    def from_thresholds(cls, thresholds: Mapping[str, Any]) -> "HealthPolicy":
        raw = dict(thresholds.get("health") or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"thresholds.json health has unknown key(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known))}")
        policy = cls(**raw)
        if policy.samples < 2:
            raise ConfigError("thresholds.json health.samples must be at least 2 (growth needs two readings)")
        return policy


@dataclass(frozen=True)
class HealthVerdict:
    processor: str
    healthy: bool
    reasons: tuple[str, ...] = ()
    input_delta: int = 0
    output_delta: int = 0
    dlq_delta: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"processor": self.processor, "healthy": self.healthy, "reasons": list(self.reasons),
                "input_delta": self.input_delta, "output_delta": self.output_delta, "dlq_delta": self.dlq_delta}


def judge_health(name: str, samples: Sequence[Mapping[str, Any] | None], policy: HealthPolicy) -> HealthVerdict:
    """Verdict for one processor from its documents as sampled (None = absent in that sample)."""
    if any(s is None for s in samples):
        return HealthVerdict(name, False, ("disappeared from the workspace during the health gate",))
    states = [s.get("state") for s in samples]
    if "FAILED" in states:
        return HealthVerdict(name, False, ("went FAILED during the health gate",))
    if states[-1] != "STARTED":
        return HealthVerdict(name, False, (f"is {states[-1]}, expected STARTED",))
    first, last = (s.get("stats") or {} for s in (samples[0], samples[-1]))
    if not last:
        return HealthVerdict(name, False, ("reports no stats while STARTED",))
    d_in, d_out, d_dlq = (int(last.get(k, 0) or 0) - int(first.get(k, 0) or 0)
                          for k in ("inputMessageCount", "outputMessageCount", "dlqMessageCount"))
    reasons = []
    if policy.require_input and d_in <= 0:
        reasons.append("input count did not grow: is the source producing, and the connection right?")
    if d_in > 0 and d_dlq / d_in > policy.max_dlq_ratio:
        reasons.append(f"DLQ ratio {d_dlq / d_in:.1%} is above the limit {policy.max_dlq_ratio:.1%}")
    if policy.min_output_ratio is not None and d_in > 0 and d_out / d_in < policy.min_output_ratio:
        reasons.append(f"output ratio {d_out / d_in:.1%} is below the limit {policy.min_output_ratio:.1%}")
    return HealthVerdict(name, not reasons, tuple(reasons), d_in, d_out, d_dlq)


def run_health_gate(list_processors: Callable[[], list[dict[str, Any]]], names: Sequence[str],
                    policy: HealthPolicy, clock, progress: Callable[[str], None] = lambda _: None,
                    ) -> list[HealthVerdict]:
    """Wait for STARTED, sample, judge. ``list_processors`` is one API list call."""
    if not names:
        return []
    wanted = set(names)
    deadline = clock.monotonic() + policy.started_timeout_s
    while True:
        docs = _by_name(list_processors(), wanted)
        failed = [n for n in names if docs.get(n, {}).get("state") == "FAILED"]
        if failed or all(docs.get(n, {}).get("state") == "STARTED" for n in names):
            break
        if clock.monotonic() >= deadline:
            late = sorted(n for n in names if docs.get(n, {}).get("state") != "STARTED")
            return [HealthVerdict(n, False, (f"not STARTED within {policy.started_timeout_s:g}s",))
                    if n in late else HealthVerdict(n, True) for n in names]
        clock.sleep(min(0.5, policy.interval_s))
    progress(f"health gate: sampling {len(names)} processor(s) {policy.samples}x every {policy.interval_s:g}s")
    samples = [docs]
    for _ in range(policy.samples - 1):
        if any(d.get("state") == "FAILED" for d in samples[-1].values()):
            break
        clock.sleep(policy.interval_s)
        samples.append(_by_name(list_processors(), wanted))
    return [judge_health(n, [s.get(n) for s in samples], policy) for n in names]


def _by_name(docs: list[dict[str, Any]], wanted: set[str]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in docs if d.get("name") in wanted}
