"""One-sided p-values for the PR gate: the history-sd t-test and the exact rank-sum test.

Pure (numpy, scipy). :mod:`sp_tasks.profiling.regression` decides which series gets which test:

* :func:`t_pvalues` — rules 3–4 of the gate: (mean current − mean baseline) on the test scale
  over s · √(1/n_cur + 1/n_base), s² the baseline variance moderated across the series of one
  metric (:mod:`~sp_tasks.profiling.moderation`), df = d + d0. Calibrated on the benchmark's
  normal run-to-run noise (false alarms 1.0 % at alpha 1 %).
* :func:`rank_pvalues` — rule 6, for a *sparse* baseline (median 0, rare spikes). Its spread is
  spikes, not normal noise: with DLQ in 10–35 % of 20 runs (exponential sizes) and 3 null
  current runs, the t-test flags 9–10 % at alpha 1 %, still 2.5–3.7 % when the current must
  also be above the baseline's maximum. The Wilcoxon–Mann–Whitney rank sum, with mid-ranks for
  the ties at 0 and its exact permutation distribution, assumes only exchangeable runs: 0.2–1.0 %
  there, at most alpha whatever the spikes look like. The price: with n current runs p cannot
  go below 1 / C(n_base + n, n) — 1/1771 for 20 vs 3, but 1/21 for one run, which therefore
  never makes a sparse series significant.
"""
from __future__ import annotations

from typing import Sequence

from sp_tasks.profiling.moderation import moderate


def t_pvalues(
    diffs: Sequence[float], variances: Sequence[float], sizes: Sequence[tuple[int, int]], *, moderated: bool
) -> list[tuple[float, float]]:
    """(p that the truth is lower, p that it is higher) per series.

    ``diffs`` are mean current − mean baseline on the test scale, ``variances`` the baselines'
    variances there, ``sizes`` (n_base, n_cur). A constant baseline (variance 0) makes any
    change at all certain.
    """
    import numpy as np
    from scipy.special import stdtr  # Student t CDF; df = inf is the normal CDF

    if not diffs:
        return []
    posterior = np.asarray(moderate(list(variances), [nb - 1 for nb, _ in sizes], enabled=moderated))
    n = np.asarray([1.0 / nc + 1.0 / nb for nb, nc in sizes])
    diff = np.asarray(diffs, dtype=float)
    se = np.sqrt(posterior[:, 0] * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
    return [(float(lo), float(hi)) for lo, hi in zip(stdtr(posterior[:, 1], t), stdtr(posterior[:, 1], -t))]


def paired_pvalues(
    mean_diffs: Sequence[float], variances: Sequence[float], pairs: Sequence[int], *, moderated: bool
) -> list[tuple[float, float]]:
    """The paired t-test (perf-ab): mean of the per-round differences head − base over s_d/√n,
    df n − 1, s_d² moderated across the series of one metric like :func:`t_pvalues`. Exactly
    :func:`t_pvalues` with the "current" size infinite: 1/∞ + 1/n = 1/n and df = n − 1."""
    return t_pvalues(mean_diffs, variances, [(n, float("inf")) for n in pairs], moderated=moderated)


def rank_pvalues(base: Sequence[float], cur: Sequence[float]) -> tuple[float, float]:
    """Exact one-sided p-values of the rank-sum test: (current lower, current higher).

    Counts, over every way of picking len(cur) of the pooled runs, how many rank sums are as
    low / as high as the observed one (mid-ranks doubled to integers; a subset-sum count, so
    20 vs 10 runs costs 30 numpy additions, not C(30, 10) permutations).
    """
    import numpy as np
    from scipy.stats import rankdata

    ranks = np.rint(2 * rankdata(np.concatenate([base, cur]))).astype(int)
    k = len(cur)
    ways = np.zeros((k + 1, k * int(ranks.max()) + 1))  # ways[j, s]: j runs with rank sum s
    ways[0, 0] = 1.0
    for r in ranks:
        ways[1:, r:] = ways[1:, r:] + ways[:-1, :-r]  # the right side is read before it is written
    dist = ways[k] / ways[k].sum()
    observed = int(ranks[len(base):].sum())
    return float(min(1.0, dist[: observed + 1].sum())), float(min(1.0, dist[observed:].sum()))
