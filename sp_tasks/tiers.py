"""Processor tiers (reference §3.3): the size table, the exact parallelism rule, and tier advice.

Advice is computed, never guessed from keywords: the minimum tier that (1) allows the pipeline's
cumulative parallelism (§8.6), and, when a profile of the processor exists, (2) keeps its memory
and window state under 80 % of the tier's RAM (the documented out-of-memory limit) and (3) keeps
its measured throughput — the busier of ``input_mbps``/``output_mbps``, which ``invoke profile``
records — under 80 % of the tier's bandwidth (our headroom, same figure). Profiles come from
``baselines/<env>/history.csv`` through the profiler's own pandas-free reader
(:func:`sp_tasks.profiling.datafiles.read_runs`), so both validate a row the same way.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from sp_tasks.model import TIERS, DesiredState, ProcessorSpec
from sp_tasks.units import fmt_scaled


@dataclass(frozen=True)
class Tier:
    name: str
    vcpu: float
    ram_gb: float
    bandwidth_mbps: int
    max_parallelism: int


TIER_TABLE: dict[str, Tier] = {
    t.name: t
    for t in (
        Tier("SP2", 0.25, 0.5, 50, 1),
        Tier("SP5", 0.5, 1, 125, 2),
        Tier("SP10", 1, 2, 200, 8),
        Tier("SP30", 2, 8, 750, 16),
        Tier("SP50", 8, 32, 2500, 64),
    )
}
# State may use <= 80 % of RAM (§3.3). Atlas documents no such rule for bandwidth; we keep the same
# 80 % because a profile is an average over a minute, and catch-up after a restart or a backlog
# runs well above the average.
HEADROOM = 0.8
THROUGHPUT_METRICS = ("input_mbps", "output_mbps")  # megabits/s, from sp_tasks.profiling.metrics
# Where each stage keeps its parallelism (§8.6); the tuple is the path inside the stage body.
PARALLEL_FIELDS = {
    "$source": ("initialSync", "parallelism"),
    "$lookup": ("parallelism",),
    "$merge": ("parallelism",),
    "$emit": ("parallelism",),
    "$externalFunction": ("parallelism",),
}
WINDOWS = ("$tumblingWindow", "$hoppingWindow", "$sessionWindow")


def parallelism_settings(pipeline: Any) -> Iterator[tuple[str, Any]]:
    """(pointer, raw value) of every parallelism setting, window inner pipelines included."""
    for index, stage in enumerate(pipeline if isinstance(pipeline, list) else ()):
        if not isinstance(stage, dict) or len(stage) != 1:
            continue
        (op, body), = stage.items()
        if op in PARALLEL_FIELDS and isinstance(body, dict):
            value = _dig(body, PARALLEL_FIELDS[op])
            if value is not None:
                yield "/" + "/".join((str(index), op, *PARALLEL_FIELDS[op])), value
        if op in WINDOWS and isinstance(body, dict):
            for pointer, value in parallelism_settings(body.get("pipeline")):
                yield f"/{index}/{op}/pipeline{pointer}", value


def cumulative_parallelism(pipeline: Any) -> int:
    """(sum of parallelism values > 1) - (number of such stages), reference §8.6."""
    values = [v for _, v in parallelism_settings(pipeline) if _is_int(v) and v > 1]
    return sum(values) - len(values)


def tier_for_parallelism(cumulative: int) -> str | None:
    """Smallest tier allowing ``cumulative`` parallelism; None when even SP50 is too small."""
    return next((t.name for t in TIER_TABLE.values() if cumulative <= t.max_parallelism), None)


def minimum_tier(pipeline: Any) -> str | None:
    return tier_for_parallelism(cumulative_parallelism(pipeline))


@dataclass(frozen=True)
class Advice:
    processor: str
    tier: str | None  # recommended; None = no tier can run this pipeline
    parallelism: int
    declared: str | None  # the processor file's tier, if any
    reasons: tuple[str, ...]


def advise_tier(spec: ProcessorSpec, profile: Mapping[str, float] | None = None) -> Advice:
    """Recommend the smallest tier meeting every constraint we can measure. Pure."""
    parallelism = cumulative_parallelism(spec.pipeline)
    floor = tier_for_parallelism(parallelism)
    if floor is None:
        reason = f"cumulative parallelism {parallelism} exceeds SP50's limit of 64: reduce parallelism"
        return Advice(spec.name, None, parallelism, spec.tier, (reason,))
    reasons = [_parallelism_reason(parallelism, floor)]
    if profile:
        floor = _max_tier(floor, _memory_constraint(profile, reasons))
        floor = _max_tier(floor, _throughput_constraint(profile, reasons))
    else:
        reasons.append("no profile recorded: advice from parallelism only (run `invoke profile --record`)")
    if spec.tier and spec.tier != floor:
        size = "larger" if TIERS.index(spec.tier) > TIERS.index(floor) else "smaller"
        reasons.append(f"declared tier {spec.tier} is {size} than the recommended {floor}")
    return Advice(spec.name, floor, parallelism, spec.tier, tuple(reasons))


def resolve_tier(spec: ProcessorSpec, default_tier: str, profile: Mapping[str, float] | None = None) -> str | None:
    """The tier to start ``spec`` on: its own, else DEFAULT_TIER, where ``auto`` means the advice."""
    chosen = spec.tier or default_tier
    return advise_tier(spec, profile).tier if chosen == "auto" else chosen


def advise_all(desired: DesiredState, history: Path) -> list[Advice]:
    """Advice for every desired processor, using the latest profiles recorded in ``history``."""
    profiles = load_latest_profiles(history)
    return [advise_tier(spec, profiles.get(spec.name)) for spec in desired.processors]


def _parallelism_reason(parallelism: int, tier: str) -> str:
    if parallelism == 0:
        return "no stage sets parallelism above 1: any tier allows it"
    return f"cumulative parallelism {parallelism} needs {tier} or larger (max {TIER_TABLE[tier].max_parallelism})"


@dataclass(frozen=True)
class _Capacity:
    """One measured resource against the tier table: ``limit`` is what a tier allows."""

    what: str
    unit: str
    limit: Callable[[Tier], float]
    basis: Callable[[Tier], str]  # how the limit follows from the tier's size
    over: str  # what happens when not even SP50 suffices


MEMORY = _Capacity("memory", "MiB", lambda t: t.ram_gb * 1024 * HEADROOM,
                   lambda t: f"80 % of {t.ram_gb:g} GB RAM, above which Atlas fails the processor",
                   "the processor will run out of memory")
BANDWIDTH = _Capacity("throughput", "Mbps", lambda t: t.bandwidth_mbps * HEADROOM,
                      lambda t: f"80 % of {_amount(t.bandwidth_mbps)} Mbps bandwidth, our headroom for bursts",
                      "split the stream over more processors")


def _memory_constraint(profile: Mapping[str, float], reasons: list[str]) -> str | None:
    memory = [profile[k] for k in ("memory_mb", "state_mb") if _is_number(profile.get(k))]
    if not memory:
        reasons.append("memory not checked: the profile has no memory_mb or state_mb")
        return None
    return _fit(MEMORY, max(memory), "", reasons)


def _throughput_constraint(profile: Mapping[str, float], reasons: list[str]) -> str | None:
    measured = {k: profile[k] for k in THROUGHPUT_METRICS if _is_number(profile.get(k))}
    if not measured:
        reasons.append("throughput not checked: the profile has no input_mbps or output_mbps "
                       "(recorded by `invoke profile --record` when the stats carry message sizes)")
        return None
    name, mbps = max(measured.items(), key=lambda item: item[1])
    return _fit(BANDWIDTH, mbps, f" ({name}, the busier direction)" if len(measured) > 1 else f" ({name})", reasons)


def _fit(capacity: _Capacity, need: float, detail: str, reasons: list[str]) -> str:
    """The smallest tier whose limit holds ``need``; the reason gives the figure and the limits."""
    tiers = list(TIER_TABLE.values())
    index = next((i for i, t in enumerate(tiers) if need <= capacity.limit(t)), None)
    def amount(value: float) -> str:  # in the unit that fits: "2.27 KiB", "1.6 GiB", "160 Mbps"
        return fmt_scaled(value, capacity.unit, compact=True)

    figure = f"{capacity.what} {amount(need)}{detail}"
    if index is None:
        top = tiers[-1]
        reasons.append(f"{figure} exceeds SP50's limit of {amount(capacity.limit(top))} "
                       f"({capacity.basis(top)}): {capacity.over}")
        return top.name
    tier = tiers[index]
    smaller = f"; {tiers[index - 1].name} allows {amount(capacity.limit(tiers[index - 1]))}" if index else ""
    reasons.append(f"{figure} fits {tier.name}: limit {amount(capacity.limit(tier))} = "
                   f"{capacity.basis(tier)}{smaller}")
    return tier.name


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _max_tier(a: str, b: str | None) -> str:
    return a if b is None or TIERS.index(a) >= TIERS.index(b) else b


def load_latest_profiles(path: Path) -> dict[str, dict[str, float]]:
    """processor -> {metric: value} from its latest run in a history.csv; {} when there is none.

    Raises:
        DataFileError: a malformed history (naming the file and line), as for compare-baseline.
    """
    from sp_tasks.profiling.datafiles import read_runs  # pandas-free; imported here to keep validate lean

    latest: dict[str, tuple] = {}  # processor -> (timestamp, run_id) of its newest run
    values: dict[tuple[str, str], dict[str, float]] = {}
    for row in read_runs(path, missing_ok=True):
        name, run = row["processor"], (row["timestamp"], row["run_id"])
        values.setdefault((name, row["run_id"]), {})[row["metric"]] = row["value"]
        latest[name] = max(latest.get(name, run), run)
    return {name: values[(name, run_id)] for name, (_, run_id) in latest.items()}


def render_advice(advice: list[Advice], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps({"advice": [asdict(a) for a in advice]}, indent=2)
    lines = []
    for a in advice:
        lines.append(f"{a.processor}: {a.tier or 'no tier fits'} (declared {a.declared or 'default'})")
        lines.extend(f"  - {reason}" for reason in a.reasons)
    return "\n".join(lines) or "no processors"


def _dig(body: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
