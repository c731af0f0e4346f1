"""Reporting fixtures: one comparison of the recorded runs in ``data/`` (history + current runs)."""
from __future__ import annotations

from pathlib import Path

import pytest

from sp_tasks.profiling.service import Comparison, load_comparison

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def comparison() -> Comparison:
    return load_comparison("test", DATA, history=DATA / "history.csv", current=DATA / "current.csv")


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))
