"""Where the profiling tasks read and write, per environment.

Two homes for the artifacts a team may want to commit (run history, charts, report), chosen by
``PERF_ARTIFACTS`` in ``config.env`` (:attr:`sp_tasks.settings.EnvSettings.artifacts_in_repo`):

* ``repo`` (default): ``baselines/<env>/history.csv``, ``reports/<env>/charts/``,
  ``reports/<env>/latest.md`` — committed, e.g. by CI recording on the main branch;
* ``.sp`` (the local environment's default): ``.sp/<env>/history.csv``, ``.sp/<env>/charts/``,
  ``.sp/<env>/report.md`` — ignored by Git, so trying things changes no tracked file.

Working files always live in ``.sp/<env>/``: ``current.csv`` (this definition's runs),
``samples.csv`` (the last run's raw samples) and ``ab/`` (the last A/B run).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ProfilePaths:
    history: Path
    current: Path
    samples: Path
    charts: Path
    report: Path
    ab: Path  # directory of the last perf-ab run: runs.csv, report.md, chart


def profile_paths(env: str, root: str | Path, *, in_repo: bool = True) -> ProfilePaths:
    root = Path(root)
    work = root / ".sp" / env
    if in_repo:
        history, charts, report = root / "baselines" / env / "history.csv", root / "reports" / env / "charts", \
            root / "reports" / env / "latest.md"
    else:
        history, charts, report = work / "history.csv", work / "charts", work / "report.md"
    return ProfilePaths(history, work / "current.csv", work / "samples.csv", charts, report, work / "ab")


def paths_for(settings: Any) -> ProfilePaths:
    """The paths of an environment's settings (its ``PERF_ARTIFACTS`` choice included)."""
    return profile_paths(settings.name, settings.root, in_repo=settings.artifacts_in_repo)
