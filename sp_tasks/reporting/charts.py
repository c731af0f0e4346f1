"""Trend charts: one figure per processor (a panel per metric) and an overview of all verdicts.

Builders are pure: they return a :class:`matplotlib.figure.Figure` made with the explicit Axes
API (no pyplot state) and never save or show it; :func:`save_figure` is the only writer. The Agg
backend is selected on import. Every panel shows the runs of the history, their rolling median,
the baseline band (median ± 2 run sd over the comparison window), the current run(s) coloured by
verdict, the history's change points with their Δ %, and the figure caption carries the rule's
parameters (so image and settings never separate). Same input -> same PNG bytes: fixed size,
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
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

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
)

if TYPE_CHECKING:
    import pandas as pd

DPI = 100
ROLLING = 5  # runs in the rolling median
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
        f"Verdict rule: {rule.describe()}. Band: baseline median ± 2 run sd over the last {rule.window} runs. "
        f"Line: rolling median of {ROLLING} runs. Dashed verticals: change points ({describe()}) "
        "with Δ % of the new level."
    )


def _titles(ax, metric: str, finding: Finding | None) -> None:
    m = METRICS[metric]
    ax.set_title(f"{m.label} [{m.unit}] · {m.arrow} is better", loc="left", fontsize=9, fontweight="bold")
    if finding is not None:
        ink = TITLE_INK.get(finding.verdict, VERDICT_COLOR[finding.verdict])
        label = f"{finding.verdict.value} {fmt_change(finding)}"
        ax.set_title(label, loc="right", fontsize=9, fontweight="bold", color=ink)


def _history(ax, history: "pd.DataFrame", rule: Rule, n_current: int) -> None:
    """Run points, rolling median, and the baseline band over the comparison window."""
    import numpy as np

    values = history["value"].to_numpy()
    x = np.arange(1, len(values) + 1)
    ax.plot(x, values, "o", ms=3, color=RUN_COLOR, alpha=0.7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # runs are counted, never 2.5
    if not len(values):
        return
    ax.plot(x, history["value"].rolling(ROLLING, center=True, min_periods=1).median().to_numpy(), "-", lw=1.5,
            color=MEDIAN_COLOR)
    window = values[-rule.window :]
    mid, sd = float(np.median(window)), float(np.std(window, ddof=1)) if len(window) > 1 else 0.0
    left, right = len(values) - len(window) + 0.5, len(values) + n_current + 0.5
    # Every metric we chart is a rate, a latency or a size: a band below zero would only mislead.
    ax.fill_between([left, right], max(0.0, mid - 2 * sd), mid + 2 * sd, color=BAND_COLOR, alpha=0.45, lw=0)
    ax.plot([left, right], [mid, mid], "--", lw=1, color=MEDIAN_COLOR)


def _panel(ax, metric: str, history: "pd.DataFrame", current: list[float], finding: Finding | None,
           cps: Sequence[ChangePoint], rule: Rule) -> None:
    import numpy as np

    _titles(ax, metric, finding)
    if history.empty and not current:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#777777")
        return
    _history(ax, history, rule, len(current))
    ax.yaxis.set_major_formatter(THOUSANDS)
    if current:
        color = VERDICT_COLOR[finding.verdict] if finding else "#000000"
        xc = np.arange(len(history) + 1, len(history) + len(current) + 1)
        ax.plot(xc, current, "D", ms=7, color=color, markeredgecolor="black", markeredgewidth=0.6)
    for cp in cps:
        ax.axvline(cp.index + 0.5, ls="--", lw=1.2, color=CP_COLOR)
        ax.text(cp.index + 0.5, 0.97, fmt_pct(cp.change_pct), transform=ax.get_xaxis_transform(), **CP_LABEL)


def _legend(ax, rule: Rule) -> None:
    ax.axis("off")
    handles = [
        Line2D([], [], ls="", marker="o", ms=4, color=RUN_COLOR, label="history run"),
        Line2D([], [], lw=1.5, color=MEDIAN_COLOR, label=f"rolling median ({ROLLING} runs)"),
        Patch(color=BAND_COLOR, alpha=0.45, label="baseline median ± 2 sd"),
        Line2D([], [], ls="--", color=CP_COLOR, label="change point (Δ %)"),
    ]
    handles += [Line2D([], [], ls="", marker="D", ms=7, color=VERDICT_COLOR[v], markeredgecolor="black",
                       label=f"current run: {v.value}") for v in VERDICT_ORDER[:4]]
    ax.legend(handles=handles, loc="upper left", ncols=2, frameon=False, fontsize=9, borderaxespad=0.5,
              columnspacing=1.2)
    ax.text(0.0, 0.0, textwrap.fill(caption(rule), 80), transform=ax.transAxes, fontsize=8, va="bottom",
            color="#333333")


def build_processor_figure(
    processor: str,
    history: "pd.DataFrame",
    current: "pd.DataFrame",
    findings: Sequence[Finding],
    changepoints: Mapping[tuple[str, str], Sequence[ChangePoint]],
    rule: Rule | None = None,
    notes: Sequence[str] = (),
) -> Figure:
    """One processor's trends: 7 gated-metric panels in vocabulary order plus a legend panel.

    ``history``/``current`` have the run columns; history is drawn oldest first, without runs
    that are also in ``current``.
    """
    rule = rule or Rule()
    order = ["timestamp", "run_id"]
    mine = history[(history["processor"] == processor) & ~history["run_id"].isin(set(current["run_id"]))]
    mine = mine.sort_values(order, kind="stable")
    now = current[current["processor"] == processor].sort_values(order, kind="stable")
    by_metric = {f.metric: f for f in gated_findings(findings) if f.processor == processor}
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(12, 12.5), dpi=DPI)  # fixed margins: half the time of a layout engine
        axes = fig.subplots(4, 2, gridspec_kw=PANEL_GRID).ravel()
        for ax, metric in zip(axes, METRIC_NAMES):
            series = mine[mine["metric"] == metric].reset_index(drop=True)
            cur = now.loc[now["metric"] == metric, "value"].tolist()
            _panel(ax, metric, series, cur, by_metric.get(metric), changepoints.get((processor, metric), ()), rule)
        for ax in axes[-3:-1]:
            ax.set_xlabel("run (oldest → newest; diamonds: current)")
        _legend(axes[-1], rule)
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
