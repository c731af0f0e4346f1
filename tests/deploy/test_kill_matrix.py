"""The kill matrix, fast and deterministic: a deployer killed (kill -9) after each step of each
strategy, then the next plan and one deploy or rollback.

A kill -9 leaves exactly what the steps sent so far did, plus the dead deployer's lock; that is
reproduced here by applying the first k steps the deploy would take (the real executor, real
HTTP) under a lock whose process is gone. Real kills at named steps, and real signals, are in
test_deploy_signals.py; the slow whole matrix with real kills is tests/adversarial/kill_matrix.py.

After every kill point: the plan shows exactly what is left (kill_checks.py: the lock as stale, a
repair for each copy left behind and nothing else, a change to hot only if it is not yet as Git
wants it); one deploy converges (applied and verified, or nothing left to do) — or one rollback
returns to the last verified state — and the processor that existed before keeps its _id and no
counter goes back.
"""
import subprocess
from datetime import datetime, timezone

import pytest

from deploy_project import FILTER
from kill_checks import check_kept, check_plan_after_kill, counters_of
from sp_tasks.deploy import lock, service, snapshots
from sp_tasks.deploy.strategies import build_steps
from sp_tasks.model import DesiredState, LiveProcessor, LiveState, ProcessorSpec
from sp_tasks.planning.planner import compute_plan
from test_deploy_lock import V2

STRATEGIES = ("in-place", "blue-green", "canary")


def _step_count(strategy: str) -> int:
    """How many steps the deploy below takes (pure: the same plan the test makes on the emulator)."""
    live = LiveState({}, processors=(LiveProcessor("hot", "A", "STARTED", FILTER["pipeline"], tier="SP10"),))
    desired = DesiredState(processors=(ProcessorSpec("hot", V2["pipeline"]),))
    plan = compute_plan(desired, live, environment="test", workspace="ws-test", project_id="p", default_tier="SP10")
    return len(build_steps(plan, strategy=strategy, live=live))


# Every kill point repaired by a deploy; the blue-green ones (the only strategy that moves the
# original to another name) by a rollback too. Killed before the first step is the same state for
# every strategy (only the lock is left): in-place has it. The slow script runs every point both ways.
CASES = [(strategy, k, mode) for strategy in STRATEGIES for k in range(_step_count(strategy) + 1)
         for mode in ("deploy", "rollback")
         if (mode == "deploy" or strategy == "blue-green") and (k or strategy == "in-place")]


def _dead_deployer_lock(client, strategy: str) -> None:
    # A pid that just ended: `true` rather than a Python child, whose start-up costs ~0.5 s per case
    # under load, 32 cases over.
    done = subprocess.Popen(["true"])
    done.wait()
    gone = done.pid
    record = {**lock.new_record(datetime.now(timezone.utc), {"operation": "deploy", "strategy": strategy}),
              "pid": gone}
    client.create_processor({"name": lock.lock_name(1), "pipeline": lock.lock_pipeline(record)})


def _kill_after(project, strategy: str, k: int) -> list[str]:
    runner = project.runner()
    live = runner.live()
    steps = build_steps(runner.plan(project.desired(), live), strategy=strategy, live=live)
    _dead_deployer_lock(runner.client, strategy)
    result = runner.apply(steps[:k], project.desired())
    assert result.ok, result.failure
    return [s.id for s in steps[:k]]


@pytest.mark.parametrize("strategy, k, mode", CASES)
def test_killed_after_step_k_the_next_plan_shows_what_is_left_and_one_command_repairs_it(project, strategy, k, mode):
    project.remove("processors", "per_group")  # one processor keeps each case to a couple of seconds
    project.remove("processors", "logger")
    project.thresholds(window_s=1.0, interval_s=0.2)  # a canary comparison samples its whole window
    service.deploy(project.runner(), project.desired())
    before = project.live_processors()["hot"]
    project.write("processors", V2)
    done = _kill_after(project, strategy, k)

    runner = project.runner()
    live = runner.live()
    check_plan_after_kill(runner.plan(project.desired(), live), live, V2["pipeline"])
    floor = counters_of(live, before["id"])  # a recreated or reset processor would restart below these

    if mode == "deploy":
        outcome = service.deploy(project.runner(), project.desired(), strategy=strategy)
        assert outcome.message.startswith(("applied and verified", "no changes")), outcome.message
        after = project.runner()
        assert not after.plan(project.desired(), after.live()).has_changes()
        wanted = V2["pipeline"]
    else:
        found = snapshots.candidates(project.root, project.settings(), project.runner().live())
        verified = next(c for c in found if c.verified)  # what `invoke rollback` restores (when live is not it)
        service.rollback(project.runner(), verified.path, project.desired())
        wanted = FILTER["pipeline"]
    check_kept(project.runner().live(), before["id"], floor, wanted)
