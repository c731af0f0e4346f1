"""Reporting fixtures: one comparison of the recorded runs in ``data/`` (history + current runs)."""
from __future__ import annotations

from pathlib import Path

import pytest

from sp_tasks.profiling.service import Comparison, load_comparison

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def comparison() -> Comparison:
    return load_comparison("test", DATA, history=DATA / "history.csv", current=DATA / "current.csv")


def with_bandwidth(source: Path, target: Path) -> Path:
    """``source`` plus an ``input_mbps`` row for every run × processor: a level that triples
    half-way through the history (a change point and a 'regression', were it gated)."""
    lines = source.read_text(encoding="utf-8").splitlines()
    seen, extra = set(), []
    for line in lines[1:]:
        run_id, stamp, sha, processor, _metric, _value = line.split(",")
        if (run_id, processor) not in seen:
            seen.add((run_id, processor))
            level = 10.0 if stamp < "2025-03-01T12" else 30.0
            extra.append(f"{run_id},{stamp},{sha},{processor},input_mbps,{level + len(seen) % 3 * 0.1}")
    target.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return target


@pytest.fixture
def comparison_with_bandwidth(tmp_path) -> Comparison:
    """The same comparison, its files also holding the informational ``input_mbps`` metric."""
    history = with_bandwidth(DATA / "history.csv", tmp_path / "history.csv")
    current = with_bandwidth(DATA / "current.csv", tmp_path / "current.csv")
    return load_comparison("test", DATA, history=history, current=current)


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))
