"""perf-ab's pure parts: pairing and copies, paired verdicts with the A/A check, the PR comment."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sp_tasks.model import ConnectionSpec, DesiredState, ProcessorSpec, ProcessorState
from sp_tasks.profiling import abcopies
from sp_tasks.profiling.ab import AbReport, Side, aa_failures, aa_rule, compare_ab, gate_regressions
from sp_tasks.profiling.datafiles import RUN_COLUMNS
from sp_tasks.profiling.decision import Rule, rule_from_thresholds
from sp_tasks.profiling.metrics import METRIC_NAMES
from sp_tasks.profiling.regression import Verdict
from sp_tasks.reporting.prcomment import render_ab_markdown, render_ab_text

SOURCE = {"$source": {"connectionName": "sample_stream_solar"}}
SINK = {"$merge": {"into": {"connectionName": "c", "db": "d", "coll": "out"}}}


def spec(name, match=100, **kw):
    return ProcessorSpec(name, [SOURCE, {"$match": {"w": {"$gt": match}}}, SINK],
                         {"dlq": {"connectionName": "c", "db": "d", "coll": "dlq"}}, **kw)


def state(*procs, cluster="Cluster0"):
    return DesiredState(procs, (ConnectionSpec("c", "Cluster", {"name": "c", "type": "Cluster",
                                                                  "clusterName": cluster}),))


def test_processors_are_paired_and_classified():
    base = state(spec("same"), spec("edited"), spec("gone"), spec("off"))
    head = state(spec("same"), spec("edited", match=400), spec("new"),
                 ProcessorSpec("off", spec("off").pipeline, spec("off").options,
                               desired_state=ProcessorState.STOPPED))
    got = {p.name: (p.status, p.why) for p in abcopies.pair_processors(base, head, default_tier="SP10")}
    assert got == {"same": ("unchanged", ""), "edited": ("changed", "definition"), "gone": ("removed", ""),
                   "new": ("added", ""), "off": ("skipped", "not started in Git (head)")}
    moved = abcopies.pair_processors(state(spec("same")), state(spec("same"), cluster="Other"), default_tier="SP10")
    assert [(p.status, p.why) for p in moved] == [("changed", "connection")]


def test_copies_write_to_their_own_sinks_and_uncopyable_processors_are_skipped():
    https = ProcessorSpec("calls", [SOURCE, {"$https": {"connectionName": "api"}}, SINK])
    pairings = abcopies.pair_processors(state(spec("p"), https), state(spec("p"), https), default_tier="SP10")
    pairings, copies = abcopies.copies_for(pairings, "SP10")
    assert [c.name for c in copies] == ["p__ab_base", "p__ab_head"]
    assert copies[1].pipeline[-1]["$merge"]["into"]["coll"] == "out__ab_head"
    assert copies[1].options["dlq"]["coll"] == "dlq__ab_head" and copies[1].tier == "SP10"
    assert copies[1].desired_state is ProcessorState.STOPPED
    skipped = {p.name: p for p in pairings}["calls"]
    assert skipped.status == "skipped" and "$https stage has side effects" in skipped.why
    assert abcopies.original_name("p__ab_head") == "p" and abcopies.is_copy("p__ab_base") and not abcopies.is_copy("p")


def ab_runs(values: dict[tuple[str, str], tuple[list[float], list[float]]]) -> pd.DataFrame:
    rows = []
    for (processor, metric), sides in values.items():
        for side, series in zip(("base", "head"), sides):
            for i, v in enumerate(series):
                rows.append((f"ab{i:02d}-{side}", pd.Timestamp("2025-01-01", tz="UTC"), "s", processor, metric,
                             float(v), "d", "e", side))
    return pd.DataFrame.from_records(rows, columns=RUN_COLUMNS)


def noisy(rng, level, n=5, sd=0.03):
    shared = rng.normal(0, sd, n)  # the round's load, on both sides
    return list(level * np.exp(shared + rng.normal(0, 0.005, n))), list(level * np.exp(shared + rng.normal(0, 0.005, n)))


def test_unchanged_copies_come_out_unchanged_and_a_changed_output_is_the_only_regression():
    rng = np.random.default_rng(3)
    values = {}
    for p in ("a", "b", "c"):
        for m in METRIC_NAMES:
            values[(p, m)] = ([0.0] * 5, [0.0] * 5) if m == "dlq_rate" else noisy(rng, 100.0)
    values[("c", "output_rate")] = (values[("c", "output_rate")][0], [8.0, 8.1, 7.9, 8.0, 8.2])
    status = {"a": "unchanged", "b": "unchanged", "c": "changed"}
    findings = compare_ab(ab_runs(values), status)
    assert [(f.processor, f.metric) for f in gate_regressions(findings, status)] == [("c", "output_rate")]
    assert aa_failures(findings, status) == []
    assert {f.verdict for f in findings if f.processor != "c"} <= {Verdict.UNCHANGED, Verdict.INCONCLUSIVE}


def test_an_unchanged_processor_that_measures_apart_fails_the_aa_check_at_the_family_level():
    rng = np.random.default_rng(4)
    values = {(p, "latency_p50_ms"): noisy(rng, 10.0) for p in ("a", "b", "c")}
    base, head = values[("a", "latency_p50_ms")]
    values[("a", "latency_p50_ms")] = (base, [v * 1.5 for v in head])
    status = dict.fromkeys(("a", "b", "c"), "unchanged")
    failed = aa_failures(compare_ab(ab_runs(values), status), status)
    assert [(f.processor, f.verdict) for f in failed] == [("a", Verdict.REGRESSION)]
    family = aa_rule(Rule(alpha=0.01), ["a", "b"], 4)
    assert (family.alpha_for("a"), family.alpha_for("b"), family.alpha_for("changed")) == (0.0025, 0.0025, 0.01)


def test_dlq_appearing_is_a_regression_zero_on_both_sides_unchanged_and_accept_turns_it_accepted():
    values = {("p", "dlq_rate"): ([0.0] * 4, [0.0, 2.0, 3.0, 2.0]), ("q", "dlq_rate"): ([0.0] * 4, [0.0] * 4)}
    status = {"p": "changed", "q": "changed"}
    verdicts = {f.processor: (f.verdict, f.note) for f in compare_ab(ab_runs(values), status)}
    assert verdicts == {"p": (Verdict.REGRESSION, "new; the base had none"), "q": (Verdict.UNCHANGED, "")}
    accepted = compare_ab(ab_runs(values), status, rule_from_thresholds({}, accept=["p:dlq_rate"]))
    assert accepted[0].verdict is Verdict.ACCEPTED and gate_regressions(accepted, status) == []


def test_two_rounds_are_not_enough_for_a_verdict():
    values = {("p", "output_rate"): ([100.0, 100.0], [10.0, 10.0])}
    (finding,) = compare_ab(ab_runs(values), {"p": "changed"})
    assert finding.verdict is Verdict.INSUFFICIENT and "3 needed" in finding.note


def report_for(n: int, changed: int, moved_everywhere: bool = False) -> AbReport:
    rng = np.random.default_rng(5)
    names = [f"processor_{i:02d}_with_a_long_descriptive_name" for i in range(n)]
    values, status = {}, {}
    for i, name in enumerate(names):
        status[name] = "changed" if i < changed else "unchanged"
        for m in METRIC_NAMES:
            base, head = noisy(rng, 100.0)
            if moved_everywhere or (i == 0 and m == "output_rate"):
                head = [v * 0.5 for v in base]
            values[(name, m)] = (base, head)
    runs = ab_runs(values)
    findings = tuple(compare_ab(runs, status, Rule()))
    sides = tuple(Side(n, s, "definition" if s == "changed" else "") for n, s in status.items())
    return AbReport("ci", "origin/main", "a" * 40, "b" * 40, False, 5, 10.0, "emulator; test", sides, runs,
                    findings, Rule())


def test_the_comment_leads_with_the_verdict_and_what_changed_and_folds_the_rest():
    report = report_for(4, changed=1)
    text = render_ab_markdown(report, image="https://github.com/o/r/raw/abc/pr-1/ab.png")
    lines = text.splitlines()
    assert lines[0] == "## 🔴 perf-ab `ci`: 1 regression in `processor_00_with_a_long_descriptive_name`"
    assert "**Changed:** `processor_00_with_a_long_descriptive_name` (definition)" in text
    first_row = next(line for line in lines if line.startswith("| 🔴"))
    assert "output rate ↑" in first_row and "▸" in first_row
    details = text.index("<details><summary>")
    assert lines.index(first_row) < len(text[:details].splitlines())  # the regression is above the fold
    assert "![base vs head](https://github.com/o/r/raw/abc/pr-1/ab.png)" in text
    assert all("▸" in line for line in lines if line.startswith("| ") and not line.startswith("| |")
               and not line.startswith("|---"))
    assert "regression" in render_ab_text(report)


@pytest.mark.parametrize("changed, moved_everywhere", [(2, False), (50, True)])
def test_a_50_processor_comment_fits_githubs_limit(changed, moved_everywhere):
    report = report_for(50, changed, moved_everywhere)
    text = render_ab_markdown(report, image="https://github.com/o/r/raw/" + "c" * 40 + "/pr-123/" + "d" * 40 + "/ab.png")
    assert len(text) <= 60_000 < 65_536
    assert text.startswith("## 🔴 perf-ab `ci`") and text.rstrip().endswith("</sub>")
    print(f"50 processors, {changed} changed: {len(text):,} characters")
