"""The seed's profile JSON document from a run's samples (pure: built samples, no Atlas)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sp_tasks.cli.profile_doc import build_document
from sp_tasks.profiling.collect import Sample
from sp_tasks.profiling.frames import compute_summary, samples_frame
from sp_tasks.profiling.thresholds import check_thresholds

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _run(polls: list[dict[str, float]], processor: str = "p") -> list[Sample]:
    """One poll per second; each dict is that poll's sample metrics (state 1 = STARTED)."""
    return [Sample(T0 + timedelta(seconds=i), processor, metric, value)
            for i, poll in enumerate(polls) for metric, value in {"state": 1.0, **poll}.items()]


def _document(samples, thresholds=None, notes=()):
    frame = samples_frame(samples)
    summary = compute_summary(frame, warmup_fraction=0.0).values
    breaches = check_thresholds(summary, thresholds or {})
    return build_document(frame, summary, breaches=breaches, thresholds=thresholds or {}, thresholds_source="t.json",
                          notes=list(notes), run_id="r1", duration=4.0, interval=1.0, warmup_fraction=0.0)


def test_each_metric_has_the_seed_statistics_and_rates_average_like_the_run_summary():
    counts = [0, 10, 30, 60, 100]  # 10, 20, 30, 40 msg/s per interval
    memory = [100, 110, 120, 130, 500]
    doc = _document(_run([{"input_count": c, "memory_mb": m} for c, m in zip(counts, memory)]))
    rate = doc["processors"]["p"]["input_rate"]
    assert rate == {"avg": 25.0, "min": 10.0, "max": 40.0, "p50": 25.0, "p95": pytest.approx(38.5), "last": 40.0}
    assert doc["processors"]["p"]["memory_mb"] == {"avg": 192.0, "min": 100.0, "max": 500.0, "p50": 120.0,
                                                   "p95": pytest.approx(426.0), "last": 500.0}
    assert "latency_p99_ms" not in doc["processors"]["p"]  # not reported: absent, never a healthy-looking 0
    assert doc["processors"]["p"]["samples"] == 5
    assert doc["summary"]["processors"] == 1 and doc["summary"]["healthy"] is True


def test_a_counter_reset_counts_from_zero_and_stopped_polls_are_left_out():
    polls = [{"input_count": 0}, {"input_count": 10}, {"input_count": 5}, {"input_count": 15, "state": 0.0},
             {"input_count": 25}]
    doc = _document(_run(polls))
    # intervals: 10 (ok), reset → 5, then into a STOPPED poll and out of it: both skipped
    assert doc["processors"]["p"]["input_rate"]["max"] == 10.0 and doc["processors"]["p"]["input_rate"]["min"] == 5.0


def test_recommendations_name_breaches_headroom_dlq_and_missing_input():
    polls = [{"input_count": 0, "dlq_count": 0, "memory_mb": 900}, {"input_count": 0, "dlq_count": 2, "memory_mb": 950}]
    doc = _document(_run(polls), thresholds={"memory_mb": 1000, "throughput_min": 5},
                    notes=["p: STARTED in 2 of 3 steady-state polls", "q: unrelated"])
    advice = doc["processors"]["p"]["recommendations"]
    assert advice[0].startswith("threshold breached: input_rate 0")
    assert any("memory_mb averages 925" in a and "92%" in a for a in advice)
    assert any("dead letter queue" in a for a in advice)
    assert any("no input during the run" in a for a in advice)
    assert "STARTED in 2 of 3 steady-state polls" in advice
    assert doc["summary"]["healthy"] is False and doc["summary"]["breaches"][0]["metric"] == "input_rate"
    assert doc["thresholds"] == {"memory_mb": 1000, "throughput_min": 5}


def test_a_healthy_processor_says_so():
    doc = _document(_run([{"input_count": 0}, {"input_count": 100}]), thresholds={"throughput_min": 1})
    assert doc["processors"]["p"]["recommendations"] == ["no issues: every metric within its limits"]


