"""Plain-text renderings for a terminal: compare-baseline verdicts and a profile run (pure).

Aligned columns, no colour codes (the task layer decides about colour), stable order.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from sp_tasks.profiling.metrics import METRICS
from sp_tasks.profiling.regression import Finding, Rule, count_verdicts
from sp_tasks.profiling.thresholds import Breach
from sp_tasks.reporting.format import count_line, fmt_change, fmt_floor, fmt_p, fmt_spread, fmt_value, fmt_verdict

if TYPE_CHECKING:
    import pandas as pd


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip(), *(fmt.format(*r).rstrip() for r in rows)]


def render_findings_text(findings: Sequence[Finding], *, rule: Rule | None = None, notes: Sequence[str] = ()) -> str:
    rule = rule or Rule()
    rows = []
    for f in findings:
        unit = METRICS[f.metric].unit
        rows.append(
            (
                f.processor,
                f.metric,
                fmt_spread(f.baseline_median, f.baseline_sd, unit),
                fmt_value(f.current, unit),
                fmt_change(f),
                fmt_p(f.p_value),
                fmt_floor(f.floor_pct),
                fmt_verdict(f),
            )
        )
    header = ("processor", "metric", "baseline (median ± sd)", "current", "Δ", "p", "floor", "verdict")
    lines = [f"compare-baseline: {count_line(count_verdicts(findings))}", ""]
    lines += _table(header, rows) if rows else ["(no current runs to compare)"]
    lines += ["", *(f"note: {n}" for n in notes)] if notes else []
    lines += ["", f"rule: {rule.describe()}"]
    return "\n".join(lines) + "\n"


def render_profile_text(
    summary: "pd.DataFrame",
    notes: Sequence[str],
    breaches: Sequence[Breach],
    *,
    run_id: str,
    recorded_to: str | None,
    written: Sequence[tuple[str, str]] = (),
) -> str:
    """The run summary, notes, threshold breaches, then ``written`` (what, path) and the history line."""
    rows = [(r.processor, r.metric, fmt_value(float(r.value), METRICS[r.metric].unit))
            for r in summary.itertuples(index=False)]
    lines = [f"profile run {run_id}", ""]
    lines += _table(("processor", "metric", "value"), rows) if rows else ["(nothing measured)"]
    lines += ["", *(f"note: {n}" for n in notes)] if notes else []
    if breaches:
        lines += ["", f"{len(breaches)} threshold breach(es):", *(f"  {b.processor}: {b.reason}" for b in breaches)]
    else:
        lines += ["", "thresholds: all within limits"]
    unrecorded = "not recorded in the history (use --record on the base branch)"
    lines += ["", *(f"{what}: {path}" for what, path in written)]
    lines += [f"recorded in {recorded_to}" if recorded_to else unrecorded]
    return "\n".join(lines) + "\n"
