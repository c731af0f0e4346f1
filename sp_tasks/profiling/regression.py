"""The PR gate: current run(s) vs the distribution of past runs, one verdict per processor × metric.

Pure. The rule (regression.md §6.2, calibrated in ``benchmarks/regression_stats.py``):

1. Baseline = the last ``window`` (20) history runs of that processor × metric, current = all
   current runs (1 or more; the rule is calibrated for ``CURRENT_RUNS`` = 4, and compare-baseline
   says when it has fewer). Fewer than ``min_history`` (5) baseline runs, or no current value ->
   ``insufficient-data``.
2. Scale: log values for log-scale metrics (latency, memory), values relative to the baseline
   mean otherwise, so every series is dimensionless (a relative spread, CV).
3. Noise: the baseline's run-to-run variance, moderated per metric across processors by an
   empirical-Bayes prior (Smyth 2004, "limma"; see :mod:`~sp_tasks.profiling.moderation`); with
   fewer than 3 processors it is the plain history-sd t-test. The test is exact on normal noise
   (200,000 null comparisons: 0.80 % flagged at alpha 0.008), so alpha *is* the false-alarm
   rate of a metric without a floor. Default alpha 0.008 (``thresholds.json`` → ``regression``
   sets another), 20 vs 4 runs, benchmark seeds 0 and 1: false alarms 0.00–0.95 % per metric;
   recall at +5 % 56–62 % where the floor is below 5 % (rates, p50, DLQ), at +10 % ≥ 99.4 %
   where it is below 10 % (all but p99). Why 4 current runs: with 3, even a z-test that knew
   the true noise finds only 48–50 % of +5 % changes at 0.8 % false alarms (51–53 % at 1.0 %),
   so no alpha meets "≤ 1.0 % and ≥ 50 %" with any margin; the fourth run lifts that ceiling to
   60–63 %.
4. One-sided t: (mean current − mean baseline) / (s · √(1/n_cur + 1/n_base)), df = d + d0.
5. Ordered rules (first match wins): insufficient data; zero baseline (DLQ appearing where the
   baseline had none is a regression); significant (p < alpha) **and** at least the metric's
   floor in the bad direction -> regression, in the good one -> improvement; at least the floor
   but not significant -> inconclusive; otherwise unchanged.
6. A *sparse* baseline — median 0 but not every run 0, e.g. a DLQ rate that is 0 in most runs
   with rare spikes — has no median to take a percentage of, and its spikes break the t-test's
   normal model. Δ is taken against the baseline mean, p comes from the exact rank-sum test
   (:mod:`~sp_tasks.profiling.significance`), and significant plus the floor gives the verdict
   as in 5; otherwise a current value beyond the baseline's range is inconclusive, one within it
   unchanged. Mostly 0, then 25 msg/s in 3 runs is a regression (p = 1/1771); in 1 run,
   inconclusive. A median above 0 never reaches this rule: the benchmark's figures are 1–5's.

``change_pct`` is current (geometric mean when the test ran on log values) vs the baseline
median, or vs the baseline mean for a sparse baseline (the note says so), or None when the
baseline is all zeros (a percentage of nothing; reports show "new"). ``p_value`` is one-sided,
in the direction of the observed change.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from sp_tasks.profiling.decision import Override, Rule  # noqa: F401 - the rule's home; re-exported
from sp_tasks.profiling.metrics import METRIC_NAMES, METRICS, Metric

if TYPE_CHECKING:
    import pandas as pd


class Verdict(str, Enum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    INCONCLUSIVE = "inconclusive"
    ACCEPTED = "accepted"  # a change the user declared intended (thresholds.json regression.accept / --accept)
    UNCHANGED = "unchanged"
    INSUFFICIENT = "insufficient-data"


@dataclass(frozen=True)
class Finding:
    processor: str
    metric: str
    verdict: Verdict
    change_pct: float | None
    p_value: float | None
    baseline_median: float | None
    current: float | None
    baseline_sd: float | None  # run-to-run spread of the baseline, in the metric's unit
    n_history: int
    n_current: int
    floor_pct: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdict"] = self.verdict.value
        out["unit"] = METRICS[self.metric].unit
        out["higher_is_better"] = METRICS[self.metric].higher_is_better
        for key in ("baseline_median", "current", "baseline_sd"):
            out[key] = _sig(out[key], 6)
        out["change_pct"] = None if self.change_pct is None else round(self.change_pct, 2)
        out["p_value"] = _sig(self.p_value, 3)
        return out


def _sig(value: float | None, digits: int) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


@dataclass
class _Series:
    """One processor × metric: the numbers the rules need."""

    processor: str
    metric: Metric
    base: list[float]
    cur: list[float]
    diff: float = 0.0  # mean current − mean baseline, on the test scale
    s2: float = 0.0  # baseline variance on the test scale
    testable: bool = False

    @property
    def log(self) -> bool:
        """Whether the test runs on log values (a log-scale metric with no zero or negative run)."""
        return self.metric.log_scale and min(self.base + self.cur, default=0.0) > 0

    @property
    def sparse(self) -> bool:
        """Median 0 but not every run 0 (rule 6): mostly nothing, with rare spikes."""
        return any(self.base) and statistics.median(self.base) == 0


def _prepare(s: _Series, rule: Rule) -> _Series:
    import numpy as np

    base, cur = np.asarray(s.base), np.asarray(s.cur)
    if len(cur) == 0 or len(base) < max(rule.min_history_for(s.processor), 2) or not np.any(base):
        return s
    if s.log:
        yb, yc = np.log(base), np.log(cur)
    else:
        yb, yc = base / base.mean(), cur / base.mean()
    s.diff, s.s2, s.testable = float(yc.mean() - yb.mean()), float(yb.var(ddof=1)), True
    return s


def _center(s: _Series) -> float | None:
    """The current runs' value: geometric mean when the test runs on log values, else the mean."""
    if not s.cur:
        return None
    if s.log:
        return float(math.exp(sum(math.log(v) for v in s.cur) / len(s.cur)))
    return sum(s.cur) / len(s.cur)


def _finding(s: _Series, rule: Rule, p_worse: float | None, p_better: float | None) -> Finding:
    import numpy as np

    median = float(np.median(s.base)) if s.base else None
    reference = sum(s.base) / len(s.base) if s.sparse else median  # rule 6: Δ vs the mean
    current = _center(s)
    change = None if not reference or current is None else 100.0 * (current / reference - 1.0)
    sd = float(np.std(s.base, ddof=1)) if len(s.base) > 1 else None
    p = None if p_worse is None else min(p_worse, p_better)

    def made(verdict: Verdict, note: str = "", p_value: float | None = p) -> Finding:
        return Finding(
            s.processor, s.metric.name, verdict, change, p_value, median, current, sd,
            len(s.base), len(s.cur), 100 * rule.floor(s.metric, s.processor), note,
        )

    early = _data_verdict(s, rule, p_worse)
    if early is not None:
        return made(*accepted(rule, s, *early))
    verdict, note = effect_verdict(s, rule, change, p_worse, p_better)
    if s.sparse:
        verdict, note = _sparse_verdict(s, verdict, reference, current)
    return made(*accepted(rule, s, verdict, note))


def accepted(rule: Rule, s: Any, verdict: Verdict, note: str = "", *p: float | None) -> tuple:
    """A regression, improvement or inconclusive change the user accepted reads "accepted"."""
    acceptance = rule.acceptance(s.processor, s.metric.name)
    if acceptance is None or verdict not in (Verdict.REGRESSION, Verdict.IMPROVEMENT, Verdict.INCONCLUSIVE):
        return (verdict, note, *p)
    why = f"accepted {verdict.value}" + (f": {acceptance.reason}" if acceptance.reason else "")
    return (Verdict.ACCEPTED, why, *p)


def _data_verdict(s: _Series, rule: Rule, p_worse: float | None) -> tuple | None:
    """Too little data, or an all-zero baseline: (verdict, note[, p]) when the data decide, else None."""
    if not s.cur:
        return Verdict.INSUFFICIENT, "not measured in the current run(s)"
    if len(s.base) < rule.min_history_for(s.processor):
        return Verdict.INSUFFICIENT, f"{len(s.base)} baseline run(s), {rule.min_history_for(s.processor)} needed"
    if not any(s.base):
        if not any(s.cur):
            return Verdict.UNCHANGED, "", None
        if s.metric.zero_tolerance and not s.metric.higher_is_better:
            return Verdict.REGRESSION, "new; the baseline had none", None
        return Verdict.INCONCLUSIVE, "the baseline is zero", None
    if p_worse is None:
        return Verdict.INSUFFICIENT, "too few baseline runs to estimate their spread"
    return None


def effect_verdict(
    s: _Series, rule: Rule, change: float | None, p_worse: float, p_better: float
) -> tuple[Verdict, str]:
    """Direction, floor and significance (rule 5); ``s`` needs ``processor`` and ``metric`` only
    (perf-ab's paired series use it too)."""
    floor, alpha = rule.floor(s.metric, s.processor), rule.alpha_for(s.processor)
    worse = change is not None and s.metric.direction * change < 0
    big = change is not None and abs(change) >= 100 * floor
    if big and worse and p_worse < alpha:
        return Verdict.REGRESSION, ""
    if big and not worse and p_better < alpha:
        return Verdict.IMPROVEMENT, ""
    if big and floor > 0:
        return Verdict.INCONCLUSIVE, "not significant"
    return Verdict.UNCHANGED, ""


def _sparse_verdict(s: _Series, verdict: Verdict, mean: float, current: float) -> tuple[Verdict, str]:
    """Rule 6: rank-test verdicts keep theirs; otherwise a current beyond the baseline's range is
    inconclusive (one run far above every spike, say) and anything within it unchanged."""
    basis = f"baseline median 0: Δ vs its mean {mean:.3g}, rank test"
    if verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT):
        return verdict, basis
    if min(s.base) <= current <= max(s.base):
        return Verdict.UNCHANGED, basis
    return Verdict.INCONCLUSIVE, f"{basis}; not significant"


def _one_sided(series: list[_Series], rule: Rule) -> list[tuple[float | None, float | None]]:
    """(p for worse, p for better) per series; untestable series get (None, None).

    Sparse series get the exact rank test, each on its own (their spread is spikes, not the
    run-to-run noise the other series share a prior on); the rest the moderated t-test.
    """
    from sp_tasks.profiling.significance import rank_pvalues, t_pvalues

    normal = [s for s in series if s.testable and not s.sparse]
    sizes = [(len(s.base), len(s.cur)) for s in normal]
    found = t_pvalues([s.diff for s in normal], [s.s2 for s in normal], sizes, moderated=rule.moderate)
    out = {id(s): p for s, p in zip(normal, found)}
    out.update({id(s): rank_pvalues(s.base, s.cur) for s in series if s.testable and s.sparse})
    return [_worse_better(s, out[id(s)]) if id(s) in out else (None, None) for s in series]


def _worse_better(s: _Series, lower_higher: tuple[float, float]) -> tuple[float, float]:
    lower, higher = lower_higher
    return (lower, higher) if s.metric.higher_is_better else (higher, lower)


def _series(history: "pd.DataFrame", current: "pd.DataFrame", rule: Rule) -> list[_Series]:
    history = history[~history["run_id"].isin(set(current["run_id"]))]
    history = history.sort_values(["timestamp", "run_id"], kind="stable")
    base = {k: g["value"].tolist()[-rule.window :] for k, g in history.groupby(["processor", "metric"], sort=False)}
    cur = {k: g["value"].tolist() for k, g in current.groupby(["processor", "metric"], sort=False)}
    processors = sorted(set(current["processor"]))
    pairs = [(p, m) for p in processors for m in METRIC_NAMES if (p, m) in base or (p, m) in cur]
    return [_Series(p, METRICS[m], base.get((p, m), []), cur.get((p, m), [])) for p, m in pairs]


def compare_runs(history: "pd.DataFrame", current: "pd.DataFrame", rule: Rule | None = None) -> list[Finding]:
    """Verdicts for every processor in ``current`` × gated metric seen in either frame.

    Both frames have the run columns (``run_id, timestamp, git_sha, processor, metric, value``);
    history runs whose run_id also appears in ``current`` are left out of the baseline, and so are
    informational metrics (``gated=False``, e.g. ``input_mbps``). Output order: processor name,
    then vocabulary order.
    """
    rule = rule or Rule()
    series = [_prepare(s, rule) for s in _series(history, current, rule)]
    by_metric: dict[str, list[_Series]] = {}
    for s in series:
        by_metric.setdefault(s.metric.name, []).append(s)
    pvalues: dict[int, tuple] = {}
    for group in by_metric.values():  # variance is pooled within a metric, never across metrics
        pvalues.update({id(s): p for s, p in zip(group, _one_sided(group, rule))})
    return [_finding(s, rule, *pvalues[id(s)]) for s in series]


def gated_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Only the findings of gated metrics (what renderers show, whoever built the findings)."""
    return [f for f in findings if METRICS[f.metric].gated]


def count_verdicts(findings: Iterable[Finding]) -> dict[Verdict, int]:
    counts = {v: 0 for v in Verdict}
    for f in findings:
        counts[f.verdict] += 1
    return counts


def findings_json(findings: Iterable[Finding]) -> dict[str, Any]:
    """``{"findings": [...], "regressions": N}`` (the compare-baseline JSON contract)."""
    items = list(findings)
    return {
        "findings": [f.to_dict() for f in items],
        "regressions": sum(f.verdict is Verdict.REGRESSION for f in items),
    }
