"""Profiling against the test emulator over HTTP: bandwidth reaches the run summary, history and tier advice.

Real time, because the emulator's sample stream runs on the wall clock (1,000 docs/s in tests):
1.5 s of sampling every 0.25 s.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))

from deploy_project import Project  # noqa: E402

from sp_tasks.atlas.connect import open_client  # noqa: E402
from sp_tasks.clock import SystemClock  # noqa: E402
from sp_tasks.deploy import service  # noqa: E402
from sp_tasks.profiling.datafiles import load_runs  # noqa: E402
from sp_tasks.profiling.paths import profile_paths  # noqa: E402
from sp_tasks.profiling.record import run_profile  # noqa: E402
from sp_tasks.tiers import advise_all  # noqa: E402


@pytest.fixture
def logger_only(tmp_path, emulator) -> Project:
    """The throwaway project with just ``logger`` ($source solar → $project → __testLog), deployed."""
    project = Project(tmp_path, emulator)
    for name in ("hot", "per_group"):
        project.remove("processors", name)
    project.remove("connections", "cluster")
    assert service.deploy(project.runner(), project.desired()).applied.ok
    return project


def test_profile_on_the_emulator_records_input_and_output_mbps(logger_only):
    settings = logger_only.settings()
    outcome = run_profile(open_client(settings).list_processors, SystemClock(), env="test", root=logger_only.root,
                          git_sha="e" * 40, duration=1.5, interval=0.25, processors=["logger"], record=True)
    summary = dict(zip(outcome.data.summary["metric"], outcome.data.summary["value"]))
    assert summary["input_mbps"] > summary["output_mbps"] > 0  # $project drops most of each document
    bytes_per_message = summary["input_mbps"] * 1e6 / 8 / summary["input_rate"]
    assert 50 < bytes_per_message < 5000  # a solar reading as JSON, not a unit slip by 8 or 1,000,000
    assert any(line.split()[:2] == ["logger", "input_mbps"] for line in outcome.text.splitlines())

    history = profile_paths("test", logger_only.root).history
    assert {"input_mbps", "output_mbps"} <= set(load_runs(history)["metric"])
    (advice,) = advise_all(logger_only.desired(), history)
    assert any(r.startswith("throughput ") and "(input_mbps, the busier direction) fits" in r for r in advice.reasons)
