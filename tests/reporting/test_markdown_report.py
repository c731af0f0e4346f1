"""The Markdown report: golden output, counts in the title, sections hook, same bytes twice."""
from __future__ import annotations

from pathlib import Path

from sp_tasks.profiling.regression import Rule
from sp_tasks.profiling.service import _trends
from sp_tasks.reporting.markdown import ReportContext, render_report

GOLDEN = Path(__file__).parent / "golden" / "report.md"


def render(comparison, **kw):
    ctx = ReportContext("staging", comparison.baseline, comparison.current_desc,
                        {"orders_enrich": "charts/trends-orders_enrich.png"}, "charts/overview.png", comparison.notes,
                        _trends(comparison))
    return render_report(comparison.findings, context=ctx, rule=comparison.rule,
                         changepoints=comparison.changepoints, **kw)


def test_report_matches_the_golden_file(comparison, update_golden):
    text = render(comparison)
    if update_golden:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_informational_metrics_leave_the_report_unchanged(comparison, comparison_with_bandwidth):
    assert "input_mbps" in set(comparison_with_bandwidth.history["metric"])
    assert render(comparison_with_bandwidth) == GOLDEN.read_text(encoding="utf-8")


def test_same_input_same_bytes(comparison):
    assert render(comparison).encode() == render(comparison).encode()


def test_title_counts_and_rows(comparison):
    text = render(comparison)
    first = text.splitlines()[0]
    assert first.startswith("## ⚠️ ASP profile `staging`: 2 regressions · 1 improvement")
    assert "| 🔴 | latency p99 | ↓ lower |" in text
    dlq = "| 🔴 | DLQ rate | ↓ lower | 0.00 msg/s ± 0.00 | 0.1 msg/s | new | — | 0 % | `▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▸▃▆█` | regression (new; the baseline had none) |"
    assert dlq in text
    assert "| ➖ | memory | ↓ lower | — | " in text  # new_processor: no history
    assert "![orders_enrich trends](charts/trends-orders_enrich.png)" in text
    assert "<details><summary>History change points (1)</summary>" in text
    assert text.rstrip().endswith("</sub>") and f"p<{Rule().alpha:g}" in text.splitlines()[-1]


def test_sections_are_placed_after_the_title(comparison):
    text = render(comparison, sections=["### Deploy\n\nAll 3 processors STARTED.\n"])
    lines = text.splitlines()
    assert lines[1:6] == [comparison_line(comparison), "", "### Deploy", "", "All 3 processors STARTED."]
    assert lines.index("### Deploy") < lines.index("![overview](charts/overview.png)")


def comparison_line(comparison):
    return f"Baseline: {comparison.baseline} · This run: {comparison.current_desc}"


def test_regressed_processors_come_first(comparison):
    headings = [line for line in render(comparison).splitlines() if line.startswith("### ")]
    assert [h.split("`")[1] for h in headings] == ["orders_enrich", "new_processor", "solar_windows"]


def test_all_clear_report_without_runs():
    text = render_report([], context=ReportContext("local"), rule=Rule())
    assert text.startswith("## ✅ ASP profile `local`: no findings\n")
    assert "No current runs to compare." in text and "No change points in the history." in text
