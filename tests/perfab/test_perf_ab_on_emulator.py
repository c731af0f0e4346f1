"""perf-ab against the test emulator over HTTP: A/A, a planted regression, clean-up on every exit path.

A throwaway project in its own Git repository (base = HEAD). Real time, short: 4 rounds of 1 s,
the sample stream at 200 documents/s per processor so the emulator keeps up on a busy machine.
"""
from __future__ import annotations

import json
import re
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))

from deploy_project import Project  # noqa: E402

from sp_tasks.errors import DeployError, ExitStatus  # noqa: E402
from sp_tasks.profiling import abtask  # noqa: E402
from sp_tasks.profiling.abrun import signals_interrupt  # noqa: E402

# 4 rounds: on a busy machine (the 60-processor runtime test alongside) a copy's first 1-s round
# can measure nothing; the paired test still has the 3 rounds it needs.
FAST = {"rounds": 4, "duration": 1.0, "interval": 0.2}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, emulator) -> Project:
    emulator.admin("POST", "config", {"sample_rate": 200.0})
    project = Project(tmp_path, emulator)
    project.remove("processors", "per_group")  # windows emit every second: too coarse for 1-s rounds
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    return project


def copies_left(project: Project) -> list[str]:
    return sorted(n for n in project.live_processors() if "__ab_" in n)


def perf_ab(project: Project, **kw):
    return abtask.run_perf_ab(project.settings(), base_ref="HEAD", runner=project.runner(), say=lambda _: None,
                              **{**FAST, **kw})


def test_nothing_changed_is_an_aa_run_that_exits_0_and_leaves_nothing_behind(repo):
    outcome = perf_ab(repo)
    report = outcome.data
    assert outcome.exit_status is ExitStatus.SUCCESS, outcome.text
    assert {s.name: s.status for s in report.processors} == {"hot": "unchanged", "logger": "unchanged"}
    assert report.aa_failures == [] and report.regressions == []
    assert copies_left(repo) == [] and repo.live_processors() == {}  # only the copies ever existed
    assert repo.runner().live().connections == ()  # and the connections created for them are gone too
    assert sorted(report.runs["run_id"].unique()) == [f"ab{i:02d}-{s}" for i in range(4) for s in ("base", "head")]
    ab = repo.root / ".sp" / "test" / "ab"
    comment = (ab / "comment.md").read_text()
    assert comment.startswith("## ✅ perf-ab `test`: no regression") and (ab / "ab.png").stat().st_size > 0
    again = abtask.run_perf_ab(repo.settings(), from_last_run=True, images="https://example.test/img")
    assert "![base vs head](https://example.test/img/ab.png)" in (ab / "comment.md").read_text()
    assert again.exit_status is ExitStatus.SUCCESS


def test_a_match_that_drops_most_documents_is_named_as_that_processors_output_regression(repo):
    hot = json.loads((repo.root / "processors" / "hot.json").read_text())
    hot["pipeline"][1] = {"$match": {"obs.watts": {"$gt": 440}}}
    repo.write("processors", hot)
    outcome = perf_ab(repo)
    report = outcome.data
    assert outcome.exit_status is ExitStatus.REGRESSION, outcome.text
    assert [(f.processor, f.metric) for f in report.regressions] == [("hot", "output_rate")]
    assert {s.name: (s.status, s.why) for s in report.processors}["hot"] == ("changed", "definition")
    assert report.aa_failures == [] and copies_left(repo) == []
    assert "## 🔴 perf-ab `test`: 1 regression in `hot`" in (repo.root / ".sp" / "test" / "ab" / "comment.md").read_text()


def test_an_interrupt_mid_run_still_removes_every_copy(repo):
    rounds = []

    def interrupt(line):
        rounds.append(line)
        if line.startswith("round 2/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        abtask.run_perf_ab(repo.settings(), base_ref="HEAD", runner=repo.runner(), say=interrupt, **FAST)
    assert copies_left(repo) == [] and rounds[-1].startswith("removing the 4 copies and 2 connection(s)")


def test_sigterm_becomes_an_interrupt_while_perf_ab_runs_and_only_then():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with signals_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before the next statement
            pytest.fail("SIGTERM did not interrupt")
    assert signal.getsignal(signal.SIGTERM) is before


def test_copies_a_killed_run_left_are_removed_by_clean_and_by_the_next_run(repo):
    runner = repo.runner()
    runner.ensure_workspace(runner.live())
    leftover = {"name": "hot__ab_head", "pipeline": [{"$source": {"documents": [{"a": 1}]}},
                                                      {"$emit": {"connectionName": "__testLog"}}]}
    runner.client.create_processor(leftover)
    runner.client.start_processor("hot__ab_head")
    assert abtask.clean(repo.settings(), runner) == "removed 1 perf-ab copies: hot__ab_head"
    assert copies_left(repo) == [] and abtask.clean(repo.settings(), runner) == "no perf-ab copies to remove"
    runner.client.create_processor(leftover)
    outcome = perf_ab(repo)
    assert "removed 1 copies left by an earlier perf-ab run: hot__ab_head" in outcome.data.notes
    assert copies_left(repo) == []


def test_a_copy_that_cannot_be_created_fails_the_run_and_removes_the_others(repo):
    repo.emulator.faults({"method": "POST", "path": r"/processor$", "status": 400, "after": 1, "count": 1,
                          "body": {"detail": "no", "errorCode": "INVALID_ATTRIBUTE"}})
    with pytest.raises(DeployError, match="perf-ab could not create its copies"):
        perf_ab(repo)
    assert copies_left(repo) == []


@pytest.mark.parametrize("kw, message", [
    ({"base_ref": "nosuch"}, "--base 'nosuch' is not a commit this checkout knows"),
    ({"rounds": 2}, "--runs 2: give a whole number, at least 3"),
    ({"interval": 5.0}, "--interval (5 s) is longer than --duration (1 s)"),
])
def test_bad_options_are_refused_before_any_request(repo, kw, message):
    from sp_tasks.errors import UsageError

    with pytest.raises(UsageError, match=re.escape(message)):
        abtask.run_perf_ab(repo.settings(), runner=repo.runner(), say=lambda _: None,
                           **{"base_ref": "HEAD", **FAST, **kw})
    assert repo.emulator.requests_served()["total"] == 0


def test_a_deploy_holding_the_workspace_lock_keeps_perf_ab_out(repo):
    from sp_tasks.errors import LockHeld

    holder = repo.runner()
    holder.ensure_workspace(holder.live())
    with holder.locked("deploy"):
        with pytest.raises(LockHeld):
            perf_ab(repo)
    assert copies_left(repo) == [] and repo.runner().live().connections == ()


def test_copies_that_cannot_be_removed_are_said_once_with_the_fix(repo):
    """The clean-up's failure used to be said as a progress line and again as the error line."""
    import io

    from sp_tasks.console import Console

    # Every copy is created (their starts are refused), so there are always copies to remove.
    repo.emulator.faults({"method": "POST", "path": r"__ab_(base|head):start", "status": 400,
                          "body": {"detail": "no", "errorCode": "INVALID_ATTRIBUTE"}},
                         {"method": "DELETE", "path": r"/processor/\w+__ab_(base|head)$", "status": 400,
                          "body": {"detail": "refused", "errorCode": "INVALID_ATTRIBUTE"}})
    said, console = [], Console(stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(DeployError, match="perf-ab could not remove its copies") as info:
        abtask.run_perf_ab(repo.settings(), base_ref="HEAD", runner=repo.runner(), say=said.append, **FAST)
    assert console.fail(info.value) == 1
    printed = "\n".join(said) + "\n" + console.stderr.getvalue()
    assert printed.count("refused") == 1, printed
    assert console.stderr.getvalue().rstrip().endswith("run `invoke perf-ab --clean` to remove them"), printed
