#!/usr/bin/env python3
"""Calibrate the change-point threshold table of ``sp_tasks/profiling/changepoints.py``.

For each segment length m, simulate no-change Gaussian segments, compute the largest
standardised CUSUM split statistic |mean(right) − mean(left)|·√(k(m−k)/m) over the splits that
leave at least ``min_segment`` points on each side, divide it by the segment's own sd (the
detector estimates the noise too, which matters for short histories), and print its
(1 − α(m)) quantile, where

    α(m) = min(max_level, m × per_run)

so the expected number of false change points per run is the same for short and long
histories (``per_run`` = 0.25 per 1,000 runs by default), and no segment is tested at more than
``max_level`` (5 %). The end-to-end rates (false change points per 1,000 runs, detection of
+5 %/+10 % steps) are measured in ``benchmarks/regression_stats.py``.

    python benchmarks/calibrate_changepoints.py [--max-level 0.05] [--per-run 0.00025] [--trials 40000]

Fixed seed: the printed table is what the module embeds (THRESHOLDS).
"""
from __future__ import annotations

import argparse

import numpy as np

LENGTHS = (10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000, 2000)


def max_statistic(y: np.ndarray, min_segment: int) -> np.ndarray:
    """Largest standardised CUSUM split statistic of each row of ``y``, in units of its sd."""
    m = y.shape[1]
    k = np.arange(min_segment, m - min_segment + 1)
    cs = np.cumsum(y, axis=1)
    left = cs[:, k - 1] / k
    right = (cs[:, -1:] - cs[:, k - 1]) / (m - k)
    z = (np.abs(right - left) * np.sqrt(k * (m - k) / m)).max(axis=1)
    return z / y.std(axis=1, ddof=1)


def calibrate(max_level: float, per_run: float, trials: int, min_segment: int, seed: int = 20250101):
    rng = np.random.default_rng(seed)
    table = []
    for m in LENGTHS:
        batch = max(1, 200_000 // m)
        stats = np.concatenate([max_statistic(rng.normal(size=(batch, m)), min_segment)
                                for _ in range(-(-trials // batch))])[:trials]
        level = min(max_level, m * per_run)
        table.append((m, round(float(np.quantile(stats, 1.0 - level)), 3), level))
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-level", type=float, default=0.05)
    ap.add_argument("--per-run", type=float, default=0.00025)
    ap.add_argument("--trials", type=int, default=40000)
    ap.add_argument("--min-segment", type=int, default=5)
    args = ap.parse_args()
    table = calibrate(args.max_level, args.per_run, args.trials, args.min_segment)
    print(f"# max level {args.max_level}, {args.per_run * 1000:g} false splits per 1,000 runs, "
          f"{args.trials} null segments per length, min_segment {args.min_segment}")
    print("THRESHOLDS: tuple[tuple[int, float], ...] = (")
    for m, q, level in table:
        print(f"    ({m}, {q}),  # level {level:.4f}")
    print(")")


if __name__ == "__main__":
    main()
