#!/usr/bin/env python3
"""Calibrate the change-point threshold table of ``sp_tasks/profiling/changepoints.py``.

For each segment length m, simulate no-change Gaussian segments (sd 1), compute the largest
standardised CUSUM split statistic |mean(right) − mean(left)|·√(k(m−k)/m) over the splits that
leave at least ``min_segment`` points on each side, and print its ``level`` quantile. Binary
segmentation accepts a split of an m-point segment when the statistic (in units of the series'
noise sd) exceeds the interpolated value, so ``level`` is the per-segment false-split rate when
the noise sd is known. The end-to-end rates with an estimated sd (false change points per 1,000
runs, detection of +5 %/+10 % steps) are measured in ``benchmarks/regression_stats.py``.

    python benchmarks/calibrate_changepoints.py [--level 0.95] [--trials 20000] [--min-segment 5]

Fixed seed: the printed table is what the module embeds (THRESHOLDS).
"""
from __future__ import annotations

import argparse

import numpy as np

LENGTHS = (10, 12, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000)


def max_statistic(y: np.ndarray, min_segment: int) -> np.ndarray:
    """Largest standardised CUSUM split statistic of each row of ``y``."""
    m = y.shape[1]
    k = np.arange(min_segment, m - min_segment + 1)
    cs = np.cumsum(y, axis=1)
    left = cs[:, k - 1] / k
    right = (cs[:, -1:] - cs[:, k - 1]) / (m - k)
    return (np.abs(right - left) * np.sqrt(k * (m - k) / m)).max(axis=1)


def calibrate(level: float, trials: int, min_segment: int, seed: int = 20250101) -> list[tuple[int, float]]:
    rng = np.random.default_rng(seed)
    table = []
    for m in LENGTHS:
        stats = np.concatenate([max_statistic(rng.normal(size=(500, m)), min_segment) for _ in range(trials // 500)])
        table.append((m, round(float(np.quantile(stats, level)), 3)))
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", type=float, default=0.95)
    ap.add_argument("--trials", type=int, default=20000)
    ap.add_argument("--min-segment", type=int, default=5)
    args = ap.parse_args()
    table = calibrate(args.level, args.trials, args.min_segment)
    print(f"# level {args.level}, {args.trials} null segments per length, min_segment {args.min_segment}")
    print("THRESHOLDS: tuple[tuple[int, float], ...] = (")
    for m, q in table:
        print(f"    ({m}, {q}),")
    print(")")


if __name__ == "__main__":
    main()
