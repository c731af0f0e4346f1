"""Plain-text renderings for the terminal."""
from __future__ import annotations

import pandas as pd

from sp_tasks.profiling.regression import compare_runs
from sp_tasks.profiling.thresholds import Breach
from sp_tasks.reporting.text import render_findings_text, render_profile_text


def test_findings_table(comparison):
    text = render_findings_text(comparison.findings, rule=comparison.rule)
    lines = text.splitlines()
    counts = "2 regressions · 1 improvement · 1 inconclusive · 10 unchanged · 7 insufficient-data"
    assert lines[0] == f"compare-baseline: {counts}"
    header = ["processor", "metric", "baseline", "(median", "±", "sd)", "current", "Δ", "p", "floor", "verdict"]
    assert lines[2].split() == header
    row = next(line for line in lines if "latency_p99_ms" in line and "orders_enrich" in line)
    assert row.split()[-1] == "regression" and "+31.6 %" in row
    assert lines[-1].startswith("rule: one-sided t")


def test_profile_summary_with_breaches_and_notes():
    summary = pd.DataFrame({"processor": ["a"], "metric": ["memory_mb"], "value": [600.0]})
    breach = Breach("a", "memory_mb", "max", 512.0, 600.0, "memory_mb 600 MiB > max 512 MiB (global limit)")
    text = render_profile_text(summary, ["b: STARTED -> FAILED at 4.0 s"], [breach], run_id="r1", recorded_to=None)
    assert text.splitlines() == [
        "profile run r1", "", "processor  metric     value", "a          memory_mb  600.0 MiB", "",
        "note: b: STARTED -> FAILED at 4.0 s", "", "1 threshold breach(es):",
        "  a: memory_mb 600 MiB > max 512 MiB (global limit)", "",
        "not recorded in the history (use --record on the base branch)"]


def test_sizes_and_durations_read_in_the_unit_that_fits_them():
    """A fresh clone's profile showed memory as "0.00222 MiB"; 12 s of window latency as "11,989 ms"."""
    summary = pd.DataFrame({"processor": ["a", "a", "a"], "metric": ["memory_mb", "latency_p50_ms", "latency_p99_ms"],
                            "value": [0.00222, 11989.0, 0.05]})
    rows = render_profile_text(summary, [], [], run_id="r1", recorded_to=None).splitlines()[3:6]
    assert [r.split()[-2:] for r in rows] == [["2.27", "KiB"], ["11.99", "s"], ["50.00", "µs"]]


def runs(values: dict, prefix: str) -> pd.DataFrame:
    rows = [(f"{prefix}{i}", pd.Timestamp("2025-03-01", tz="UTC") + pd.Timedelta(hours=i if prefix == "h" else 99),
             "a" * 40, "p", metric, v) for metric, series in values.items() for i, v in enumerate(series)]
    return pd.DataFrame(rows, columns=["run_id", "timestamp", "git_sha", "processor", "metric", "value"])


def test_change_column_says_new_over_an_all_zero_baseline_and_a_percentage_over_a_sparse_one():
    history = runs({"state_mb": [0.0] * 20, "dlq_rate": [0.0] * 17 + [5.0, 0.2, 0.1]}, "h")
    current = runs({"state_mb": [0.5] * 3, "dlq_rate": [25.0] * 3}, "c")
    rows = {line.split()[1]: line for line in render_findings_text(compare_runs(history, current)).splitlines()[3:5]}
    assert "  new  " in rows["state_mb"] and "inconclusive (the baseline is zero)" in rows["state_mb"]
    assert "+9334.0 %" in rows["dlq_rate"] and rows["dlq_rate"].endswith("regression (baseline median 0: Δ vs its "
                                                                          "mean 0.265, rank test)")
