"""Trend charts: one figure per processor (a panel per metric) and an overview of all verdicts.

Builders are pure: they return a :class:`matplotlib.figure.Figure` made with the explicit Axes
API (no pyplot state) and never save or show it; :func:`save_figure` is the only writer. The Agg
backend is selected on import. Every panel shows the runs of the history, their rolling median,
the baseline band (median ± 2 robust run sd over the comparison window, so outliers neither widen
it nor stretch the axis: runs far outside are drawn as triangles on the panel's edge), the current
run(s) coloured by verdict and the history's change points with their Δ %. The x-axis is labelled
by run date and short commit, values are shown in a unit that fits them (µs/ms/s, B/KiB/MiB/GiB),
metrics that are zero in every run are named in a note instead of drawn, and the caption carries
the rule's parameters (so image and settings never separate). Same input -> same PNG bytes: fixed size,
DPI and style, no timestamps, and the "Software" PNG tag removed.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from sp_tasks.profiling.changepoints import ChangePoint, describe  # noqa: E402
from sp_tasks.profiling.metrics import METRIC_NAMES, METRICS  # noqa: E402
from sp_tasks.profiling.regression import Finding, Rule, Verdict, count_verdicts, gated_findings  # noqa: E402
from sp_tasks.reporting.format import (  # noqa: E402
    VERDICT_COLOR,
    VERDICT_INK,
    VERDICT_ORDER,
    count_line,
    fmt_change,
    fmt_pct,
    scale_for,
)

if TYPE_CHECKING:
    import pandas as pd

DPI = 100
ROLLING = 5  # runs in the rolling median
MIN_SPAN = 0.02  # the y-axis shows at least ±2 % of the level: run-to-run noise of 0.1 % must look flat
STYLE = {"font.size": 9, "font.family": "DejaVu Sans", "axes.grid": True, "grid.alpha": 0.3}
RUN_COLOR, MEDIAN_COLOR, BAND_COLOR, CP_COLOR = "#4C72B0", "#1F3A68", "#9DB9E0", "#CC79A7"
OVERVIEW_FILE = "overview.png"
PANEL_GRID = {"left": 0.07, "right": 0.985, "top": 0.935, "bottom": 0.045, "hspace": 0.42, "wspace": 0.16}
# Verdict text drawn on a white background (the light fill colours are unreadable as text).
TITLE_INK = {Verdict.INCONCLUSIVE: "#A66A00", Verdict.UNCHANGED: "#555555", Verdict.INSUFFICIENT: "#888888"}
THOUSANDS = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}")
CP_LABEL = {"fontsize": 9, "fontweight": "bold", "color": CP_COLOR, "rotation": 90, "ha": "center", "va": "top",
            "bbox": {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}}


def chart_filename(processor: str) -> str:
    """Deterministic, filesystem-safe file name of a processor's chart."""
    return f"trends-{re.sub(r'[^A-Za-z0-9._-]+', '_', processor)}.png"


def caption(rule: Rule) -> str:
    return (
        f"Verdict rule: {rule.describe()}. Band: baseline median ± 2 robust sd (1.4826 × MAD, so one outlier "
        f"does not widen it) over the last {rule.window} runs. Line: rolling median of {ROLLING} runs. Dashed "
        f"verticals: change points ({describe()}) with Δ % of the new level. Runs far outside the band are "
        "drawn as ▲/▼ at the edge of the panel."
    )


def _titles(ax, metric: str, unit: str, finding: Finding | None) -> None:
    m = METRICS[metric]
    ax.set_title(f"{m.label} [{unit}] · {m.arrow} is better", loc="left", fontsize=9, fontweight="bold")
    if finding is not None:
        ink = TITLE_INK.get(finding.verdict, VERDICT_COLOR[finding.verdict])
        label = f"{finding.verdict.value} {fmt_change(finding)}"
        ax.set_title(label, loc="right", fontsize=9, fontweight="bold", color=ink)


def robust_band(window) -> tuple[float, float]:
    """(median, robust sd = 1.4826 × median absolute deviation) of the baseline window."""
    import numpy as np

    if not len(window):
        return 0.0, 0.0
    mid = float(np.median(window))
    return mid, 1.4826 * float(np.median(np.abs(np.asarray(window) - mid)))


def _limits(values, mid: float, spread: float, current: Sequence[float]) -> tuple[float, float]:
    """y-limits holding the band, the current runs and every run within 6 robust sd of the median
    (a single 10× spike would otherwise squash everything else into one line)."""
    import numpy as np

    # Outliers: beyond 6 robust sd and 5 % of the level (noise of 0.001 % is no outlier).
    reach = max(6 * spread, 0.05 * abs(mid)) or 1e-9
    near = [v for v in values if abs(v - mid) <= reach]
    lo = min([*near, *current, mid - 2 * spread, mid * (1 - MIN_SPAN)])
    hi = max([*near, *current, mid + 2 * spread, mid * (1 + MIN_SPAN)])
    pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.1
    return max(0.0, lo - pad) if lo >= 0 else lo - pad, hi + pad


def _ticks(lo: float, hi: float) -> FuncFormatter:
    """Tick labels with as many decimals as the axis span needs, thousands separated."""
    import math

    span = hi - lo
    decimals = 0 if span <= 0 else max(0, min(6, 1 - math.floor(math.log10(span / 4))))
    return FuncFormatter(lambda v, _pos: f"{v:,.{decimals}f}")


def _history(ax, values, rule: Rule, n_current: int) -> tuple[float, float]:
    """Run points, rolling median and the robust baseline band; returns (median, robust sd)."""
    import numpy as np
    import pandas as pd

    x = np.arange(1, len(values) + 1)
    ax.plot(x, values, "o", ms=3, color=RUN_COLOR, alpha=0.7)
    if not len(values):
        return 0.0, 0.0
    ax.plot(x, pd.Series(values).rolling(ROLLING, center=True, min_periods=1).median().to_numpy(), "-", lw=1.5,
            color=MEDIAN_COLOR)
    window = values[-rule.window :]
    mid, spread = robust_band(window)
    left, right = len(values) - len(window) + 0.5, len(values) + n_current + 0.5
    # Every metric we chart is a rate, a latency or a size: a band below zero would only mislead.
    ax.fill_between([left, right], max(0.0, mid - 2 * spread), mid + 2 * spread, color=BAND_COLOR, alpha=0.45, lw=0)
    ax.plot([left, right], [mid, mid], "--", lw=1, color=MEDIAN_COLOR)
    return mid, spread


def _clip_outliers(ax, values, low: float, high: float) -> None:
    """Runs beyond the panel's limits, drawn as triangles on its edge."""
    for i, v in enumerate(values, start=1):
        if v > high or v < low:
            ax.plot([i], [high if v > high else low], "^" if v > high else "v", ms=6, color=RUN_COLOR,
                    clip_on=False)


def _run_labels(ax, runs: "pd.DataFrame", n_current: int) -> None:
    """x ticks at a few runs, labelled by date and short commit; the current runs read "now"."""
    same_day = len({f"{t:%Y-%m-%d}" for t in runs["timestamp"]}) < len(runs) / 2  # several runs a day: add hours
    stamps = [(f"{t:%m-%d %H:%M}" if same_day else f"{t:%Y-%m-%d}", str(sha)[:7])
              for t, sha in zip(runs["timestamp"], runs["git_sha"])]
    total = len(stamps)
    step = max(1, (total + 5) // 6)
    ticks = sorted({*range(1, total + 1, step), total} - {0}) if total else []
    labels = [f"{'now' if i > total - n_current else stamps[i - 1][0]}\n{stamps[i - 1][1]}" for i in ticks]
    ax.set_xticks(ticks, labels, fontsize=7)


def _panel(ax, metric: str, history: "pd.DataFrame", current: "pd.DataFrame", finding: Finding | None,
           cps: Sequence[ChangePoint], rule: Rule) -> None:
    import numpy as np

    raw, now = history["value"].to_numpy(), current["value"].tolist()
    unit, factor = scale_for(METRICS[metric].unit, [*raw, *now])
    values, cur = raw * factor, [v * factor for v in now]
    _titles(ax, metric, unit, finding)
    mid, spread = _history(ax, values, rule, len(cur))
    if cur:
        color = VERDICT_COLOR[finding.verdict] if finding else "#000000"
        xc = np.arange(len(values) + 1, len(values) + len(cur) + 1)
        ax.plot(xc, cur, "D", ms=7, color=color, markeredgecolor="black", markeredgewidth=0.6)
    low, high = _limits(values, mid, spread, cur)
    ax.set_ylim(low, high)
    _clip_outliers(ax, values, low, high)
    ax.set_xlim(0.5, len(values) + len(cur) + 0.5)
    _run_labels(ax, pd_concat(history, current), len(cur))
    ax.yaxis.set_major_formatter(_ticks(low, high))
    for cp in cps:
        ax.axvline(cp.index + 0.5, ls="--", lw=1.2, color=CP_COLOR)
        ax.text(cp.index + 0.5, 0.97, fmt_pct(cp.change_pct), transform=ax.get_xaxis_transform(), **CP_LABEL)


def pd_concat(*frames: "pd.DataFrame") -> "pd.DataFrame":
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def _legend(ax, rule: Rule, notes: Sequence[str]) -> None:
    ax.axis("off")
    handles = [
        Line2D([], [], ls="", marker="o", ms=4, color=RUN_COLOR, label="history run"),
        Line2D([], [], lw=1.5, color=MEDIAN_COLOR, label=f"rolling median ({ROLLING} runs)"),
        Patch(color=BAND_COLOR, alpha=0.45, label="baseline median ± 2 robust sd"),
        Line2D([], [], ls="--", color=CP_COLOR, label="change point (Δ %)"),
    ]
    handles += [Line2D([], [], ls="", marker="D", ms=7, color=VERDICT_COLOR[v], markeredgecolor="black",
                       label=f"current run: {v.value}") for v in VERDICT_ORDER[:4]]
    ax.legend(handles=handles, loc="upper left", ncols=2, frameon=False, fontsize=9, borderaxespad=0.5,
              columnspacing=1.2)
    text = "\n".join([textwrap.fill(n, 90) for n in notes] + [textwrap.fill(caption(rule), 90)])
    ax.text(0.0, 0.0, text, transform=ax.transAxes, fontsize=7.5, va="bottom", color="#333333")


def build_processor_figure(
    processor: str,
    history: "pd.DataFrame",
    current: "pd.DataFrame",
    findings: Sequence[Finding],
    changepoints: Mapping[tuple[str, str], Sequence[ChangePoint]],
    rule: Rule | None = None,
    notes: Sequence[str] = (),
) -> Figure:
    """One processor's trends: a panel per gated metric with data (vocabulary order) plus a legend
    panel; metrics that are zero in every run are named in a note instead of drawn flat.

    ``history``/``current`` have the run columns; history is drawn oldest first, without runs
    that are also in ``current``. ``notes`` about this processor (runs skipped as not comparable)
    go under the legend.
    """
    rule = rule or Rule()
    order = ["timestamp", "run_id"]
    mine = history[(history["processor"] == processor) & ~history["run_id"].isin(set(current["run_id"]))]
    mine = mine.sort_values(order, kind="stable")
    now = current[current["processor"] == processor].sort_values(order, kind="stable")
    by_metric = {f.metric: f for f in gated_findings(findings) if f.processor == processor}
    series = {m: (mine[mine["metric"] == m].reset_index(drop=True), now[now["metric"] == m]) for m in METRIC_NAMES}
    drawn = [m for m, (h, c) in series.items() if (h["value"] != 0).any() or (c["value"] != 0).any()]
    silent = [m for m in METRIC_NAMES if m not in drawn]
    mine_notes = [n.split(": ", 1)[1] for n in notes if n.startswith(f"{processor}: ")]
    if silent:
        zero = [METRICS[m].label for m in silent if len(series[m][0]) or len(series[m][1])]
        missing = [METRICS[m].label for m in silent if not (len(series[m][0]) or len(series[m][1]))]
        mine_notes += ([f"zero in every run (not drawn): {', '.join(zero)}"] if zero else []) + (
            [f"not measured: {', '.join(missing)}"] if missing else [])
    rows = (len(drawn) + 2) // 2
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(12, 3.1 * rows + 0.75), dpi=DPI)  # fixed margins: half the time of a layout engine
        height = 3.1 * rows + 0.75
        grid = {**PANEL_GRID, "top": 1 - 0.75 / height, "bottom": 0.45 / height}
        axes = fig.subplots(rows, 2, gridspec_kw=grid, squeeze=False).ravel()
        for ax, metric in zip(axes, drawn):
            history_m, current_m = series[metric]
            _panel(ax, metric, history_m, current_m, by_metric.get(metric),
                   changepoints.get((processor, metric), ()), rule)
        for ax in axes[len(drawn):-1]:
            ax.axis("off")
        _legend(axes[-1], rule, mine_notes)
        fig.suptitle(f"{processor}: {count_line(count_verdicts(by_metric.values()))}", fontsize=13, fontweight="bold")
    return fig


def _cell(ax, row: int, col: int, finding: Finding | None) -> None:
    fill = VERDICT_COLOR[finding.verdict] if finding else "#FFFFFF"
    ax.add_patch(Rectangle((col, row), 0.96, 0.9, color=fill))
    label = "—" if finding is None else fmt_change(finding) if fmt_change(finding) != "—" else finding.verdict.value
    ink = VERDICT_INK[finding.verdict] if finding else "#999999"
    ax.text(col + 0.48, row + 0.45, label, ha="center", va="center", fontsize=10, color=ink)


def build_overview_figure(findings: Sequence[Finding], rule: Rule | None = None) -> Figure:
    """A verdict grid: processors × gated metrics, coloured by verdict, Δ % in each cell."""
    findings = gated_findings(findings)
    processors = sorted({f.processor for f in findings})
    cells = {(f.processor, f.metric): f for f in findings}
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(12, 1.9 + 0.45 * max(1, len(processors))), dpi=DPI, layout="constrained")
        ax = fig.subplots()
        ax.grid(False)
        for row, name in enumerate(processors):
            for col, metric in enumerate(METRIC_NAMES):
                _cell(ax, row, col, cells.get((name, metric)))
        ax.set_xlim(0, len(METRIC_NAMES))
        ax.set_ylim(max(1, len(processors)), 0)
        labels = [f"{METRICS[m].label}\n{METRICS[m].arrow}" for m in METRIC_NAMES]
        ax.set_xticks([c + 0.48 for c in range(len(METRIC_NAMES))], labels)
        ax.set_yticks([r + 0.45 for r in range(len(processors))], processors)
        ax.tick_params(length=0)
        ax.xaxis.tick_top()
        for side in ax.spines.values():
            side.set_visible(False)
        handles = [Patch(facecolor=VERDICT_COLOR[v], edgecolor="#999999", label=v.value) for v in VERDICT_ORDER]
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
        fig.suptitle(f"ASP profile overview: {count_line(count_verdicts(findings))}", fontsize=12, fontweight="bold")
    return fig


def save_figure(fig: Figure, path: str | Path, metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``fig`` as PNG (byte-stable: no Software tag, fixed DPI) and return the path.
    ``metadata`` adds PNG text chunks (the chart cache keeps its input digest there)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(STYLE):
        fig.savefig(path, dpi=DPI, metadata={"Software": None, **(metadata or {})})
    return path
