"""perf-ab's verdict: base and head copies measured round by round, compared pair by pair.

Pure. Round i gives a base value and a head value of each processor × gated metric, measured
over the same seconds on the same machine from the same documents (the start order alternates,
base first in even rounds). The test works on the per-round differences, in which the load of the
machine during that round cancels out:

* scale: log values for log-scale metrics (latency, memory) without zeros, else values relative
  to the base mean — every difference is a relative change;
* the paired one-sided t-test (mean difference over s_d/√n, df n − 1), s_d² moderated across the
  processors of one metric (:func:`~sp_tasks.profiling.significance.paired_pvalues`);
* the verdicts, floors, alpha and acceptances of compare-baseline
  (:func:`~sp_tasks.profiling.regression.effect_verdict`, the ``regression`` section), with
  ``min_history`` read as the number of rounds needed.

Unchanged processors are the built-in A/A check. Their verdicts use the family-wise level
alpha / m (Bonferroni over the m comparisons of unchanged processors): the check asks one
question — "do identical copies measure alike?" — and should fail about alpha of the time when
they do, not once per processor and metric. Any regression or improvement there fails it.
A metric that is zero in every round of both copies is unchanged; DLQ messages where the base
had none is a regression (zero tolerance), as in compare-baseline.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Mapping, Sequence

from sp_tasks.profiling.abcopies import BASE, CHANGED, HEAD, UNCHANGED
from sp_tasks.profiling.decision import Override, Rule
from sp_tasks.profiling.metrics import METRIC_NAMES, METRICS, Metric
from sp_tasks.profiling.regression import Finding, Verdict, accepted, effect_verdict

if TYPE_CHECKING:
    import pandas as pd

MIN_ROUNDS = 3


@dataclass
class _Pairs:
    processor: str
    metric: Metric
    base: list[float]
    head: list[float]

    @property
    def log(self) -> bool:
        return self.metric.log_scale and min(self.base + self.head, default=0.0) > 0

    def diffs(self) -> list[float]:
        if self.log:
            return [math.log(h) - math.log(b) for b, h in zip(self.base, self.head)]
        mean = sum(self.base) / len(self.base)
        return [(h - b) / mean for b, h in zip(self.base, self.head)]

    def change_pct(self) -> float | None:
        if self.log:
            return 100.0 * math.expm1(sum(self.diffs()) / len(self.base))
        mean = sum(self.base) / len(self.base)
        return None if mean == 0 else 100.0 * (sum(self.head) / len(self.head) / mean - 1.0)


def _pairs(runs: "pd.DataFrame", processors: Sequence[str]) -> list[_Pairs]:
    """Per processor × gated metric, the (base, head) values of the rounds that measured both."""
    values: dict[tuple[str, str, str, int], float] = {}
    for r in runs.itertuples(index=False):
        values[(r.processor, r.metric, r.flags, int(r.run_id.split("-")[0][2:]))] = float(r.value)
    rounds = sorted({k[3] for k in values})
    out = []
    for processor in processors:
        for metric in METRIC_NAMES:
            both = [(values[(processor, metric, BASE, i)], values[(processor, metric, HEAD, i)]) for i in rounds
                    if (processor, metric, BASE, i) in values and (processor, metric, HEAD, i) in values]
            if both:
                out.append(_Pairs(processor, METRICS[metric], [b for b, _ in both], [h for _, h in both]))
    return out


def _zero_verdict(p: _Pairs) -> tuple[Verdict, str] | None:
    if any(p.base):
        return None
    if not any(p.head):
        return Verdict.UNCHANGED, ""
    if p.metric.zero_tolerance and not p.metric.higher_is_better:
        return Verdict.REGRESSION, "new; the base had none"
    return Verdict.INCONCLUSIVE, "the base is zero"


def _finding(p: _Pairs, rule: Rule, pv: tuple[float, float] | None) -> Finding:
    import statistics

    change = p.change_pct()
    current = math.exp(sum(math.log(v) for v in p.head) / len(p.head)) if p.log else sum(p.head) / len(p.head)
    sd = statistics.stdev(p.base) if len(p.base) > 1 else None
    if pv is None:
        verdict, note, p_value = Verdict.INSUFFICIENT, f"{len(p.base)} round(s) with both copies, {MIN_ROUNDS} needed", None
    else:
        worse, better = pv if p.metric.higher_is_better else pv[::-1]
        p_value = min(worse, better)
        verdict, note = _zero_verdict(p) or effect_verdict(p, rule, change, worse, better)
        if _zero_verdict(p) is not None:
            p_value = None
    verdict, note = accepted(rule, p, verdict, note)
    return Finding(p.processor, p.metric.name, verdict, change, p_value, statistics.median(p.base), current, sd,
                   len(p.base), len(p.head), 100 * rule.floor(p.metric, p.processor), note)


def _pvalues(series: list[_Pairs], rule: Rule) -> dict[int, tuple[float, float]]:
    """(p lower, p higher) per testable series: ≥ MIN_ROUNDS rounds and a non-zero base."""
    from sp_tasks.profiling.significance import paired_pvalues

    out: dict[int, tuple[float, float]] = {}
    for metric in METRIC_NAMES:
        group = [s for s in series if s.metric.name == metric and len(s.base) >= MIN_ROUNDS]
        testable = [s for s in group if any(s.base)]
        diffs = [s.diffs() for s in testable]
        means = [sum(d) / len(d) for d in diffs]
        variances = [sum((x - m) ** 2 for x in d) / (len(d) - 1) for d, m in zip(diffs, means)]
        found = paired_pvalues(means, variances, [len(d) for d in diffs], moderated=rule.moderate)
        out.update({id(s): p for s, p in zip(testable, found)})
        out.update({id(s): (1.0, 1.0) for s in group if not any(s.base)})  # decided by _zero_verdict
    return out


def aa_rule(rule: Rule, unchanged: Sequence[str], comparisons: int) -> Rule:
    """The rule with alpha / m for the unchanged processors (the A/A family)."""
    if comparisons <= 1:
        return rule
    own = dict(rule.processors)
    for name in unchanged:
        mine = own.get(name, Override())
        own[name] = replace(mine, alpha=rule.alpha_for(name) / comparisons)
    return replace(rule, processors=own)


def compare_ab(runs: "pd.DataFrame", status: Mapping[str, str], rule: Rule | None = None) -> list[Finding]:
    """Verdicts for every changed or unchanged processor in ``status`` × gated metric.

    ``runs`` has the run columns with ``run_id`` ``ab<round>-<variant>`` and ``flags`` the variant
    (``base`` or ``head``), ``processor`` the original name.
    """
    rule = rule or Rule()
    measured = sorted(n for n, s in status.items() if s in (CHANGED, UNCHANGED))
    series = _pairs(runs, measured)
    pvalues = _pvalues(series, rule)
    unchanged = [n for n in measured if status[n] == UNCHANGED]
    family = sum(1 for s in series if s.processor in unchanged and id(s) in pvalues)
    judged = aa_rule(rule, unchanged, family)
    return [_finding(s, judged, pvalues.get(id(s))) for s in series]


def aa_failures(findings: Sequence[Finding], status: Mapping[str, str]) -> list[Finding]:
    """Findings of unchanged processors that differ: the A/A check failed on them."""
    moved = (Verdict.REGRESSION, Verdict.IMPROVEMENT)
    return [f for f in findings if status.get(f.processor) == UNCHANGED and f.verdict in moved]


def gate_regressions(findings: Sequence[Finding], status: Mapping[str, str]) -> list[Finding]:
    """The regressions that fail the PR: those of changed processors."""
    return [f for f in findings if status.get(f.processor) == CHANGED and f.verdict is Verdict.REGRESSION]


@dataclass(frozen=True)
class Side:
    """One processor's place in an A/B run, as reports show it (no definitions, nothing secret)."""

    name: str
    status: str
    why: str = ""


@dataclass(frozen=True)
class AbReport:
    """Everything an A/B report shows: where the numbers come from, the runs, the verdicts."""

    env: str
    base_ref: str
    base_sha: str
    head_sha: str
    head_dirty: bool
    rounds: int
    duration: float
    environment: str
    processors: tuple[Side, ...]
    runs: "pd.DataFrame"
    findings: tuple[Finding, ...]
    rule: Rule
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> dict[str, str]:
        return {s.name: s.status for s in self.processors}

    @property
    def regressions(self) -> list[Finding]:
        return gate_regressions(self.findings, self.status)

    @property
    def aa_failures(self) -> list[Finding]:
        return aa_failures(self.findings, self.status)

    def describe_head(self) -> str:
        return f"`{self.head_sha[:7]}`" + (" + uncommitted changes" if self.head_dirty else "")

    def round_values(self, processor: str, metric: str) -> tuple[list[float], list[float]]:
        """One row's base and head values, in round order."""
        return self._round_values.get((processor, metric), ([], []))

    @cached_property
    def _round_values(self) -> dict[tuple[str, str], tuple[list[float], list[float]]]:
        # Grouped once: filtering the runs frame again for each row took 20 ms a row, seconds for
        # the 700 rows of a 50-processor comment.
        ordered = self.runs.sort_values("run_id", kind="stable")
        return {(processor, metric): ([float(v) for v in rows.loc[rows["flags"] == BASE, "value"]],
                                      [float(v) for v in rows.loc[rows["flags"] == HEAD, "value"]])
                for (processor, metric), rows in ordered.groupby(["processor", "metric"], sort=False)}
