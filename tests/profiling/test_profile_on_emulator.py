"""Profiling against the test emulator over HTTP: bandwidth reaches the run summary, history and tier advice.

Real time, because the emulator's sample stream runs on the wall clock (100 docs/s in tests):
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


def test_runs_back_to_back_fill_the_current_file_and_say_how_many_more_the_rule_wants(logger_only):
    from sp_tasks.profiling.decision import CURRENT_RUNS
    from sp_tasks.profiling.record import profile_runs

    client, said = open_client(logger_only.settings()), []

    def one(i: int):
        return run_profile(client.list_processors, SystemClock(), env="test", root=logger_only.root,
                           git_sha="e" * 40, duration=0.5, interval=0.25, processors=["logger"], reset=i == 0)

    outcome = profile_runs(2, one, said.append)
    current = load_runs(profile_paths("test", logger_only.root).current)
    assert current["run_id"].nunique() == 2 and outcome.data.run_id in set(current["run_id"])
    assert len(said) == 1 and said[0].endswith("(1 of 2): thresholds: all within limits")
    assert f"holds 2 run(s) of these definitions; compare-baseline's rule is calibrated for {CURRENT_RUNS}" \
        in outcome.text and f"profile {CURRENT_RUNS - 2} more time(s)" in outcome.text

    profile_runs(CURRENT_RUNS - 2, lambda i: one(1), said.append)  # the file now holds what the rule wants
    again = one(1)
    assert "compare-baseline's rule is calibrated" not in again.text
    assert load_runs(profile_paths("test", logger_only.root).current)["run_id"].nunique() == CURRENT_RUNS + 1
