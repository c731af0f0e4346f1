"""The Markdown performance report for PR comments and ``$GITHUB_STEP_SUMMARY`` (pure).

Layout (regression.md §5.1): a title with verdict counts, one line on baseline/current/rule,
any extra ``sections`` (the hook for deploy/plan/health sections, rendered in the given order
right after the title), a table per processor (metric, better direction, baseline median ± run
sd, current, Δ, p, floor, a sparkline of the baseline runs ▸ the current ones, verdict; gated
metrics only), chart links, notes, a collapsed
``<details>`` block with the history's change points, and the rule's parameters in the footer.
Processors with a regression come first, then the others by name. No clock, no randomness: the
same input gives the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from sp_tasks import __version__
from sp_tasks.profiling.changepoints import ChangePoint, describe
from sp_tasks.profiling.metrics import METRIC_NAMES, METRICS
from sp_tasks.profiling.regression import Finding, Rule, Verdict, count_verdicts, gated_findings
from sp_tasks.reporting.format import (
    VERDICT_ICON,
    count_line,
    fmt_change,
    fmt_floor,
    fmt_number,
    fmt_p,
    fmt_pct,
    fmt_spread,
    fmt_value,
    fmt_verdict,
)

ChangePoints = Mapping[tuple[str, str], Sequence[ChangePoint]]  # (processor, metric) -> CPs


@dataclass(frozen=True)
class ReportContext:
    """What the report says about where the numbers come from (all plain, pre-formatted)."""

    env: str
    baseline: str = ""  # e.g. "last 20 runs on main (2025-11-01…2025-11-24)"
    current: str = ""  # e.g. "3 runs of `1a2b3c4`"
    chart_links: Mapping[str, str] = field(default_factory=dict)  # processor -> relative path
    overview_link: str | None = None
    notes: Sequence[str] = ()
    trends: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (processor, metric) -> sparkline


def _title(findings: Sequence[Finding], ctx: ReportContext) -> str:
    counts = count_verdicts(findings)
    mark = "⚠️" if counts[Verdict.REGRESSION] else "✅"
    return f"## {mark} ASP profile `{ctx.env}`: {count_line(counts)}"


def _row(f: Finding, trend: str = "") -> str:
    m = METRICS[f.metric]
    baseline = fmt_spread(f.baseline_median, f.baseline_sd, m.unit)
    cells = (
        VERDICT_ICON[f.verdict],
        m.label,
        m.arrow,
        baseline,
        fmt_value(f.current, m.unit),
        fmt_change(f),
        fmt_p(f.p_value),
        fmt_floor(f.floor_pct),
        f"`{trend}`" if trend else "—",
        fmt_verdict(f),
    )
    return "| " + " | ".join(cells) + " |"


def _processor_section(name: str, findings: Sequence[Finding], ctx: ReportContext) -> list[str]:
    counts = count_line(count_verdicts(findings))
    lines = [
        f"### `{name}` — {counts}",
        "",
        "| | Metric | Better | Baseline (median ± run sd) | Current | Δ | p | Floor | Runs ▸ current | Verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(_row(f, ctx.trends.get((f.processor, f.metric), "")) for f in findings),
    ]
    if name in ctx.chart_links:
        lines += ["", f"![{name} trends]({ctx.chart_links[name]})"]
    return lines + [""]


def _changepoint_block(changepoints: ChangePoints) -> list[str]:
    rows = []
    gated = [(key, cps) for key, cps in changepoints.items() if key[1] in METRIC_NAMES]
    ordered = sorted(gated, key=lambda kv: (kv[0][0], METRIC_NAMES.index(kv[0][1])))
    for (processor, metric), cps in ordered:
        label = METRICS[metric].label
        for cp in cps:
            run = f"`{cp.run_id}`" if cp.run_id else "—"
            rows.append(f"| `{processor}` | {label} | {cp.index + 1} | {run} | {fmt_pct(cp.change_pct)} |")
    header = ["| Processor | Metric | Run # | Run id | Δ |", "|---|---|---|---|---|"]
    body = [*header, *rows] if rows else ["No change points in the history."]
    summary = f"History change points ({len(rows)})"
    return ["<details><summary>" + summary + "</summary>", "", *body, "", "</details>", ""]


def _footer(rule: Rule) -> str:
    floors = ", ".join(f"{m} {fmt_floor(100 * rule.floor(METRICS[m]))}" for m in METRIC_NAMES)
    return (
        f"<sub>sp-tasks {__version__} · rule: {rule.describe()} · floors: {floors} · DLQ zero-tolerance · "
        f"change points: {describe()}</sub>"
    )


def render_report(
    findings: Sequence[Finding],
    *,
    context: ReportContext,
    rule: Rule | None = None,
    changepoints: ChangePoints | None = None,
    sections: Sequence[str] = (),
) -> str:
    """The whole report as one Markdown string ending in a newline.

    ``sections`` are Markdown blocks (e.g. a deploy plan or health-gate result) placed after the
    title line and before the performance tables.
    """
    rule = rule or Rule()
    findings = gated_findings(findings)  # informational metrics (input_mbps, …) have no verdict to show
    lines = [_title(findings, context)]
    source = [f"Baseline: {context.baseline}"] if context.baseline else []
    source += [f"This run: {context.current}"] if context.current else []
    lines += [" · ".join(source), ""] if source else [""]
    for block in sections:
        lines += [block.rstrip("\n"), ""]
    if context.overview_link:
        lines += [f"![overview]({context.overview_link})", ""]
    by_processor: dict[str, list[Finding]] = {}
    for f in findings:
        by_processor.setdefault(f.processor, []).append(f)
    regressed = {f.processor for f in findings if f.verdict is Verdict.REGRESSION}
    for name in sorted(by_processor, key=lambda n: (n not in regressed, n)):  # regressions first
        lines += _processor_section(name, by_processor[name], context)
    if not by_processor:
        lines += ["No current runs to compare.", ""]
    if context.notes:
        lines += ["**Notes**", "", *(f"- {n}" for n in context.notes), ""]
    lines += _changepoint_block(changepoints or {})
    lines.append(_footer(rule))
    return "\n".join(lines) + "\n"
