"""Trend charts: what the axes say and hold (not pixels), deterministic names and bytes."""
from __future__ import annotations

import pytest

from sp_tasks.profiling.regression import Rule
from sp_tasks.reporting import charts
from tests.profiling.conftest import build_runs


def processor_figure(comparison, name="solar_windows"):
    return charts.build_processor_figure(name, comparison.history, comparison.current, comparison.findings,
                                         comparison.changepoints, comparison.rule)


def test_a_panel_per_metric_with_data_and_the_zero_only_ones_in_a_note(comparison):
    fig = processor_figure(comparison)
    axes = fig.get_axes()
    drawn = [ax for ax in axes if ax.get_title(loc="left")]
    titles = [ax.get_title(loc="left") for ax in drawn]
    assert titles == ["input rate [msg/s] · ↑ higher is better", "output rate [msg/s] · ↑ higher is better",
                      "latency p50 [ms] · ↓ lower is better", "latency p99 [ms] · ↓ lower is better",
                      "memory [MiB] · ↓ lower is better", "state size [MiB] · ↓ lower is better"]
    assert drawn[1].get_title(loc="right") == "improvement +21.3 %"
    assert fig.get_suptitle() == "solar_windows: 1 improvement · 6 unchanged"
    legend_panel = axes[-1]
    legend = [t.get_text() for t in legend_panel.get_legend().get_texts()]
    assert legend[:4] == ["history run", "rolling median (5 runs)", "baseline median ± 2 robust sd",
                          "change point (Δ %)"]
    note = legend_panel.texts[0].get_text().replace("\n", " ")
    assert "zero in every run (not drawn): DLQ rate" in note and f"p<{Rule().alpha:g}" in note


def test_runs_are_labelled_by_date_and_short_commit_and_the_current_ones_read_now(comparison):
    panel = processor_figure(comparison).get_axes()[0]
    labels = [t.get_text() for t in panel.get_xticklabels()]
    assert labels[0] == "03-01 00:00\n00fffff" and labels[-1].startswith("now\n")
    assert all(len(label.split("\n")[1]) == 7 for label in labels)


def test_panel_lines_runs_median_band_current_and_change_point(comparison):
    memory = next(ax for ax in processor_figure(comparison).get_axes() if ax.get_title(loc="left").startswith("memory"))
    lines = memory.get_lines()
    # history points, rolling median, baseline median, current runs, change-point vertical
    assert len(lines) == 5
    assert len(lines[0].get_xdata()) == 24 and len(lines[3].get_xdata()) == 3
    assert [t.get_text() for t in memory.texts] == ["+28.0 %"]
    assert len(memory.collections) == 1  # the baseline band


def test_units_fit_the_values_and_an_outlier_neither_widens_the_band_nor_the_axis():
    values = [0.0020, 0.0021, 0.0019, 0.0020, 0.0022, 0.0020, 0.0500, 0.0021, 0.0020, 0.0019]  # MiB; one 25× spike
    history = build_runs({("p", "memory_mb"): values})
    current = build_runs({("p", "memory_mb"): [0.0020, 0.0021, 0.0020]}, prefix="c", first=20)
    fig = charts.build_processor_figure("p", history, current, [], {})
    panel = fig.get_axes()[0]
    assert panel.get_title(loc="left") == "memory [KiB] · ↓ lower is better"
    band = panel.collections[0].get_paths()[0].vertices[:, 1]
    assert band.max() < 2.4 and panel.get_ylim()[1] < 3.0  # KiB: the 51 KiB spike sits on the edge as ▲
    assert any(line.get_marker() == "^" for line in panel.get_lines())
    mid, spread = charts.robust_band([1.0, 1.0, 1.1, 0.9, 50.0])
    assert mid == 1.0 and spread == pytest.approx(0.14826)


def test_processor_without_history_says_so(comparison):
    fig = processor_figure(comparison, "new_processor")
    panel = fig.get_axes()[0]
    assert [len(line.get_xdata()) for line in panel.get_lines()] == [0, 3]
    assert panel.get_title(loc="right") == "insufficient-data —"


def test_overview_has_a_cell_per_processor_and_metric(comparison):
    fig = charts.build_overview_figure(comparison.findings, comparison.rule)
    ax = fig.get_axes()[0]
    assert len(ax.patches) == 3 * 7
    assert [t.get_text() for t in ax.get_yticklabels()] == ["new_processor", "orders_enrich", "solar_windows"]
    assert "+31.6 %" in [t.get_text() for t in ax.texts]


def test_informational_metrics_get_no_panel_or_cell(comparison, comparison_with_bandwidth, tmp_path):
    with_bw = processor_figure(comparison_with_bandwidth)
    assert len(with_bw.get_axes()) == 8 and with_bw.get_suptitle() == processor_figure(comparison).get_suptitle()
    overview = charts.build_overview_figure(comparison_with_bandwidth.findings, comparison_with_bandwidth.rule)
    assert len(overview.get_axes()[0].patches) == 3 * 7
    same = [charts.save_figure(processor_figure(c), tmp_path / f"{i}.png").read_bytes()
            for i, c in enumerate((comparison, comparison_with_bandwidth))]
    assert same[0] == same[1]


def test_same_input_same_png_bytes(comparison, tmp_path):
    first = charts.save_figure(processor_figure(comparison), tmp_path / "a" / "x.png").read_bytes()
    second = charts.save_figure(processor_figure(comparison), tmp_path / "b" / "x.png").read_bytes()
    assert first == second and first.startswith(b"\x89PNG")
    assert b"Software" not in first and b"matplotlib" not in first


def test_file_names_are_deterministic_and_safe():
    assert charts.chart_filename("orders enrich/v2") == "trends-orders_enrich_v2.png"
    assert charts.OVERVIEW_FILE == "overview.png"
