"""The perf-ab report: a PR comment people read, and the same verdicts for a terminal (pure).

The comment, top to bottom: a headline verdict; the processors the PR changed (added, removed);
a table of what moved — regressions first, then improvements, then the changed processors'
other findings — each row with a Unicode sparkline of its rounds (base ▸ head, one scale), so the
comment reads without any image; every row that did not move folded into ``<details>``; the
base-vs-head chart when a URL for it is given (images in a PR comment need an absolute URL: the
workflow pushes the PNG to a branch and links it at that commit); how it was measured, folded.

GitHub refuses comments over 65,536 characters. The comment is built to fit: when the folded
rows would not, they shrink to one line per processor, and as a last resort rows are cut with a
note saying how many (:data:`COMMENT_LIMIT` leaves room for the workflow's own lines).
"""
from __future__ import annotations

from typing import Sequence

from sp_tasks import __version__
from sp_tasks.profiling.ab import AbReport
from sp_tasks.profiling.abcopies import ADDED, CHANGED, REMOVED, SKIPPED, UNCHANGED
from sp_tasks.profiling.metrics import METRIC_NAMES, METRICS
from sp_tasks.profiling.regression import Finding, Verdict
from sp_tasks.reporting.format import (VERDICT_ICON, count_line, fmt_change, fmt_p, fmt_scaled, fmt_verdict,
                                       sparkline)

COMMENT_LIMIT = 60_000  # GitHub's limit is 65,536 characters per comment
MOVED = (Verdict.REGRESSION, Verdict.IMPROVEMENT)


def spark(report: AbReport, f: Finding) -> str:
    """Base rounds ▸ head rounds on one scale, e.g. ``▇▇▆▇▇▸▁▁▂▁▁``."""
    base, head = report.round_values(f.processor, f.metric)
    both = base + head
    if not both:
        return ""
    lo, hi = min(both), max(both)
    return f"{sparkline(base, lo, hi)}▸{sparkline(head, lo, hi)}"


def _label(metric: str) -> str:
    m = METRICS[metric]
    return f"{m.label} {'↑' if m.higher_is_better else '↓'}"


def _value(f: Finding, which: str) -> str:
    return fmt_scaled(f.baseline_median if which == "base" else f.current, METRICS[f.metric].unit)


def _verdict(f: Finding, report: AbReport) -> str:
    text = fmt_verdict(f)
    if report.status.get(f.processor) == UNCHANGED and f.verdict in MOVED:
        text += " — A/A check failed: this processor did not change"
    return text


def _row(f: Finding, report: AbReport) -> str:
    cells = (VERDICT_ICON[f.verdict], f"`{f.processor}`", _label(f.metric), _value(f, "base"), _value(f, "head"),
             fmt_change(f), fmt_p(f.p_value), f"`{spark(report, f)}`", _verdict(f, report))
    return "| " + " | ".join(cells) + " |"


HEADER = ["| | Processor | Metric | Base | Head | Δ | p | Rounds base ▸ head | Verdict |",
          "|---|---|---|---|---|---|---|---|---|"]


def _order(f: Finding) -> tuple:
    rank = {Verdict.REGRESSION: 0, Verdict.IMPROVEMENT: 1}.get(f.verdict, 2)
    return rank, f.processor, METRIC_NAMES.index(f.metric)


def _split(report: AbReport) -> tuple[list[Finding], list[Finding]]:
    """(rows shown, rows folded): moved rows and the changed processors' unsettled ones are shown."""
    shown, folded = [], []
    for f in sorted(report.findings, key=_order):
        changed = report.status.get(f.processor) == CHANGED
        (shown if f.verdict in MOVED or (changed and f.verdict is not Verdict.UNCHANGED) else folded).append(f)
    return shown, folded


def headline(report: AbReport) -> str:
    regressed = sorted({f.processor for f in report.regressions})
    if report.aa_failures:
        names = ", ".join(sorted({f"`{f.processor}`" for f in report.aa_failures}))
        return f"## ⚠️ perf-ab `{report.env}`: not trustworthy — unchanged {names} measured apart"
    if regressed:
        return (f"## 🔴 perf-ab `{report.env}`: {len(report.regressions)} regression"
                f"{'s' if len(report.regressions) != 1 else ''} in {', '.join(f'`{n}`' for n in regressed)}")
    better = sum(f.verdict is Verdict.IMPROVEMENT for f in report.findings)
    tail = f" · {better} improvement{'s' if better != 1 else ''}" if better else ""
    return f"## ✅ perf-ab `{report.env}`: no regression{tail}"


def _changed_line(report: AbReport) -> str:
    def names(status: str, with_why: bool = False) -> str:
        return ", ".join(f"`{s.name}`" + (f" ({s.why})" if with_why and s.why else "")
                         for s in report.processors if s.status == status)

    parts = [f"**Changed:** {names(CHANGED, True)}" if names(CHANGED) else "**Changed:** none (every processor "
             "below is an A/A check: identical copies)"]
    for status, label in ((ADDED, "added (nothing to compare with)"), (REMOVED, "removed"), (SKIPPED, "not measured")):
        if names(status):
            parts.append(f"**{label}:** {names(status, status == SKIPPED)}")
    return " · ".join(parts)


def _aa_line(report: AbReport) -> str:
    unchanged = [s.name for s in report.processors if s.status == UNCHANGED]
    if not unchanged:
        return "A/A check: no unchanged processor to check against"
    if report.aa_failures:
        return f"A/A check **failed** on {len(report.aa_failures)} of the unchanged processors' rows (see ⚠️ rows)"
    return f"A/A check passed: {len(unchanged)} unchanged processor(s) measured alike"


def _folded(rows: Sequence[Finding], report: AbReport, compact: bool) -> list[str]:
    if not rows:
        return []
    by_processor: dict[str, list[Finding]] = {}
    for f in rows:
        by_processor.setdefault(f.processor, []).append(f)
    summary = f"{len(rows)} rows that did not move ({len(by_processor)} processor(s))"
    if compact:
        body = [f"- `{p}`: {count_line({v: sum(f.verdict is v for f in fs) for v in Verdict})}, largest Δ "
                f"{max((abs(f.change_pct or 0.0) for f in fs)):.1f} %" for p, fs in by_processor.items()]
    else:
        body = [*HEADER, *(_row(f, report) for f in rows)]
    return ["<details><summary>" + summary + "</summary>", "", *body, "", "</details>", ""]


def _measured(report: AbReport) -> list[str]:
    lines = [f"- {report.rounds} rounds; in each, the base and head copies run together for {report.duration:g} s "
             "from a fresh start on the same sample documents (base started first in even rounds)",
             f"- environment: {report.environment}",
             f"- rule: paired one-sided t on per-round differences, p < {report.rule.alpha:g} and ≥ the metric's "
             "floor; unchanged processors at alpha / (their comparisons) — the A/A check",
             *(f"- {n}" for n in report.notes)]
    return ["<details><summary>How this was measured</summary>", "", *lines, "", "</details>", ""]


def render_ab_markdown(report: AbReport, *, image: str | None = None, limit: int = COMMENT_LIMIT) -> str:
    """The PR comment (see the module docstring); always at most ``limit`` characters."""
    shown, folded = _split(report)
    head = [headline(report),
            f"Base `{report.base_ref}` (`{report.base_sha[:7]}`) vs head {report.describe_head()} · {_aa_line(report)}",
            "", _changed_line(report), ""]
    table = [*HEADER, *(_row(f, report) for f in shown), ""] if shown else ["Nothing moved.", ""]
    tail = ([f"![base vs head]({image})", ""] if image else []) + _measured(report) + [
        f"<sub>sp-tasks {__version__} · perf-ab · {count_line(_counts(report.findings))}</sub>"]
    for compact in (False, True):
        text = "\n".join([*head, *table, *_folded(folded, report, compact), *tail]) + "\n"
        if len(text) <= limit:
            return text
    return _cut([*head, *table], tail, limit)


def _counts(findings: Sequence[Finding]) -> dict[Verdict, int]:
    return {v: sum(f.verdict is v for f in findings) for v in Verdict}


def _cut(body: list[str], tail: list[str], limit: int) -> str:
    room = limit - len("\n".join(tail)) - 200
    kept: list[str] = []
    for line in body:
        if len("\n".join([*kept, line])) > room:
            break
        kept.append(line)
    note = f"\n… {len(body) - len(kept)} more rows: see the job summary or `invoke perf-ab --from-last-run`.\n"
    return "\n".join([*kept, note, *tail]) + "\n"


def render_ab_text(report: AbReport) -> str:
    """The verdicts for a terminal: headline, changed processors, one line per finding that matters."""
    shown, folded = _split(report)
    lines = [headline(report).removeprefix("## "), _changed_line(report).replace("**", ""), _aa_line(report), ""]
    width = max((len(f.processor) for f in report.findings), default=9)
    for f in shown:
        lines.append(f"{f.processor:<{width}}  {f.metric:<15} {_value(f, 'base'):>13} → {_value(f, 'head'):<13} "
                     f"{fmt_change(f):>9}  p {fmt_p(f.p_value):<7} {spark(report, f)}  {_verdict(f, report)}")
    lines += [f"{len(folded)} other row(s) did not move" if folded else "", *(f"note: {n}" for n in report.notes)]
    return "\n".join(line for line in lines if line is not None) + "\n"
