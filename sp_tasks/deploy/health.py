"""The post-deploy health gate: did every touched processor start and keep doing its job?

Each processor is judged on its own readings, never on another's: one that goes FAILED ends its
own verdict, not the others' sampling. The gate is adaptive. It reads the processors list (one
call per reading, whatever the processor count) at growing intervals, and a processor passes as
soon as its readings since it became STARTED show evidence: at least ``samples`` readings, the
input count grew (with ``require_input``), the output count grew where output is expected (a
pipeline without a window: windows emit when they close), and the DLQ and output ratios are
within the policy. Without that evidence it is sampled until ``window_s`` has passed since its
first STARTED reading and judged on the whole window. Everything is bounded:
``started_timeout_s`` + ``window_s``. Policy comes from ``thresholds.json`` → ``health``:

    "health": {"started_timeout_s": 60, "window_s": 4, "interval_s": 1, "samples": 2,
               "max_dlq_ratio": 0.05, "min_output_ratio": null, "require_input": true,
               "canary_output_tolerance": null}

``judge_health`` and ``assess`` are pure; ``run_health_gate`` is the loop that reads.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping, Sequence

from sp_tasks.console import Heartbeat
from sp_tasks.errors import InvalidEnvironment

FIRST_POLL_S = 0.25  # the first reading after the initial one; the gap then doubles up to interval_s
WINDOW_STAGES = ("$tumblingWindow", "$hoppingWindow", "$sessionWindow")


@dataclass(frozen=True)
class HealthPolicy:
    started_timeout_s: float = 60.0
    window_s: float = 4.0  # the longest a STARTED processor is sampled before its verdict
    interval_s: float = 1.0  # the longest gap between two readings
    samples: int = 2  # readings needed at least (growth needs two)
    max_dlq_ratio: float = 0.05  # DLQ messages per input message over the gate window
    min_output_ratio: float | None = None  # None: windowed/filtering pipelines may emit little
    require_input: bool = True  # input count must grow during the window
    # Share by which a canary's output ratio may differ from live; None = not compared, because
    # an intended filter change moves it too. Set it when a change must not alter output volume.
    canary_output_tolerance: float | None = None

    @classmethod
    def from_thresholds(cls, thresholds: Mapping[str, Any]) -> "HealthPolicy":
        raw = thresholds.get("health") or {}
        problems = policy_problems(raw)
        if problems:
            raise InvalidEnvironment("thresholds.json health: " + "; ".join(problems))
        return cls(**raw)


def policy_problems(raw: Any) -> list[str]:
    """What is wrong with a ``health`` section (settings check it when an environment loads, so a
    bad value stops every task before anything is sent)."""
    if not isinstance(raw, Mapping):
        return ["must be an object of health gate settings"]
    known = {f.name for f in fields(HealthPolicy)}
    unknown = sorted(set(raw) - known)
    if unknown:
        return [f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"]
    policy, problems = HealthPolicy(**raw), []
    numbers = (policy.started_timeout_s, policy.window_s, policy.interval_s, policy.max_dlq_ratio)
    if not all(_is_number(x) and x >= 0 for x in numbers) or not policy.interval_s > 0:
        problems.append("started_timeout_s, window_s and max_dlq_ratio must be numbers >= 0 and interval_s "
                        "a number > 0")
    if not isinstance(policy.samples, int) or isinstance(policy.samples, bool) or policy.samples < 2:
        problems.append("samples must be a whole number of at least 2 (growth needs two readings)")
    return problems


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
    d_in, d_out, d_dlq = (_count(last, k) - _count(first, k)
                          for k in ("inputMessageCount", "outputMessageCount", "dlqMessageCount"))
    reasons = []
    if policy.require_input and d_in <= 0:
        reasons.append("input count did not grow: is the source producing, and the connection right?")
    if d_in > 0 and d_dlq / d_in > policy.max_dlq_ratio:
        reasons.append(f"DLQ ratio {d_dlq / d_in:.1%} is above the limit {policy.max_dlq_ratio:.1%}")
    if policy.min_output_ratio is not None and d_in > 0 and d_out / d_in < policy.min_output_ratio:
        reasons.append(f"output ratio {d_out / d_in:.1%} is below the limit {policy.min_output_ratio:.1%}")
    return HealthVerdict(name, not reasons, tuple(reasons), d_in, d_out, d_dlq)


def assess(name: str, readings: Sequence[tuple[float, Mapping[str, Any] | None]], now: float, policy: HealthPolicy,
           *, early: bool = True) -> HealthVerdict | None:
    """The verdict on one processor from its own ``(time, document)`` readings since the gate began,
    or None while it is undecided. Conclusive at once: absent, FAILED, stopped after starting, not
    STARTED by ``started_timeout_s``. Healthy as soon as the readings show evidence (``early``);
    otherwise judged once ``window_s`` has passed since its first STARTED reading."""
    if not readings:
        return None
    gone = [doc for _, doc in readings if doc is None]
    if gone:
        return HealthVerdict(name, False, ("is not in the workspace" if len(gone) == len(readings)
                                           else "disappeared from the workspace during the health gate",))
    if any(doc.get("state") == "FAILED" for _, doc in readings):
        return HealthVerdict(name, False, ("went FAILED during the health gate",))
    first = next((i for i, (_, doc) in enumerate(readings) if doc.get("state") == "STARTED"), None)
    if first is None:
        if now - readings[0][0] >= policy.started_timeout_s:
            return HealthVerdict(name, False, (f"not STARTED within {policy.started_timeout_s:g}s "
                                               f"(is {readings[-1][1].get('state')})",))
        return None
    started = readings[first:]
    if started[-1][1].get("state") != "STARTED":
        return judge_health(name, [doc for _, doc in started], policy)
    if len(started) < policy.samples:
        return None
    verdict = judge_health(name, [doc for _, doc in started], policy)
    if early and _evident(verdict, started[-1][1], policy):
        return verdict
    return verdict if started[-1][0] - started[0][0] >= policy.window_s else None


def expects_output(doc: Mapping[str, Any]) -> bool:
    """Should output show within seconds? Not behind a window: it emits only when a window closes."""
    pipeline = doc.get("pipeline")
    return isinstance(pipeline, list) and not any(isinstance(s, dict) and set(s) & set(WINDOW_STAGES)
                                                  for s in pipeline)


def run_health_gate(list_processors: Callable[[], list[dict[str, Any]]], names: Sequence[str],
                    policy: HealthPolicy, clock, progress: Callable[[str], None] = lambda _: None,
                    *, early: bool = True) -> list[HealthVerdict]:
    """Read, assess each undecided processor on its own readings, repeat until all are decided.
    ``early=False`` samples every processor for the whole window (a canary comparison wants it)."""
    if not names:
        return []
    wanted = set(names)
    readings: dict[str, list] = {n: [] for n in names}
    verdicts: dict[str, HealthVerdict] = {}
    progress(f"health gate: watching {len(names)} processor(s) until each shows input "
             f"(at most {policy.started_timeout_s:g}s to start + {policy.window_s:g}s of samples)")
    gap = FIRST_POLL_S
    beat = Heartbeat(lambda: f"the health gate to decide on {', '.join(n for n in names if n not in verdicts)}",
                     clock, progress)
    while True:
        beat.tick()
        now = clock.monotonic()
        docs = _by_name(list_processors(), wanted)
        for name in names:
            if name not in verdicts:
                readings[name].append((now, docs.get(name)))
                verdict = assess(name, readings[name], now, policy, early=early)
                if verdict is not None:
                    verdicts[name] = verdict
        if len(verdicts) == len(names):
            return [verdicts[n] for n in names]
        clock.sleep(min(gap, policy.interval_s, _until_next_deadline(readings, verdicts, now, policy)))
        gap *= 2


def _evident(verdict: HealthVerdict, last: Mapping[str, Any], policy: HealthPolicy) -> bool:
    if not verdict.healthy:
        return False  # a ratio off on a short window may settle: judge it on the whole window
    if policy.require_input and verdict.input_delta <= 0:
        return False
    return verdict.output_delta > 0 or not expects_output(last)


def _until_next_deadline(readings: dict[str, list], verdicts: dict[str, HealthVerdict], now: float,
                         policy: HealthPolicy) -> float:
    """Time to the nearest end of a window or of the start timeout, so the last reading is on time."""
    ends = []
    for name, seen in readings.items():
        if name in verdicts or not seen:
            continue
        started = [t for t, doc in seen if doc and doc.get("state") == "STARTED"]
        ends.append(started[0] + policy.window_s if started else seen[0][0] + policy.started_timeout_s)
    return max(0.05, min(ends, default=now) - now)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(stats: Mapping[str, Any], key: str) -> int:
    value = stats.get(key, 0) or 0
    return int(value) if isinstance(value, (int, float)) else 0


def _by_name(docs: list[dict[str, Any]], wanted: set[str]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in docs if d.get("name") in wanted}
