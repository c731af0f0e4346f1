"""Only comparable runs form a baseline: same environment, same definition, from an accepted change on."""
from __future__ import annotations

import pandas as pd

from sp_tasks.profiling import comparable
from sp_tasks.profiling.decision import Acceptance
from sp_tasks.profiling.regression import Rule, Verdict, compare_runs

from tests.profiling.conftest import build_runs

ENV, OTHER_ENV = "emulator; CPU A; x86_64; 2 CPUs; Python 3.11; sp-tasks 0.1.0", "emulator; CPU B; arm64"
NOISE = [100, 101, 99, 100, 102, 98, 100, 101]


def history():
    same = build_runs({("p", "latency_p50_ms"): NOISE}, definition="d1", environment=ENV)
    other_env = build_runs({("p", "latency_p50_ms"): [300] * 3}, prefix="e", first=10, definition="d1",
                           environment=OTHER_ENV)
    other_def = build_runs({("p", "latency_p50_ms"): [50] * 2}, prefix="f", first=20, definition="d0",
                           environment=ENV)
    legacy = build_runs({("p", "latency_p50_ms"): [70] * 4}, prefix="l", first=30)
    return pd.concat([same, other_env, other_def, legacy], ignore_index=True)


def test_only_runs_of_the_same_environment_and_definition_are_kept_and_the_rest_counted():
    current = build_runs({("p", "latency_p50_ms"): [100] * 3}, prefix="c", first=40, definition="d1",
                         environment=ENV)
    kept, skipped = comparable.comparable_history(history(), comparable.reference_keys(current))
    assert kept["run_id"].str[0].unique().tolist() == ["h"] and len(kept) == len(NOISE)
    assert comparable.summarize(skipped) == [
        "p: 2 runs skipped: another definition",
        f"p: 3 runs skipped: another environment ({OTHER_ENV})",
        "p: 4 runs skipped: no fingerprint (recorded before fingerprints)",
    ]
    verdict = compare_runs(kept, current)[0]
    assert verdict.verdict is Verdict.UNCHANGED and verdict.n_history == len(NOISE)


def test_runs_without_fingerprints_still_compare_among_themselves():
    current = build_runs({("p", "latency_p50_ms"): [70] * 2}, prefix="c", first=40)
    kept, skipped = comparable.comparable_history(history(), comparable.reference_keys(current))
    assert kept["run_id"].str[0].unique().tolist() == ["l"]
    assert {s.reason for s in skipped} == {comparable.OTHER_ENV}


def test_an_accepted_change_since_a_commit_starts_a_new_baseline_and_reads_accepted():
    old = build_runs({("p", "output_rate"): NOISE}, git_sha="a" * 40, definition="d", environment=ENV)
    new = build_runs({("p", "output_rate"): [50, 51, 49, 50, 50, 51]}, prefix="n", first=10, git_sha="b" * 40,
                     definition="d", environment=ENV)
    base = pd.concat([old, new], ignore_index=True)
    current = build_runs({("p", "output_rate"): [50, 50, 51]}, prefix="c", first=20, definition="d", environment=ENV)
    rule = Rule(accepted=(Acceptance("p", "*", since="bbbb"),))
    starts, notes = comparable.accepted_starts(rule.accepted, base, ["output_rate", "memory_mb"])
    kept, early = comparable.before_accepted(base, starts)
    assert notes == [] and kept["run_id"].str[0].unique().tolist() == ["n"]
    assert comparable.summarize(early) == ["p: 8 runs skipped: before the accepted change"]
    assert compare_runs(kept, current, rule)[0].verdict is Verdict.UNCHANGED  # the new level is the baseline
    halved = compare_runs(old, current, rule)[0]
    assert halved.verdict is Verdict.ACCEPTED and halved.note == "accepted regression"
    assert compare_runs(old, current)[0].verdict is Verdict.REGRESSION


def test_since_as_a_date_or_a_run_id_and_one_that_matches_nothing_yet():
    base = build_runs({("p", "output_rate"): NOISE})
    for since, first_kept in (("2025-03-01T05:00:00Z", "h005"), ("h006", "h006")):
        starts, _ = comparable.accepted_starts([Acceptance("p", "output_rate", since)], base, ["output_rate"])
        kept, _ = comparable.before_accepted(base, starts)
        assert kept["run_id"].iloc[0] == first_kept
    starts, notes = comparable.accepted_starts([Acceptance("p", "output_rate", "cafe1234")], base, ["output_rate"])
    assert starts == {} and notes == ["accepted change p:output_rate since 'cafe1234' matches no recorded run yet; "
                                      "the baseline is unchanged until it does"]
