"""How profiling numbers and verdicts look to a person: one place for every renderer (pure).

Markdown, plain text and charts format values, Δ %, p-values and verdict marks through these
functions, so a number reads the same in a PR comment, a terminal and a chart.
"""
from __future__ import annotations

from sp_tasks.profiling.regression import Finding, Verdict
from sp_tasks.units import fmt_number, fmt_scaled, scale_for  # noqa: F401 (the renderers import them from here)

VERDICT_ICON: dict[Verdict, str] = {
    Verdict.REGRESSION: "🔴",
    Verdict.IMPROVEMENT: "🟢",
    Verdict.INCONCLUSIVE: "❔",
    Verdict.ACCEPTED: "☑️",
    Verdict.UNCHANGED: "⚪",
    Verdict.INSUFFICIENT: "➖",
}
VERDICT_COLOR: dict[Verdict, str] = {  # strong colours only where a person must look
    Verdict.REGRESSION: "#C62828",
    Verdict.IMPROVEMENT: "#1B8A5A",
    Verdict.INCONCLUSIVE: "#F2C14E",
    Verdict.ACCEPTED: "#5B8DEF",
    Verdict.UNCHANGED: "#D5D5D5",
    Verdict.INSUFFICIENT: "#F4F4F4",
}
VERDICT_INK: dict[Verdict, str] = {  # text drawn on a VERDICT_COLOR background
    Verdict.REGRESSION: "#FFFFFF",
    Verdict.IMPROVEMENT: "#FFFFFF",
    Verdict.INCONCLUSIVE: "#222222",
    Verdict.ACCEPTED: "#FFFFFF",
    Verdict.UNCHANGED: "#222222",
    Verdict.INSUFFICIENT: "#666666",
}
VERDICT_ORDER: tuple[Verdict, ...] = (
    Verdict.REGRESSION,
    Verdict.IMPROVEMENT,
    Verdict.INCONCLUSIVE,
    Verdict.ACCEPTED,
    Verdict.UNCHANGED,
    Verdict.INSUFFICIENT,
)


def fmt_value(value: float | None, unit: str) -> str:
    """A metric's value in the unit that fits it (2.0 KiB, not 0.002 MiB)."""
    return fmt_scaled(value, unit)


def fmt_spread(median: float | None, sd: float | None, unit: str) -> str:
    """``median ± sd`` with both in the median's scaled unit: "180.8 MiB ± 3.50", "2.05 KiB ± 0.100"."""
    if median is None:
        return "—"
    shown, factor = scale_for(unit, [median])
    spread = f" ± {fmt_number(sd * factor)}" if sd is not None else ""
    return f"{fmt_number(median * factor)} {shown}{spread}"


def fmt_change(finding: Finding) -> str:
    """Δ %; "new" where the baseline is all zeros and the current is not (no percentage of 0)."""
    if finding.change_pct is None:
        return "new" if finding.baseline_median == 0 and finding.current else "—"
    return fmt_pct(finding.change_pct)


def fmt_pct(change_pct: float | None) -> str:
    if change_pct is None:
        return "—"
    return "0.0 %" if abs(change_pct) < 0.05 else f"{change_pct:+.1f} %"  # never "-0.0 %"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "—"
    return "<0.0001" if p < 1e-4 else f"{p:.2g}"


def fmt_floor(floor_pct: float) -> str:
    return f"{floor_pct:g} %"


def fmt_verdict(finding: Finding) -> str:
    return f"{finding.verdict.value} ({finding.note})" if finding.note else finding.verdict.value


def count_line(counts: dict[Verdict, int]) -> str:
    """``2 regressions · 1 improvement · 60 unchanged`` (zero counts left out, fixed order)."""
    plural = {Verdict.REGRESSION: "regressions", Verdict.IMPROVEMENT: "improvements"}
    parts = []
    for verdict in VERDICT_ORDER:
        n = counts.get(verdict, 0)
        if n:
            word = plural.get(verdict, verdict.value) if n != 1 else verdict.value
            parts.append(f"{n} {word}")
    return " · ".join(parts) or "no findings"


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: "list[float] | tuple[float, ...]", lo: float | None = None, hi: float | None = None) -> str:
    """One character per value on a shared scale (``lo``/``hi``: that scale, default the values'
    own range); a flat series sits in the middle, so "nothing moved" reads as a level line."""
    if not values:
        return ""
    lo = min(values) if lo is None else lo
    hi = max(values) if hi is None else hi
    if hi - lo <= 1e-12 * max(abs(hi), abs(lo), 1.0):
        return SPARKS[3] * len(values)
    top = len(SPARKS) - 1
    return "".join(SPARKS[min(top, max(0, round((v - lo) / (hi - lo) * top)))] for v in values)
