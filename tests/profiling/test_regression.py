"""The PR gate on small hand-built run histories: verdicts, direction, floors, edge cases, JSON."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sp_tasks.profiling.moderation import fit_prior, moderate
from sp_tasks.profiling.regression import Rule, Verdict, compare_runs, count_verdicts, findings_json
from sp_tasks.profiling.significance import rank_pvalues

NOISE = [1.0, -1.2, 0.4, 0.8, -0.6, 1.4, -1.0, 0.2, -0.3, 0.5, -0.9, 1.1, -0.2, 0.7, -1.3, 0.1, 0.9, -0.5, 0.3, -0.8]


def series(level, cv=0.03, n=20):
    return [level * (1 + cv * e) for e in NOISE[:n]]


def one(runs, metric, history, current, **rule):
    current_runs = runs({("p", metric): current}, prefix="c", first=100)
    found = compare_runs(runs({("p", metric): history}), current_runs, Rule(**rule))
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("metric, current, verdict", [
    ("latency_p99_ms", [130, 131, 129], Verdict.REGRESSION),  # lower is better, +30 %
    ("latency_p99_ms", [70, 71, 69], Verdict.IMPROVEMENT),
    ("output_rate", [70, 71, 69], Verdict.REGRESSION),  # higher is better, -30 %
    ("output_rate", [130, 131, 129], Verdict.IMPROVEMENT),
    ("memory_mb", [101, 99, 100.5], Verdict.UNCHANGED),
])
def test_direction_aware_verdicts(runs, metric, current, verdict):
    assert one(runs, metric, series(100), current).verdict is verdict


def test_change_below_the_floor_is_unchanged_even_when_significant(runs):
    quiet = series(100, cv=0.001)
    found = one(runs, "latency_p99_ms", quiet, [105, 105, 105])  # +5 %, floor 10 %
    assert found.p_value < 1e-6 and found.verdict is Verdict.UNCHANGED


def test_beyond_the_floor_but_noisy_is_inconclusive(runs):
    noisy = series(100, cv=0.15)
    found = one(runs, "latency_p50_ms", noisy, [110, 108, 109])
    assert found.verdict is Verdict.INCONCLUSIVE and found.note == "not significant"
    assert 0.01 < found.p_value < 0.5


def test_finding_numbers(runs):
    f = one(runs, "memory_mb", series(200), [230, 230, 230])
    assert f.baseline_median == pytest.approx(float(np.median(series(200))))
    assert f.current == pytest.approx(230)
    assert f.change_pct == pytest.approx(100 * (230 / f.baseline_median - 1))
    assert (f.n_history, f.n_current, f.floor_pct) == (20, 3, 5.0)
    assert f.baseline_sd == pytest.approx(float(np.std(series(200), ddof=1)))


def test_only_the_last_window_runs_form_the_baseline(runs):
    old_level, new_level = [50.0] * 30, series(100)
    f = one(runs, "memory_mb", old_level + new_level, [101, 100, 99])
    assert f.verdict is Verdict.UNCHANGED and f.n_history == 20


@pytest.mark.parametrize("history", [[], [100.0], [100, 101, 99, 100]])
def test_too_short_history_is_insufficient_never_a_regression(runs, history):
    f = one(runs, "latency_p99_ms", history, [900, 950, 990])
    assert f.verdict is Verdict.INSUFFICIENT and f.p_value is None
    assert "needed" in f.note


def test_metric_missing_in_current_is_insufficient(runs):
    history = runs({("p", "memory_mb"): series(10), ("p", "state_mb"): series(4)})
    current = runs({("p", "memory_mb"): [10, 10, 10]}, prefix="c", first=100)
    found = {f.metric: f for f in compare_runs(history, current)}
    assert found["state_mb"].verdict is Verdict.INSUFFICIENT
    assert found["state_mb"].note == "not measured in the current run(s)"


def test_dlq_appearing_is_a_regression_and_zero_stays_unchanged(runs):
    assert one(runs, "dlq_rate", [0.0] * 20, [0.0, 0.3, 0.0]).verdict is Verdict.REGRESSION
    assert one(runs, "dlq_rate", [0.0] * 20, [0.0, 0.0, 0.0]).verdict is Verdict.UNCHANGED
    other = one(runs, "state_mb", [0.0] * 20, [0.5, 0.5, 0.5])
    assert other.verdict is Verdict.INCONCLUSIVE and other.note == "the baseline is zero"


def test_constant_baseline_makes_any_change_certain(runs):
    f = one(runs, "memory_mb", [64.0] * 10, [70.0, 70.0, 70.0])
    assert f.verdict is Verdict.REGRESSION and f.p_value < 1e-12
    assert one(runs, "memory_mb", [64.0] * 10, [64.0] * 3).verdict is Verdict.UNCHANGED


def test_current_runs_recorded_in_history_are_not_their_own_baseline(runs):
    history = runs({("p", "memory_mb"): series(100) + [150.0]})
    current = history[history["run_id"] == "h020"]
    f = compare_runs(history, current)[0]
    assert f.n_history == 20 and f.verdict is Verdict.REGRESSION


def test_single_current_run_is_allowed(runs):
    assert one(runs, "latency_p50_ms", series(10), [13.0]).verdict is Verdict.REGRESSION


def test_floor_override_and_output_order(runs):
    history = runs({("b", "memory_mb"): series(100), ("a", "latency_p50_ms"): series(10),
                    ("a", "input_rate"): series(5)})
    current = runs({("b", "memory_mb"): [106] * 3, ("a", "latency_p50_ms"): [10] * 3, ("a", "input_rate"): [5] * 3},
                   prefix="c", first=100)
    found = compare_runs(history, current, Rule(floors={"memory_mb": 0.08}))
    order = [(f.processor, f.metric) for f in found]
    assert order == [("a", "input_rate"), ("a", "latency_p50_ms"), ("b", "memory_mb")]
    assert found[-1].floor_pct == 8.0 and found[-1].verdict is Verdict.UNCHANGED  # +6 % < 8 %


def test_null_false_alarms_are_rare_on_a_few_simulated_histories(runs):
    rng = np.random.default_rng(7)
    flagged = 0
    for _ in range(40):  # the benchmark runs thousands; this only guards against gross miscalibration
        values = {(f"p{i}", m): list(100 * (1 + rng.normal(0, 0.03, 23))) for i in range(5)
                  for m in ("input_rate", "latency_p50_ms")}
        hist = runs({k: v[:20] for k, v in values.items()})
        cur = runs({k: v[20:] for k, v in values.items()}, prefix="c", first=100)
        flagged += count_verdicts(compare_runs(hist, cur))[Verdict.REGRESSION]
    assert flagged <= 4  # 400 comparisons at alpha 1 %


@pytest.mark.parametrize("moderated", [True, False])
def test_the_t_test_is_exact_on_normal_noise_so_alpha_is_the_false_alarm_rate(moderated):
    from sp_tasks.profiling.significance import t_pvalues

    rng, worse = np.random.default_rng(3), []
    for _ in range(600):  # 6,000 comparisons of 20 baseline vs 4 current runs, 10 series per prior
        base, cur = rng.normal(0, 1, (10, 20)), rng.normal(0, 1, (10, 4))
        found = t_pvalues(list(cur.mean(1) - base.mean(1)), list(base.var(1, ddof=1)), [(20, 4)] * 10,
                          moderated=moderated)
        worse += [higher for _, higher in found]
    for alpha in (0.05, 0.2):  # binomial sd 0.0028 / 0.0052: ±5 sd, the series share a prior
        assert abs(np.mean(np.asarray(worse) < alpha) - alpha) < 5 * math.sqrt(alpha * (1 - alpha) / len(worse))


def test_json_contract(runs):
    found = compare_runs(runs({("p", "dlq_rate"): [0.0] * 6, ("p", "memory_mb"): series(8)}),
                         runs({("p", "dlq_rate"): [2.0], ("p", "memory_mb"): [8.0]}, prefix="c", first=100))
    doc = json.loads(json.dumps(findings_json(found)))
    assert list(doc) == ["findings", "regressions"] and doc["regressions"] == 1
    first = doc["findings"][0]
    assert list(first)[:7] == ["processor", "metric", "verdict", "change_pct", "p_value", "baseline_median", "current"]
    assert first["verdict"] == "regression" and first["change_pct"] is None and first["unit"] == "msg/s"


def test_moderation_pools_similar_variances_and_spares_outliers():
    s0, d0 = fit_prior([1.0, 1.1, 0.9, 1.05, 0.95], [19] * 5)
    assert math.isinf(d0) and s0 == pytest.approx(1.0, rel=0.1)
    pooled = moderate([1.0, 1.1, 0.9, 1.05, 0.95], [19] * 5)
    assert all(df == 19 + 76 for _, df in pooled)  # capped at the other series' df
    spread = moderate([0.01, 1.0, 100.0, 0.1, 10.0], [19] * 5)
    assert spread[2][0] > 50  # a noisy series keeps most of its own variance
    assert moderate([1.0, 2.0], [19, 19]) == [(1.0, 19.0), (2.0, 19.0)]  # too few series to pool
    assert moderate([1.0, 2.0, 3.0], [19] * 3, enabled=False) == [(1.0, 19.0), (2.0, 19.0), (3.0, 19.0)]


def test_informational_metrics_get_no_verdict(runs):
    history = runs({("p", "input_mbps"): series(10), ("p", "input_rate"): series(100)})
    current = runs({("p", "input_mbps"): [30, 30, 30], ("p", "input_rate"): [100, 100, 100]}, prefix="c", first=100)
    assert [f.metric for f in compare_runs(history, current)] == ["input_rate"]


SPARSE_DLQ = [0.0] * 17 + [5.0, 0.2, 0.1]  # DLQ in 3 of 20 runs: median 0, mean 0.265


def test_sparse_baseline_with_a_new_level_is_a_regression_by_the_exact_rank_test(runs):
    f = one(runs, "dlq_rate", SPARSE_DLQ, [25.0, 25.0, 25.0])
    assert f.verdict is Verdict.REGRESSION and f.p_value == pytest.approx(1 / math.comb(23, 3))
    assert f.baseline_median == 0 and f.change_pct == pytest.approx(100 * (25 / 0.265 - 1))
    assert f.note == "baseline median 0: Δ vs its mean 0.265, rank test"
    assert one(runs, "dlq_rate", SPARSE_DLQ, [4.0, 4.5, 4.8]).verdict is Verdict.REGRESSION  # every run now


def test_sparse_baseline_and_one_run_far_above_it_is_inconclusive(runs):
    f = one(runs, "dlq_rate", SPARSE_DLQ, [25.0])
    assert f.p_value == pytest.approx(1 / 21) and f.verdict is Verdict.INCONCLUSIVE
    assert f.note.endswith("; not significant")


def test_sparse_baseline_like_its_history_is_unchanged_with_a_change_against_the_mean(runs):
    for current in ([0.0, 0.3, 0.0], [0.0, 0.0, 4.0]):
        f = one(runs, "dlq_rate", SPARSE_DLQ, current)
        assert f.verdict is Verdict.UNCHANGED and f.change_pct == pytest.approx(100 * (sum(current) / 3 / 0.265 - 1))
        assert f.note == "baseline median 0: Δ vs its mean 0.265, rank test"


@pytest.mark.parametrize("metric, current, verdict", [
    ("state_mb", [50.0, 52.0, 51.0], Verdict.REGRESSION),  # log-scale metric, lower is better
    ("output_rate", [25.0, 26.0, 24.0], Verdict.IMPROVEMENT),  # higher is better
])
def test_sparse_baselines_of_other_metrics_follow_the_metric_direction(runs, metric, current, verdict):
    f = one(runs, metric, SPARSE_DLQ, current)
    assert f.verdict is verdict and f.change_pct is not None and f.current == pytest.approx(sum(current) / 3)


def test_a_sparse_series_does_not_shift_the_prior_of_the_other_processors(runs):
    steady = {(f"p{i}", "dlq_rate"): series(10, cv=0.03) for i in range(4)}
    now = {(f"p{i}", "dlq_rate"): [10.0, 10.2, 9.9] for i in range(4)}
    alone = compare_runs(runs(steady), runs(now, prefix="c", first=100))
    with_sparse = compare_runs(runs({**steady, ("spiky", "dlq_rate"): SPARSE_DLQ}),
                               runs({**now, ("spiky", "dlq_rate"): [4.0, 4.5, 4.8]}, prefix="c", first=100))
    assert [f.p_value for f in with_sparse if f.processor != "spiky"] == [f.p_value for f in alone]


@pytest.mark.parametrize("n_current", [1, 3])
def test_sparse_baselines_rarely_raise_false_alarms(runs, n_current):
    rng = np.random.default_rng(11)  # DLQ in ~20 % of runs, exponential sizes: the t-test flagged 4 %
    values = {(f"p{i}", "dlq_rate"): list(rng.exponential(3.0, 23) * (rng.random(23) < 0.2)) for i in range(300)}
    values = {k: v for k, v in values.items() if np.median(v[:20]) == 0 and any(v[:20])}
    found = compare_runs(runs({k: v[:20] for k, v in values.items()}),
                         runs({k: v[20:20 + n_current] for k, v in values.items()}, prefix="c", first=100))
    assert count_verdicts(found)[Verdict.REGRESSION] <= 0.01 * len(found)


def test_rank_pvalues_are_exact_with_ties():
    assert rank_pvalues([0.0, 0.0, 1.0], [2.0]) == (1.0, pytest.approx(1 / 4))
    lower, higher = rank_pvalues([0.0] * 4, [0.0, 3.0])  # mid-ranks 3 (five zeros) and 6
    assert higher == pytest.approx(5 / 15) and lower == pytest.approx(1.0)
    assert rank_pvalues([1.0, 2.0, 3.0, 4.0], [0.5, 0.6]) == (pytest.approx(1 / 15), 1.0)
