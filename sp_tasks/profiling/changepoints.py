"""Change points in a run history: where the level of one processor × metric series shifted.

Pure. For charts and attribution, never for the PR verdict (a +5 % step needs 20–50 later runs
to be seen, regression.md §3.2). Method: binary segmentation with the standardised CUSUM
statistic on log values (values relative to their mean when a value is ≤ 0):

* a segment of m points is split at the k that maximises |mean(right) − mean(left)|·√(k(m−k)/m)
  / σ, with at least ``min_segment`` points on each side (short-segment splits caused most of
  Otava's false change points, regression.md §3.1);
* the split is accepted when the statistic exceeds :data:`THRESHOLDS` at that segment length:
  the 95 % quantile of the statistic on no-change Gaussian segments, per segment length
  (``benchmarks/calibrate_changepoints.py`` regenerates the table);
* σ is estimated robustly twice: first from the MAD of first differences (insensitive to
  steps), then as the pooled within-segment sd of that first segmentation (efficient), and the
  segmentation is redone with the second estimate;
* a change is located at the likelihood-weighted mean split inside the most probable window of
  ±``min_segment`` runs, instead of at the single most likely split: the same run for a clear
  step, and the right run (±5) more often for a small one (85 % vs 80 % at a 1-σ step).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

MIN_SEGMENT = 5
# (segment length, critical value in noise-sd units); level 0.95, 20,000 null segments per
# length, seed 20250101, min_segment 5 (benchmarks/calibrate_changepoints.py).
THRESHOLDS: tuple[tuple[int, float], ...] = (
    (10, 1.936),
    (12, 2.25),
    (15, 2.424),
    (20, 2.581),
    (30, 2.698),
    (50, 2.886),
    (75, 2.938),
    (100, 2.99),
    (150, 3.051),
    (200, 3.058),
    (300, 3.145),
    (500, 3.191),
    (1000, 3.24),
    (2000, 3.284),
)


@dataclass(frozen=True)
class ChangePoint:
    index: int  # first index of the new segment
    run_id: str | None
    change_pct: float | None  # level of the new segment vs the previous one (None: from zero)
    score: float  # the split statistic in noise-sd units


def _threshold(length: int) -> float:
    import numpy as np

    sizes, values = zip(*THRESHOLDS)
    return float(np.interp(math.log(length), np.log(sizes), values))


def _robust_sigma(y) -> float:
    import numpy as np

    d = np.diff(y)
    mad = float(np.median(np.abs(d - np.median(d)))) / 0.6745 / math.sqrt(2.0)
    return mad if mad > 0 else float(np.std(d)) / math.sqrt(2.0)  # mostly-constant series


def _best_split(y, a: int, b: int, min_segment: int):
    """(split indices, statistics) of segment y[a:b] for every admissible split."""
    import numpy as np

    m = b - a
    k = np.arange(min_segment, m - min_segment + 1)
    cs = np.cumsum(y[a:b])
    left, right = cs[k - 1] / k, (cs[-1] - cs[k - 1]) / (m - k)
    return a + k, np.abs(right - left) * np.sqrt(k * (m - k) / m)


def _locate(ks, z, half: int) -> int:
    """Posterior-mean split inside the most probable window of ±``half`` splits."""
    import numpy as np

    weight = np.exp(z**2 / 2 - z.max() ** 2 / 2)  # profile likelihood of each split
    centre = int(np.argmax(np.convolve(weight, np.ones(2 * half + 1), mode="same")))
    lo, hi = max(0, centre - half), min(len(ks), centre + half + 1)
    return int(round(float((ks[lo:hi] * weight[lo:hi]).sum() / weight[lo:hi].sum())))


def _segment(y, sigma: float, min_segment: int) -> list[tuple[int, float]]:
    import numpy as np

    found, stack = [], [(0, len(y))]
    while stack:
        a, b = stack.pop()
        if b - a < 2 * min_segment:
            continue
        ks, z = _best_split(y, a, b, min_segment)
        z = z / sigma
        if z.max() <= _threshold(b - a):
            continue
        k = _locate(ks, z, min_segment)
        found.append((k, float(z.max())))
        stack += [(a, k), (k, b)]
    return sorted(found)


def _pooled_sd(y, cuts: list[int]) -> float:
    import numpy as np

    bounds = [0, *cuts, len(y)]
    parts = [y[a:b] for a, b in zip(bounds, bounds[1:])]
    ss = sum(float(((p - p.mean()) ** 2).sum()) for p in parts)
    df = sum(len(p) - 1 for p in parts)
    return math.sqrt(ss / df) if df > 0 else 0.0


def _scaled(values: Sequence[float]):
    import numpy as np

    x = np.asarray(values, dtype=float)
    if (x > 0).all():
        return np.log(x), True
    mean = float(np.abs(x).mean())
    return (x / mean if mean > 0 else x), False


def detect_changepoints(
    values: Sequence[float], run_ids: Sequence[str] | None = None, *, min_segment: int = MIN_SEGMENT
) -> list[ChangePoint]:
    """Change points of a run series (oldest first), each with its run and Δ %."""
    if len(values) < 2 * min_segment:
        return []
    y, logged = _scaled(values)
    sigma = _robust_sigma(y)
    if sigma <= 0:
        return []
    first = _segment(y, sigma, min_segment)
    refined = _pooled_sd(y, [k for k, _ in first])
    found = _segment(y, refined, min_segment) if refined > 0 else first
    bounds = [0, *(k for k, _ in found), len(y)]
    out = []
    for i, (k, score) in enumerate(found):
        before, after = y[bounds[i] : k].mean(), y[k : bounds[i + 2]].mean()
        if logged:
            change: float | None = 100.0 * math.expm1(after - before)
        else:
            change = 100.0 * (after / before - 1.0) if before else None
        out.append(ChangePoint(k, run_ids[k] if run_ids is not None else None, change, score))
    return out
