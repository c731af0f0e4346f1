"""Samples -> tidy frame -> run summary (rates from counters, medians of gauges)."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pandas.testing as pdt
import pytest

from sp_tasks.clock import EPOCH_2025
from sp_tasks.profiling.collect import Sample
from sp_tasks.profiling.datafiles import RUN_COLUMNS, SAMPLE_COLUMNS
from sp_tasks.profiling.frames import compute_summary, make_run_id, samples_frame, summary_runs


def polls(processor, rows):
    """rows: [(seconds, {metric: value})] -> samples."""
    return [Sample(EPOCH_2025 + timedelta(seconds=t), processor, m, v) for t, fields in rows for m, v in fields.items()]


def summary_dict(samples, **kw):
    summary = compute_summary(samples_frame(samples), **kw)
    return {(r.processor, r.metric): r.value for r in summary.values.itertuples()}, summary.notes


def test_samples_frame_has_fixed_columns_and_types():
    frame = samples_frame(polls("a", [(0, {"state": 1.0, "input_count": 5})]))
    assert list(frame.columns) == SAMPLE_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]" and frame["value"].dtype == "float64"
    empty = samples_frame([])
    assert list(empty.columns) == SAMPLE_COLUMNS and len(empty) == 0


def test_rate_is_counter_growth_over_elapsed_time_after_warmup():
    # 100 msg/s steady, but a burst of 1,000 in the first interval (warm-up, dropped)
    rows = [(t, {"state": 1.0, "input_count": 1000 + 100 * t if t else 0}) for t in range(0, 11)]
    got, notes = summary_dict(polls("a", rows), warmup_fraction=0.2)
    assert got[("a", "input_rate")] == pytest.approx(100.0)
    assert "a: no output_count in the stats; output_rate not measured" in notes


def test_counter_reset_counts_from_zero():
    counts = [0, 10, 20, 30, 5, 15, 25]  # restart without checkpoint between t=3 and t=4
    rows = [(t, {"state": 1.0, "output_count": c}) for t, c in enumerate(counts)]
    got, notes = summary_dict(polls("a", rows), warmup_fraction=0.0)
    assert got[("a", "output_rate")] == pytest.approx((30 + 5 + 20) / 6)
    assert "a: output_count was reset 1 time(s); counted from zero" in notes


def test_stopped_intervals_do_not_dilute_the_rate():
    states = [1, 1, 1, 0, 0, 1, 1]
    counts = [0, 10, 20, 20, 20, 20, 30]  # frozen while stopped, resumes after
    rows = [(t, {"state": float(s), "input_count": c}) for t, (s, c) in enumerate(zip(states, counts))]
    got, notes = summary_dict(polls("a", rows), warmup_fraction=0.0)
    assert got[("a", "input_rate")] == pytest.approx(10.0)
    assert "a: STARTED in 5 of 7 steady-state polls" in notes


def test_gauges_are_medians_of_running_steady_polls():
    latency = [50, 9, 10, 11, 500, 12]  # warm-up 50 dropped; 500 while FAILED excluded
    states = [1, 1, 1, 1, -1, 1]
    rows = [(t, {"state": float(s), "latency_p99_ms": v}) for t, (s, v) in enumerate(zip(states, latency))]
    got, _ = summary_dict(polls("a", rows), warmup_fraction=0.2)
    assert got[("a", "latency_p99_ms")] == 10.5


def test_processor_never_running_is_explained_not_summarised():
    rows = [(t, {"state": 0.0, "input_count": 0}) for t in range(5)]
    got, notes = summary_dict(polls("a", rows) + polls("b", [(t, {"state": 1.0, "input_count": t}) for t in range(5)]))
    assert ("a", "input_rate") not in got and ("b", "input_rate") in got
    assert "a: not STARTED in any steady-state poll; nothing measured" in notes


def test_single_steady_poll_gives_gauges_but_no_rate():
    got, notes = summary_dict(polls("a", [(0, {"state": 1.0, "input_count": 3, "memory_mb": 7.0})]))
    assert got == {("a", "memory_mb"): 7.0}
    assert "a: too few steady-state polls for input_rate" in notes


def test_summary_order_and_no_samples():
    rows = [(t, {"state": 1.0, "memory_mb": 1.0, "input_count": t}) for t in range(3)]
    summary = compute_summary(samples_frame(polls("z", rows) + polls("a", rows)), warmup_fraction=0)
    assert summary.values[["processor", "metric"]].values.tolist() == [
        ["a", "input_rate"], ["a", "memory_mb"], ["z", "input_rate"], ["z", "memory_mb"]]
    assert compute_summary(samples_frame([])).notes == ("no samples were collected",)


def test_summary_runs_become_history_records():
    rows = [(t, {"state": 1.0, "memory_mb": 2.0}) for t in range(3)]
    summary = compute_summary(samples_frame(polls("a", rows)))
    runs = summary_runs(summary, run_id="r1", timestamp=EPOCH_2025, git_sha="abc", definitions={"a": "0f0f"},
                        environment="emulator; x", flags="dirty")
    expected = pd.DataFrame({"run_id": ["r1"], "timestamp": pd.to_datetime(["2025-01-01T00:00:00Z"]),
                             "git_sha": ["abc"], "processor": ["a"], "metric": ["memory_mb"], "value": [2.0],
                             "definition": ["0f0f"], "environment": ["emulator; x"], "flags": ["dirty"]})
    pdt.assert_frame_equal(runs, expected[RUN_COLUMNS], check_dtype=False)
    assert make_run_id(EPOCH_2025, "1a2b3c4d5e") == "20250101T000000Z-1a2b3c4"


def test_bandwidth_is_byte_counter_growth_in_megabits_per_second():
    # 1,000 msg/s of 125 bytes = 125,000 bytes/s = 1 Mbps in; the sink writes a fifth of the bytes
    rows = [(t, {"state": 1.0, "input_count": 1000 * t, "input_bytes": 125_000 * t, "output_bytes": 25_000 * t})
            for t in range(0, 11)]
    got, _ = summary_dict(polls("a", rows), warmup_fraction=0.2)
    assert got[("a", "input_mbps")] == pytest.approx(1.0)
    assert got[("a", "output_mbps")] == pytest.approx(0.2)
    assert got[("a", "input_rate")] == pytest.approx(1000.0)


def test_bandwidth_counter_reset_counts_from_zero_like_message_counts():
    sizes = [0, 1e6, 2e6, 3e6, 0.5e6, 1.5e6, 2.5e6]  # restart without checkpoint between t=3 and t=4
    rows = [(t, {"state": 1.0, "input_bytes": b}) for t, b in enumerate(sizes)]
    got, notes = summary_dict(polls("a", rows), warmup_fraction=0.0)
    assert got[("a", "input_mbps")] == pytest.approx((3e6 + 0.5e6 + 2e6) / 6 * 8 / 1e6)
    assert "a: input_bytes was reset 1 time(s); counted from zero" in notes


def test_missing_size_fields_leave_bandwidth_out_not_zero():
    rows = [(t, {"state": 1.0, "input_count": 10 * t, "output_count": 10 * t}) for t in range(5)]
    got, notes = summary_dict(polls("a", rows), warmup_fraction=0.0)
    assert ("a", "input_mbps") not in got and ("a", "output_mbps") not in got
    assert got[("a", "input_rate")] == pytest.approx(10.0)
    assert "a: no input_bytes in the stats; input_mbps not measured" in notes
    assert "a: no output_bytes in the stats; output_mbps not measured" in notes


def test_bandwidth_follows_the_gated_metrics_in_the_summary():
    rows = [(t, {"state": 1.0, "memory_mb": 1.0, "input_bytes": 1e6 * t, "input_count": t}) for t in range(3)]
    summary = compute_summary(samples_frame(polls("a", rows)), warmup_fraction=0)
    assert summary.values["metric"].tolist() == ["input_rate", "memory_mb", "input_mbps"]


def test_a_second_run_in_the_same_second_gets_its_own_id():
    first = make_run_id(EPOCH_2025, "1a2b3c4d5e")
    assert make_run_id(EPOCH_2025, "1a2b3c4d5e", [first]) == f"{first}.2"
    assert make_run_id(EPOCH_2025, "1a2b3c4d5e", [first, f"{first}.2"]) == f"{first}.3"
    assert sorted([f"{first}.2", first]) == [first, f"{first}.2"]  # still sorts by time
