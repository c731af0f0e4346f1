"""Canary verdict: does the shadow copy behave like the live processor over the same window?

The canary runs the new definition against the same source, writing to shadow sinks. It passes
when it is healthy on its own (``judge_health``) and, if the live processor is running, its DLQ
ratio is not above the live one by more than ``max_dlq_ratio`` and — when
``canary_output_tolerance`` is set — its output ratio (output/input) is within that share of
the live one.
"""
from __future__ import annotations

from typing import Any, Callable

from sp_tasks.deploy.health import HealthPolicy, HealthVerdict, run_health_gate


def compare_canary(list_processors: Callable[[], list[dict[str, Any]]], baseline: str, canary: str,
                   policy: HealthPolicy, clock) -> HealthVerdict:
    live_running = any(p.get("name") == baseline and p.get("state") == "STARTED" for p in list_processors())
    names = [canary, baseline] if live_running else [canary]
    # The whole window for both: ratios compared on a few readings would be noise.
    verdicts = run_health_gate(list_processors, names, policy, clock, early=False)
    return judge_canary(verdicts[0], verdicts[1] if live_running else None, policy)


def judge_canary(canary: HealthVerdict, live: HealthVerdict | None, policy: HealthPolicy) -> HealthVerdict:
    """Pure comparison of the two verdicts' deltas over the same sampling window."""
    if not canary.healthy or live is None or live.input_delta <= 0:
        return canary
    reasons = []
    c_out, l_out = _ratio(canary.output_delta, canary.input_delta), _ratio(live.output_delta, live.input_delta)
    tolerance = policy.canary_output_tolerance
    if tolerance is not None and abs(c_out - l_out) > tolerance * max(l_out, 1e-9) and abs(c_out - l_out) > 0.01:
        reasons.append(f"output ratio {c_out:.1%} differs from the live processor's {l_out:.1%} by more than "
                       f"{tolerance:.0%}")
    c_dlq, l_dlq = _ratio(canary.dlq_delta, canary.input_delta), _ratio(live.dlq_delta, live.input_delta)
    if c_dlq > l_dlq + policy.max_dlq_ratio:
        reasons.append(f"DLQ ratio {c_dlq:.1%} is above the live processor's {l_dlq:.1%}")
    if not reasons:
        return canary
    return HealthVerdict(canary.processor, False, tuple(reasons), canary.input_delta, canary.output_delta,
                         canary.dlq_delta)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole > 0 else 0.0
