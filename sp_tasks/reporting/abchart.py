"""The A/B chart: each processor's base and head values round by round, one panel per metric (pure).

Rows are processors — changed ones and any that moved first, at most :data:`MAX_ROWS` — and
columns the gated metrics. Each panel draws the base rounds and the head rounds side by side on one
scaled axis (µs/ms/s, B/KiB/MiB), with each side's mean as a dashed line and the verdict with its
Δ in its corner, coloured as everywhere else. A metric that was zero on both sides in every round
of every processor is left out and listed under the figure; one that is zero for one processor
says so in its panel. Same input, same PNG bytes.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from sp_tasks.profiling.ab import AbReport  # noqa: E402
from sp_tasks.profiling.abcopies import CHANGED  # noqa: E402
from sp_tasks.profiling.metrics import METRIC_NAMES, METRICS  # noqa: E402
from sp_tasks.profiling.regression import Verdict  # noqa: E402
from sp_tasks.reporting.charts import STYLE, TITLE_INK  # noqa: E402
from sp_tasks.reporting.format import VERDICT_COLOR, fmt_change, scale_for  # noqa: E402

MAX_ROWS = 8
BASE_COLOR, HEAD_COLOR = "#4C72B0", "#DD8452"


def _rows(report: AbReport) -> list[str]:
    moved = {f.processor for f in report.findings if f.verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT)}
    names = sorted({f.processor for f in report.findings},
                   key=lambda n: (n not in moved, report.status.get(n) != CHANGED, n))
    return names[:MAX_ROWS]


def _series(report: AbReport) -> dict[tuple[str, str, str], list[float]]:
    """(processor, metric, side) -> values in round order, read once."""
    out: dict[tuple[str, str, str], list[float]] = {}
    for r in report.runs.sort_values("run_id", kind="stable").itertuples(index=False):
        out.setdefault((r.processor, r.metric, r.flags), []).append(float(r.value))
    return out


def _panel(ax, values: dict, processor: str, metric: str, finding) -> None:
    base, head = (values.get((processor, metric, s), []) for s in ("base", "head"))
    ax.set_title(METRICS[metric].label, loc="left", fontsize=8, fontweight="bold")
    if finding is not None:
        ink = TITLE_INK.get(finding.verdict, VERDICT_COLOR[finding.verdict])
        ax.text(0.98, 0.96, f"{finding.verdict.value} {fmt_change(finding)}", transform=ax.transAxes, ha="right",
                va="top", fontsize=7, color=ink, bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1})
    if not any(base + head):
        ax.text(0.5, 0.45, "0 in every round" if base + head else "not measured", transform=ax.transAxes,
                ha="center", va="center", fontsize=8, color="#777777")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    unit, factor = scale_for(METRICS[metric].unit, base + head)
    n = max(len(base), len(head), 1)
    for side, color, offset, label in ((base, BASE_COLOR, -0.12, "base"), (head, HEAD_COLOR, 0.12, "head")):
        if side:
            xs = [i + 1 + offset for i in range(len(side))]
            ys = [v * factor for v in side]
            ax.plot(xs, ys, "o", ms=4, color=color, label=label)
            mean = sum(ys) / len(ys)
            ax.plot([0.6, n + 0.4], [mean, mean], "--", lw=1, color=color)
    ax.set_xticks(range(1, n + 1))
    ax.set_xlim(0.5, n + 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(3))  # few labels: text layout is most of the drawing time
    ax.tick_params(labelsize=7)
    ax.set_ylabel(unit, fontsize=8)


def build_ab_figure(report: AbReport) -> Figure:
    """Base vs head per processor (rows) and metric (panels); zero-only metrics listed below."""
    rows = _rows(report)
    findings = {(f.processor, f.metric): f for f in report.findings}
    values = _series(report)
    drawn = [m for m in METRIC_NAMES if any(v for p in rows for s in ("base", "head") for v in values.get((p, m, s), []))]
    zero = [m for m in METRIC_NAMES if m not in drawn]
    width, height = 2.5 * max(1, len(drawn)) + 1.2, 1.9 * max(1, len(rows)) + 1.3
    # Fixed margins in inches: a layout engine costs seconds for a grid of 30 panels.
    margins = {"left": 1.0 / width, "right": 1 - 0.2 / width, "top": 1 - 0.55 / height, "bottom": 0.75 / height,
               "wspace": 0.45, "hspace": 0.55}
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), dpi=100)
        grid = fig.subplots(max(1, len(rows)), max(1, len(drawn)), squeeze=False, gridspec_kw=margins)
        for r, processor in enumerate(rows):
            for c, metric in enumerate(drawn):
                _panel(grid[r][c], values, processor, metric, findings.get((processor, metric)))
            grid[r][0].annotate(processor, xy=(0, 0.5), xycoords="axes fraction", xytext=(-42, 0),
                                textcoords="offset points", rotation=90, ha="center", va="center",
                                fontsize=9, fontweight="bold")
        if rows and drawn:
            grid[0][0].legend(loc="best", fontsize=7, frameon=False)
        more = len({f.processor for f in report.findings}) - len(rows)
        notes = []
        if zero:
            notes.append("zero in every round on both sides (not drawn): " + ", ".join(METRICS[m].label for m in zero))
        if more > 0:
            notes.append(f"{more} more processor(s) in .sp/{report.env}/ab/runs.csv")
        notes.append(f"x: round (1 = first); base {report.base_sha[:7]}, head {report.head_sha[:7]}"
                     + (" + uncommitted" if report.head_dirty else ""))
        fig.suptitle(f"perf-ab {report.env}: base vs head, {report.rounds} rounds × {report.duration:g} s",
                     fontsize=11, fontweight="bold")
        fig.text(0.5, 0.12 / height, " · ".join(notes), ha="center", va="bottom", fontsize=8)
    return fig
