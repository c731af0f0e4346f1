"""Trend charts: what the axes say and hold (not pixels), deterministic names and bytes."""
from __future__ import annotations

from sp_tasks.profiling.metrics import METRIC_NAMES
from sp_tasks.reporting import charts


def processor_figure(comparison, name="solar_windows"):
    return charts.build_processor_figure(name, comparison.history, comparison.current, comparison.findings,
                                         comparison.changepoints, comparison.rule)


def test_one_panel_per_metric_plus_legend(comparison):
    fig = processor_figure(comparison)
    axes = fig.get_axes()
    assert len(axes) == 8
    titles = [ax.get_title(loc="left") for ax in axes[:7]]
    assert titles[0] == "input rate [msg/s] · ↑ higher is better"
    assert titles[4] == "latency p99 [ms] · ↓ lower is better"
    assert axes[1].get_title(loc="right") == "improvement +21.3 %"
    assert fig.get_suptitle() == "solar_windows: 1 improvement · 6 unchanged"
    assert axes[5].get_xlabel().startswith("run (oldest")
    legend = [t.get_text() for t in axes[7].get_legend().get_texts()]
    assert legend[:4] == ["history run", "rolling median (5 runs)", "baseline median ± 2 sd", "change point (Δ %)"]
    assert "p<0.01" in axes[7].texts[0].get_text().replace("\n", " ")


def test_panel_lines_runs_median_band_current_and_change_point(comparison):
    memory = processor_figure(comparison).get_axes()[METRIC_NAMES.index("memory_mb")]
    lines = memory.get_lines()
    # history points, rolling median, baseline median, current runs, change-point vertical
    assert len(lines) == 5
    assert len(lines[0].get_xdata()) == 24 and len(lines[3].get_xdata()) == 3
    assert [t.get_text() for t in memory.texts] == ["+28.0 %"]
    assert len(memory.collections) == 1  # the baseline band


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
