"""The GitOps flows tasks call: deploy (with automatic rollback) and rollback.

Each flow is a short script over the pure core: read (settings, Git, live) → compute (plan,
steps) → act (executor) → check again (re-plan must be all no-op). Writes happen only under the
workspace's deploy lock, after a snapshot. A deploy that fails at any step — a write, the health
gate, the final re-plan, a signal (SIGINT, SIGTERM, SIGHUP) — is rolled back to the pre-deploy
snapshot and verified, so the workspace ends either fully applied or exactly as the snapshot
recorded it, and the last message says which. Leftovers of an interrupted deploy are part of the
plan (repairs, applied first), so "verified" is never said around them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sp_tasks.deploy import trust
from sp_tasks.deploy.executor import ApplyResult
from sp_tasks.deploy.interrupts import ROLLING_BACK, WRITING, Interrupts
from sp_tasks.deploy.runner import Runner, snapshot_target, with_sample_connection  # noqa: F401 (re-exported)
from sp_tasks.deploy.steps import Step
from sp_tasks.deploy.strategies import build_steps
from sp_tasks.errors import (Cancelled, ConfigError, DeployError, DeployInterrupted, LockHeld, SpTasksError,
                             StalePlanError)
from sp_tasks.model import DesiredState
from sp_tasks.planning.plan import Plan, fingerprint


@dataclass
class Outcome:
    """What a deploy or rollback did, for the summary table and --format json."""

    plan: Plan
    applied: ApplyResult | None = None
    snapshot: Path | None = None
    rolled_back: ApplyResult | None = None
    message: str = ""
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.plan.environment, "workspace": self.plan.workspace,
                "summary": self.plan.summary(), "message": self.message,
                "snapshot": str(self.snapshot) if self.snapshot else None,
                "applied": self.applied.to_json() if self.applied else None,
                "rolled_back": self.rolled_back.to_json() if self.rolled_back else None,
                **({"targets": list(self.plan.targets), "untouched_processors": list(self.plan.untouched_processors),
                    "untouched_connections": list(self.plan.untouched_connections)} if self.plan.targets else {}),
                **({"sinks": list(self.plan.sinks)} if self.plan.sinks else {})}  # SINK_SUFFIX renames


Confirm = Callable[[Plan], bool]
ShowPlan = Callable[[Plan, tuple[Step, ...]], None]


def deploy(runner: Runner, desired: DesiredState, *, strategy: str = "in-place", plan_file: str | None = None,
           prune: bool = False, tier: str | None = None, rotate_secrets: bool = False, dry_run: bool = False,
           confirm: Confirm = lambda plan: True, show_plan: ShowPlan = lambda plan, steps: None,
           answerable: Callable[[], None] = lambda: None) -> Outcome:
    """validate (done by the caller) → plan → confirm → lock → snapshot → apply → verify, or roll back.
    ``answerable`` raises when ``confirm`` could not be answered (CI without --yes): asked before the
    one write that comes ahead of the plan, creating a missing workspace."""
    interrupts = runner.interrupts = Interrupts(runner.progress)
    with interrupts.installed():
        live = runner.live()
        if live.workspace is None and (dry_run or plan_file):
            raise ConfigError(f"workspace {runner.settings.workspace} does not exist yet; deploy without "
                              "--dry-run/--plan once to create it")
        runner.check_targets(desired, live)  # a -p typo (with --prune, checked against live) before any write
        if live.workspace is None:
            answerable()  # everything is still to create: the plan will need confirming
        live = runner.ensure_workspace(live)
        if plan_file:
            plan = trust.check_saved_plan(runner, plan_file, desired, live)
        else:
            plan = runner.plan(desired, live, prune=prune, tier=tier, rotate_secrets=rotate_secrets)
        _refuse_if_locked(plan, dry_run)
        if not plan.has_changes():
            return Outcome(plan, message="no changes: live state matches Git" + _clear_stale_lock(runner, plan, dry_run))
        steps = build_steps(plan, strategy=strategy, live=live)
        show_plan(plan, steps)
        if dry_run:
            return Outcome(plan, steps=steps, message="dry run: nothing sent")
        if not confirm(plan):
            raise Cancelled("cancelled: nothing was sent")
        interrupts.phase = WRITING
        with runner.locked("deploy", strategy=strategy, processors=_ids(live)) as lease:
            live = runner.live()  # someone may have changed the workspace while we waited for confirmation
            if fingerprint(live) != plan.live_fingerprint:
                raise StalePlanError(f"the {runner.settings.name} workspace changed while the plan was being "
                                     "confirmed (another deploy?); nothing was sent: plan again")
            interrupts.check("before any change: nothing was sent; the workspace is unchanged")
            snapshot = runner.snapshot(live, "pre-deploy")
            lease.note(snapshot=str(snapshot))
            runner.progress(f"snapshot saved: {snapshot}")
            return _apply_or_roll_back(runner, desired, plan, steps, snapshot)


def _refuse_if_locked(plan: Plan, dry_run: bool) -> None:
    if plan.lock and plan.lock.get("live") and not dry_run:
        from sp_tasks.deploy.lock import describe

        raise LockHeld(f"the workspace is locked by {describe(plan.lock)}; wait for it to finish, or if it is dead "
                       f"run `invoke unlock --env {plan.environment}`; nothing was sent")


def _clear_stale_lock(runner: Runner, plan: Plan, dry_run: bool) -> str:
    """Nothing to change, but a dead deployer's lock is left: take it over and give it back."""
    if dry_run or not plan.lock or plan.lock.get("live"):
        return ""
    with runner.locked("cleanup"):
        pass
    return f"; removed the stale deploy lock ({plan.lock.get('stale_because')})"


def _ids(live) -> dict[str, str]:
    """The intent recorded in the lock: every processor's _id before the deploy."""
    return {p.name: p.id for p in live.processors}


def _apply_or_roll_back(runner: Runner, desired: DesiredState, plan: Plan, steps: tuple[Step, ...],
                        snapshot: Path) -> Outcome:
    interrupts = runner.interrupts
    try:
        result = runner.apply(steps, desired)
        failure = result.failure
        if failure is None and not interrupts.cancel.is_set():
            failure, live = _leftover(runner, desired, plan)
    except BaseException as unexpected:  # noqa: BLE001 - whatever it was, the workspace goes back first
        interrupts.phase = ROLLING_BACK
        runner.progress(f"deploy stopped ({type(unexpected).__name__}: {unexpected}); rolling back to {snapshot}")
        runner.restore(snapshot, desired)
        unexpected.add_note(f"the deploy was rolled back to {snapshot} and verified")
        raise
    if interrupts.cancel.is_set():
        failure = DeployInterrupted(f"interrupted by {interrupts.reason}")
    if failure is None:
        verified = runner.snapshot(live, "deployed", verified=True)  # the next `invoke rollback` target
        runner.progress(f"verified state saved: {verified}")
        return Outcome(plan, result, snapshot, message="applied and verified", steps=steps)
    if interrupts.keep_workspace:  # the lock was lost: whoever holds it now may be writing
        raise DeployError(f"deploy stopped: {interrupts.reason}; not rolled back so as not to collide with the "
                          f"new holder; the workspace is part-way: run `invoke plan --env {plan.environment}`",
                          Outcome(plan, result, snapshot, steps=steps, message="stopped, not rolled back"))
    interrupts.phase = ROLLING_BACK
    runner.progress(f"deploy failed: {failure}; rolling back to {snapshot}")
    try:
        restored = runner.restore(snapshot, desired)
    except SpTasksError as rollback_failure:
        outcome = Outcome(plan, result, snapshot, getattr(rollback_failure, "result", None), steps=steps,
                          message=f"deploy failed ({failure}) and the rollback to {snapshot.name} did not "
                                  f"complete ({rollback_failure}); the workspace is part-way: run `invoke plan "
                                  f"--env {plan.environment}` to see what is left, then deploy or roll back again")
        raise DeployError(outcome.message, outcome) from None
    outcome = Outcome(plan, result, snapshot, restored, steps=steps,
                      message=f"deploy failed ({failure}) and was rolled back to {snapshot.name}: the workspace "
                              "is as it was before the deploy (verified)")
    raise (DeployInterrupted if isinstance(failure, DeployInterrupted) else DeployError)(outcome.message, outcome)


def _leftover(runner: Runner, desired: DesiredState, plan: Plan):
    """The re-check after apply: planning again with the plan's own options must find nothing.
    Returns (the failure or None, the live state read)."""
    live = runner.live()
    again = runner.plan(desired, live, prune=plan.prune, tier=plan.default_tier or None, rotate_secrets=False)
    if not again.has_changes():
        return None, live
    left = ", ".join(f"{c.name} ({c.action.value})" for c in again.changes if c.action.value != "no-op")
    return DeployError(f"after apply, live state still differs from Git: {left}"), live


def rollback(runner: Runner, snapshot_path: Path, git_desired: DesiredState, *, dry_run: bool = False,
             confirm: Confirm = lambda plan: True, show_plan: ShowPlan = lambda plan, steps: None) -> Outcome:
    """Make live state equal to ``snapshot_path`` again (same planner and executor as deploy);
    processors that still exist under another name are renamed back, keeping their state."""
    interrupts = runner.interrupts = Interrupts(runner.progress)
    with interrupts.installed():
        verified = trust.check_snapshot(runner, snapshot_path).get("verified") is True
        target, identities = snapshot_target(snapshot_path, git_desired)
        live = runner.live()
        plan = runner.plan(target, live, exact=True, identities=identities)
        if not plan.has_changes():
            return Outcome(plan, snapshot=snapshot_path, message="no changes: live state already matches the snapshot"
                           + _clear_stale_lock(runner, plan, dry_run))
        show_plan(plan, ())  # first: a plan that cannot be applied (a missing secret) is still shown
        build_steps(plan, strategy="in-place", live=live)  # refuses such a plan before anything is written
        _refuse_if_locked(plan, dry_run)
        if dry_run:
            return Outcome(plan, snapshot=snapshot_path, message="dry run: nothing sent")
        if not confirm(plan):
            raise Cancelled("cancelled: nothing was sent")
        interrupts.phase = ROLLING_BACK  # a rollback is finished once begun: signals only say so
        with runner.locked("rollback", snapshot=str(snapshot_path)):
            runner.snapshot(runner.live(), "pre-rollback")
            result = runner.restore(snapshot_path, git_desired)
            # Restoring a verified state gives a verified state; anything else stays a plain snapshot.
            runner.snapshot(runner.live(), "rolled-back", verified=verified)
    return Outcome(plan, result, snapshot_path, message=f"rolled back to {snapshot_path.name} and verified: the "
                                                        "workspace is as the snapshot recorded it")
