"""Absolute limits from ``thresholds.json`` checked against a run summary (pure).

Keys (global, or per processor under ``"processors": {"<name>": {...}}``, which override the
global value of the same key for that processor):

* ``<metric>_max`` / ``<metric>_min`` for any vocabulary metric, e.g. ``dlq_rate_max: 0``;
* a bare metric name is a limit in its bad direction: ``memory_mb`` and ``latency_p99_ms``
  (the seed keys) are maxima, ``output_rate`` would be a minimum;
* ``throughput_min`` (seed key) is the minimum **input_rate**: what the processor consumes per
  second is its throughput; output can legitimately be far lower (a ``$match`` that drops 90 %,
  a window that emits once a minute), so a floor on output_rate would fail healthy filters.
* the informational bandwidth metrics take a maximum only: ``input_mbps_max`` /
  ``output_mbps_max`` (e.g. a Kafka topic quota, or 80 % of the tier's bandwidth so ``invoke
  profile`` fails before a processor outgrows its tier). No ``_min`` and no bare name: the API
  may omit the size counters, and a floor would then breach on a healthy processor, while
  ``throughput_min`` already floors throughput in msg/s.

A ``null`` limit means "no limit" (a processor can lift a global limit that way). Keys starting
with ``_`` or ``$`` are comments and sections owned by other modules (``health``,
:data:`sp_tasks.settings.SECTIONS`) are skipped. An unknown key or a non-numeric limit is a
:class:`~sp_tasks.errors.InvalidEnvironment` (exit 4) naming the file and key. A maximum is not checked when its
metric was not measured; a minimum is breached (nothing measured means nothing flowed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from sp_tasks.errors import InvalidEnvironment
from sp_tasks.profiling.metrics import METRIC_NAMES, METRICS, RUN_METRICS
from sp_tasks.settings import SECTIONS
from sp_tasks.units import fmt_scaled

if TYPE_CHECKING:
    import pandas as pd

ALIASES: dict[str, tuple[str, str]] = {"throughput_min": ("input_rate", "min")}
Limits = dict[tuple[str, str], float | None]  # (metric, "max" | "min") -> limit; None = no limit


@dataclass(frozen=True)
class Breach:
    processor: str
    metric: str
    kind: str  # "max" | "min"
    limit: float
    value: float | None  # None: not measured
    reason: str


def _parse_key(key: str) -> tuple[str, str] | None:
    if key in ALIASES:
        return ALIASES[key]
    for kind in ("max", "min"):
        if key.endswith(f"_{kind}") and key[: -len(kind) - 1] in METRICS:
            return key[: -len(kind) - 1], kind
    if key in METRICS:
        return key, "min" if METRICS[key].higher_is_better else "max"
    return None


def _key(key: str, where: str) -> tuple[str, str]:
    found = _parse_key(key)
    if found is not None and (METRICS[found[0]].gated or key == f"{found[0]}_max"):
        return found
    if found is not None:
        raise InvalidEnvironment(f"{where}: {key!r}: {found[0]} is informational and takes only a maximum; "
                          f"use {found[0]}_max or remove the key")
    informational = [f"{m}_max" for m in RUN_METRICS if m not in METRIC_NAMES]
    known = ", ".join([*ALIASES, *(f"{m}[_max|_min]" for m in METRIC_NAMES), *informational, "processors"])
    raise InvalidEnvironment(f"{where}: unknown threshold key {key!r}; known keys: {known}")


def _limits(section: Mapping[str, Any], where: str) -> Limits:
    out: Limits = {}
    for key, value in section.items():
        if key == "processors" or key in SECTIONS or key.startswith(("_", "$")):
            continue
        metric, kind = _key(key, where)
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if value is not None and not number:
            raise InvalidEnvironment(f"{where}: {key} must be a number or null, got {value!r}")
        out[(metric, kind)] = None if value is None else float(value)
    return out


def parse_thresholds(
    thresholds: Mapping[str, Any], *, source: str = "thresholds.json"
) -> tuple[Limits, dict[str, Limits]]:
    """(global limits, each processor's own overriding limits)."""
    if not isinstance(thresholds, Mapping):
        raise InvalidEnvironment(f"{source}: expected a JSON object of limits")
    base = _limits(thresholds, source)
    overrides = thresholds.get("processors") or {}
    if not isinstance(overrides, Mapping):
        raise InvalidEnvironment(f"{source}: processors must be an object of {{name: {{limits}}}}")
    per = {}
    for name, section in overrides.items():
        if not isinstance(section, Mapping):
            raise InvalidEnvironment(f"{source}: processors.{name} must be an object of limits")
        per[name] = _limits(section, f"{source}: processors.{name}")
    return base, per


def _breach(processor: str, metric: str, kind: str, limit: float, value: float | None, scope: str) -> Breach | None:
    unit = METRICS[metric].unit
    if value is None:
        if kind == "max":
            return None
        minimum = fmt_scaled(limit, unit, compact=True)
        return Breach(processor, metric, kind, limit, None, f"{metric} not measured (min {minimum}, {scope})")
    if (kind == "max" and value > limit) or (kind == "min" and value < limit):
        sign = ">" if kind == "max" else "<"
        shown, bound = fmt_scaled(value, unit, compact=True), fmt_scaled(limit, unit, compact=True)
        reason = f"{metric} {shown} {sign} {kind} {bound} ({scope})"
        return Breach(processor, metric, kind, limit, value, reason)
    return None


def _vocabulary_order(item: tuple[tuple[str, str], Any]) -> tuple[int, str]:
    (metric, kind), _ = item
    return RUN_METRICS.index(metric), kind


def check_thresholds(
    summary: "pd.DataFrame", thresholds: Mapping[str, Any], *, source: str = "thresholds.json"
) -> list[Breach]:
    """Every limit broken by a run summary (``processor, metric, value`` rows), in a stable order.

    Raises:
        InvalidEnvironment: an unknown key or a non-numeric limit in ``thresholds``.
    """
    base, per = parse_thresholds(thresholds, source=source)
    values = {(r.processor, r.metric): float(r.value) for r in summary.itertuples(index=False)}
    breaches = []
    for processor in sorted(set(summary["processor"])):
        own = per.get(processor, {})
        for (metric, kind), limit in sorted({**base, **own}.items(), key=_vocabulary_order):
            if limit is None:
                continue
            scope = f"limit for {processor}" if (metric, kind) in own else "global limit"
            found = _breach(processor, metric, kind, limit, values.get((processor, metric)), scope)
            if found:
                breaches.append(found)
    return breaches
