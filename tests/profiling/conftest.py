"""Profiling fixtures: ``runs`` builds a run-records frame (history or current) from plain values."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import pandas as pd
import pytest

from sp_tasks.profiling.datafiles import RUN_COLUMNS

T0 = pd.Timestamp("2025-03-01T00:00:00Z")


def build_runs(values: Mapping[tuple[str, str], Sequence[float]], *, prefix: str = "h", first: int = 0,
               git_sha: str = "a" * 40, definition: str = "", environment: str = "", flags: str = "") -> pd.DataFrame:
    """{(processor, metric): [run 0 value, run 1 value, …]} -> run records, one run per hour."""
    rows = []
    for (processor, metric), series in values.items():
        for i, value in enumerate(series):
            run = first + i
            rows.append((f"{prefix}{run:03d}", T0 + pd.Timedelta(hours=run), git_sha, processor, metric, float(value),
                         definition, environment, flags))
    frame = pd.DataFrame.from_records(rows, columns=RUN_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


@pytest.fixture
def runs() -> Callable[..., pd.DataFrame]:
    return build_runs
