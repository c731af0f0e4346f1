"""Change points in a run history: where the level of one processor × metric series shifted.

Pure. For charts and attribution, never for the PR verdict (a +5 % step needs 20–50 later runs
to be seen, regression.md §3.2). Method: binary segmentation with the standardised CUSUM
statistic on log values (values relative to their mean when a value is ≤ 0):

* a segment of m points is split at the k that maximises |mean(right) − mean(left)|·√(k(m−k)/m)
  / σ, with at least ``min_segment`` points on each side (short-segment splits caused most of
  Otava's false change points, regression.md §3.1);
* the split is accepted when the statistic exceeds :data:`THRESHOLDS` at that segment length:
  its null quantile on no-change Gaussian segments at a level that keeps false change points
  near 0.25 per 1,000 runs for short and long histories alike (at most 5 % per segment;
  ``benchmarks/calibrate_changepoints.py`` regenerates the table);
* σ is the pooled within-segment sd, refined by re-segmenting (at most :data:`PASSES` times):
  the first pass uses the series' sd (exactly what the thresholds were calibrated with, so
  short histories get no extra false change points), later passes the sd within the segments
  found, so real steps do not inflate the noise and hide smaller ones;
* a change is located at the likelihood-weighted mean split inside the most probable window of
  ±``min_segment`` runs, instead of at the single most likely split: the same run for a clear
  step, and the right run (±5) more often for a small one (85 % vs 80 % at a 1-σ step).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

MIN_SEGMENT = 5
PASSES = 3  # segmentations with a refined noise estimate
# (segment length, critical value in units of the noise sd): the null quantile of the split
# statistic at level min(5 %, length × 0.25/1,000), i.e. about 0.25 false change points per
# 1,000 runs whatever the history length; 40,000 null segments per length, noise sd estimated,
# seed 20250101, min_segment 5. Regenerate with benchmarks/calibrate_changepoints.py.
THRESHOLDS: tuple[tuple[int, float], ...] = (
    (10, 2.53),  # level 0.0025
    (12, 2.736),  # level 0.0030
    (15, 2.898),  # level 0.0037
    (20, 3.051),  # level 0.0050
    (25, 3.122),  # level 0.0063
    (30, 3.15),  # level 0.0075
    (40, 3.183),  # level 0.0100
    (50, 3.21),  # level 0.0125
    (75, 3.199),  # level 0.0187
    (100, 3.18),  # level 0.0250
    (150, 3.104),  # level 0.0375
    (200, 3.065),  # level 0.0500
    (300, 3.106),  # level 0.0500
    (500, 3.185),  # level 0.0500
    (1000, 3.237),  # level 0.0500
    (2000, 3.294),  # level 0.0500
)


FALSE_PER_1000_RUNS = 0.25  # what THRESHOLDS were calibrated for


def describe(min_segment: int = MIN_SEGMENT) -> str:
    """The method and its parameters in one line, for report footers and chart captions."""
    return (
        f"CUSUM binary segmentation on log values, min segment {min_segment} runs, "
        f"thresholds calibrated to ≈{FALSE_PER_1000_RUNS:g} false change points per 1,000 runs"
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
    found: list[tuple[int, float]] = []
    for _ in range(PASSES):  # noise from within the segments found so far: steps do not inflate it
        sigma = _pooled_sd(y, [k for k, _ in found])
        if sigma <= 0:
            break
        again = _segment(y, sigma, min_segment)
        if again == found:
            break
        found = again
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
