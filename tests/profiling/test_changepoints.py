"""History change points: steps found at the right run, none in noise or short series."""
from __future__ import annotations

import numpy as np
import pytest

from sp_tasks.profiling.changepoints import THRESHOLDS, detect_changepoints


def history(seed, n=200, at=150, step=0.0, cv=0.05):
    rng = np.random.default_rng(seed)
    x = 100.0 * (1 + rng.normal(0, cv, n))
    x[at:] *= 1 + step
    return x


def test_finds_a_ten_percent_step_at_the_right_run_with_its_change():
    x = history(1, step=0.10)
    ids = [f"run{i}" for i in range(len(x))]
    (cp,) = detect_changepoints(x, ids)
    assert abs(cp.index - 150) <= 5 and cp.run_id == f"run{cp.index}"
    assert cp.change_pct == pytest.approx(10, abs=3) and cp.score > THRESHOLDS[-1][1]


def test_finds_a_drop_and_two_steps():
    x = history(2, n=120, at=40, step=-0.15)
    x[80:] *= 1.3
    found = detect_changepoints(x)
    assert [round(cp.index, -1) for cp in found] == [40, 80]
    assert found[0].change_pct < -10 and found[1].change_pct > 20


@pytest.mark.parametrize("seed", range(5))
def test_no_change_points_in_plain_noise(seed):
    assert detect_changepoints(history(100 + seed)) == []


def test_short_or_constant_series_have_none():
    assert detect_changepoints([1.0, 2.0, 3.0]) == []
    assert detect_changepoints([5.0] * 50) == []


def test_series_with_zeros_use_a_relative_scale():
    x = np.r_[np.zeros(20), np.full(20, 3.0)]  # a DLQ rate that appears and stays
    (cp,) = detect_changepoints(x)
    assert cp.index == 20 and cp.change_pct is None  # no percentage from zero


def test_minimum_segment_length_is_respected():
    x = history(3, n=60, at=57, step=0.5)  # a jump in the last 3 runs only
    assert all(cp.index <= 55 for cp in detect_changepoints(x, min_segment=5))
