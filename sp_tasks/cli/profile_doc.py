"""The seed guide's ``sp processors profile`` JSON document, built from a profile run. Pure.

Shape (what the guide's jq filters read)::

    {"processors": {NAME: {METRIC: {"avg", "min", "max", "p50", "p95", "last"}, …,
                           "samples": N, "recommendations": [...]}},
     "thresholds": {...}, "summary": {...}}

METRIC is our vocabulary (``sp_tasks.profiling.metrics``): ``memory_mb`` and ``latency_p99_ms``
are the seed's own names. Each metric's series is what the run summary is computed from: the
steady-state polls (after the warm-up cut of ``frames.WARMUP_FRACTION``) at which the processor
was STARTED — gauge values as polled, rates per interval between two such polls (a counter that
went down restarted at 0). For rates ``avg`` is the run summary's time-weighted rate, so it is
exactly the number ``invoke profile`` reports and records; for gauges it is the mean. A metric
Atlas did not report is absent, never 0. Recommendations restate what the limits and the
numbers say (a breach, headroom under 20 %, DLQ traffic, no input), nothing guessed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sp_tasks.profiling.metrics import METRICS, STATE_SAMPLE
from sp_tasks.units import fmt_scaled

if TYPE_CHECKING:
    import pandas as pd

STATS = ("avg", "min", "max", "p50", "p95", "last")
HEADROOM = 0.8  # a value above 80 % of its maximum is worth a recommendation before it breaches


def metric_series(samples: "pd.DataFrame", warmup_fraction: float) -> dict[str, dict[str, list[float]]]:
    """processor -> metric -> the steady-state series (see the module docstring)."""
    out: dict[str, dict[str, list[float]]] = {}
    if not len(samples):
        return out
    first, last = samples["timestamp"].min(), samples["timestamp"].max()
    start = first + (last - first) * warmup_fraction
    for name, group in samples.groupby("processor", sort=True):
        wide = group.pivot_table(index="timestamp", columns="metric", values="value", aggfunc="last").sort_index()
        wide = wide[wide.index >= start]
        running = wide[STATE_SAMPLE] == 1.0 if STATE_SAMPLE in wide else wide.index.to_series().notna()
        series = {}
        for metric in METRICS.values():
            if metric.source not in wide:
                continue
            values = _rates(wide, metric.source, running) if metric.kind == "rate" else \
                wide.loc[running, metric.source].dropna().tolist()
            if values:
                series[metric.name] = [v * metric.scale for v in values] if metric.kind == "rate" else values
        out[str(name)] = series
    return out


def _rates(wide: "pd.DataFrame", counter: str, running: "pd.Series") -> list[float]:
    values = wide[counter]
    seconds = wide.index.to_series().diff().dt.total_seconds()
    increment = values.diff()
    increment = increment.where(increment >= 0, values)  # a reset: the counter restarted at 0
    usable = running & running.shift(1, fill_value=False) & values.notna() & values.shift(1).notna() & (seconds > 0)
    return (increment[usable] / seconds[usable]).tolist()


def describe(values: Sequence[float], avg: float | None = None) -> dict[str, float]:
    import numpy as np

    data = np.asarray(values, dtype=float)
    return {"avg": float(data.mean()) if avg is None else float(avg), "min": float(data.min()),
            "max": float(data.max()), "p50": float(np.percentile(data, 50)), "p95": float(np.percentile(data, 95)),
            "last": float(data[-1])}


def recommendations(processor: str, stats: Mapping[str, Mapping[str, float]], breaches: Sequence[Any],
                    limits: Mapping[tuple[str, str], float | None], notes: Sequence[str]) -> list[str]:
    """What a person should look at for this processor, most pressing first."""
    found = [f"threshold breached: {b.reason}" for b in breaches if b.processor == processor]
    breached = {(b.metric, b.kind) for b in breaches if b.processor == processor}
    for (metric, kind), limit in sorted(limits.items()):
        value = (stats.get(metric) or {}).get("avg")
        if kind == "max" and limit and value is not None and (metric, kind) not in breached and value > HEADROOM * limit:
            unit = METRICS[metric].unit
            found.append(f"{metric} averages {fmt_scaled(value, unit, compact=True)}, {value / limit:.0%} of its "
                         f"maximum {fmt_scaled(limit, unit, compact=True)}: little headroom left (a bigger tier, "
                         "or a leaner pipeline)")
    dlq = (stats.get("dlq_rate") or {}).get("avg")
    if dlq and ("dlq_rate", "max") not in breached:
        found.append(f"{dlq:.3g} msg/s go to the dead letter queue: read the DLQ collection for the reason")
    if "input_rate" in stats and not stats["input_rate"]["max"]:
        found.append("no input during the run: is the source producing, and its connection right?")
    found += [n.split(": ", 1)[1] for n in notes if n.startswith(f"{processor}: ")]
    return found or ["no issues: every metric within its limits"]


def build_document(samples: "pd.DataFrame", summary: "pd.DataFrame", *, breaches: Sequence[Any],
                   thresholds: Mapping[str, Any], thresholds_source: str, notes: Sequence[str],
                   run_id: str, duration: float, interval: float, warmup_fraction: float) -> dict[str, Any]:
    from sp_tasks.profiling.thresholds import parse_thresholds

    base, per = parse_thresholds(thresholds, source=thresholds_source)
    run_values = {(r.processor, r.metric): float(r.value) for r in summary.itertuples(index=False)}
    polls = samples[samples["metric"] == STATE_SAMPLE] if len(samples) else samples
    processors: dict[str, Any] = {}
    for name, series in metric_series(samples, warmup_fraction).items():
        stats = {m: describe(v, run_values.get((name, m)) if METRICS[m].kind == "rate" else None)
                 for m, v in series.items()}
        count = int((polls["processor"] == name).sum()) if len(polls) else 0
        processors[name] = {**stats, "samples": count,
                            "recommendations": recommendations(name, stats, breaches, {**base, **per.get(name, {})},
                                                               notes)}
    return {"processors": processors, "thresholds": dict(thresholds),
            "summary": {"run_id": run_id, "processors": len(processors), "duration_s": duration,
                        "interval_s": interval, "thresholds_source": thresholds_source,
                        "breaches": [{"processor": b.processor, "metric": b.metric, "kind": b.kind, "limit": b.limit,
                                      "value": b.value, "reason": b.reason} for b in breaches],
                        "healthy": not breaches, "notes": list(notes)}}
