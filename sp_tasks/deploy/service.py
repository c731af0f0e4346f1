"""The GitOps flows tasks call: plan, snapshot, deploy (with automatic rollback) and rollback.

Each flow is a short script over the pure core: read (settings, Git, live) → compute (plan,
steps) → act (executor) → check again (re-plan must be all no-op). A deploy that fails at any
step — a write, the health gate, the final re-plan — is rolled back to the pre-deploy snapshot
and verified, so the workspace ends either fully applied or exactly as the snapshot recorded it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from sp_tasks import inputfiles
from sp_tasks.clock import SystemClock
from sp_tasks.console import current
from sp_tasks.deploy import snapshots, waiting
from sp_tasks.deploy.executor import ApplyResult, Executor
from sp_tasks.deploy.health import HealthPolicy
from sp_tasks.deploy.steps import Step
from sp_tasks.deploy.strategies import build_steps
from sp_tasks.errors import Cancelled, ConfigError, DeployError, PlanMismatch, StalePlanError, SpTasksError
from sp_tasks.model import ConnectionSpec, DesiredState, LiveState, ProcessorSpec
from sp_tasks.planning.plan import Plan, fingerprint, plan_from_json
from sp_tasks.planning.planner import compute_plan
from sp_tasks.planning.targeting import check_known, select

SAMPLE = "sample_stream_solar"
WORKSPACE_TIMEOUT = 180.0  # MCP tests poll up to 120 s for a new workspace


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
                    "untouched_connections": list(self.plan.untouched_connections)} if self.plan.targets else {})}


@dataclass
class Runner:
    """One environment's client, clock and output, shared by the flows."""

    settings: Any
    client: Any
    clock: Any = field(default_factory=SystemClock)
    progress: Callable[[str], None] = field(default=lambda line: current().progress(line))
    targets: tuple[str, ...] = ()  # --processor: every plan covers only these (planning/targeting.py)
    _targets_checked: bool = field(default=False, repr=False)

    # -- reading --------------------------------------------------------------------------
    def live(self) -> LiveState:
        """Live state once nothing is mid-transition (a plan must not act on a half-created processor)."""
        return waiting.settled_live(self.client, clock=self.clock, progress=self.progress)

    def plan(self, desired: DesiredState, live: LiveState, *, prune: bool = False, tier: str | None = None,
             exact: bool = False, rotate_secrets: bool = False, identities: dict[str, str] | None = None) -> Plan:
        default_tier = tier or self.settings.default_tier
        if self.targets and not self._targets_checked:  # the first plan of a flow: later ones may not see a pruned one
            check_known(self.targets, desired, live)
            self._targets_checked = True
        chosen = select(desired, live, self.targets) if self.targets else None
        planned_desired, planned_live = (chosen.desired, chosen.live) if chosen else (desired, live)
        plan = compute_plan(
            with_sample_connection(planned_desired, planned_live), planned_live, environment=self.settings.name,
            workspace=self.settings.workspace, project_id=self.settings.project_id,
            default_tier=default_tier, resolve_tier=self._tier_resolver(default_tier),
            prune=prune, exact=exact, rotate_secrets=rotate_secrets, identities=identities,
            created_at=self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        if chosen is None:
            return plan
        # The fingerprint covers the whole workspace: a saved targeted plan is stale when anything changed.
        return replace(plan, live_fingerprint=fingerprint(live), targets=self.targets,
                       untouched_processors=chosen.untouched_processors,
                       untouched_connections=chosen.untouched_connections)

    def snapshot(self, live: LiveState, reason: str, out: str | Path | None = None) -> Path:
        doc = snapshots.build_snapshot(live, environment=self.settings.name, workspace=self.settings.workspace,
                                       project_id=self.settings.project_id, taken_at=self.clock.now(),
                                       reason=reason)
        return snapshots.save_snapshot(doc, self.settings.root, out)

    # -- acting ---------------------------------------------------------------------------
    def ensure_workspace(self, live: LiveState) -> LiveState:
        if live.workspace is not None:
            return live
        if not self.settings.create_workspace:
            raise ConfigError(f"workspace {self.settings.workspace} does not exist in project "
                              f"{self.settings.project_id}; create it in Atlas, or set ALLOW_CREATE_WORKSPACE=true "
                              f"in {self.settings.config_file}")
        self.progress(f"create workspace: {self.settings.workspace}")
        tier = _concrete(self.settings.default_tier)
        self.client.create_workspace({
            "dataProcessRegion": {"cloudProvider": self.settings.cloud_provider, "region": self.settings.region},
            "streamConfig": {"tier": tier}})
        # Reference §3.2: a new workspace may answer 404 for a while.
        waiting.wait_until(self.client.get_workspace, lambda ws: ws is not None, clock=self.clock,
                           what=f"workspace {self.settings.workspace} to exist", timeout=WORKSPACE_TIMEOUT,
                           progress=self.progress)
        return self.live()

    def apply(self, steps: tuple[Step, ...], secrets_from: DesiredState) -> ApplyResult:
        """Run the steps; connection secrets are read from ``secrets_from`` (the Git files)."""
        executor = Executor(self.client, secrets_from, clock=self.clock, progress=self.progress,
                            policy=HealthPolicy.from_thresholds(self.settings.thresholds))
        return executor.apply(steps)

    def restore(self, snapshot_path: Path, git_desired: DesiredState) -> ApplyResult:
        """Roll live state back to a snapshot and verify it; raises DeployError if it will not match."""
        target, identities = _snapshot_target(snapshot_path, git_desired)
        live = self.live()
        plan = self.plan(target, live, exact=True, identities=identities)
        result = self.apply(build_steps(plan, strategy="in-place", live=live), git_desired)
        leftover = self.plan(target, self.live(), exact=True, identities=identities)
        if not result.ok or leftover.has_changes():
            why = result.failure or f"{sum(c.action.value != 'no-op' for c in leftover.changes)} change(s) remain"
            raise DeployError(f"rollback to {snapshot_path} did not complete ({why}); the workspace needs "
                              f"attention: run `invoke plan --env {self.settings.name}`", result)
        return result

    def check_saved_plan(self, plan_file: str, live: LiveState) -> Plan:
        plan = plan_from_json(inputfiles.read_text(plan_file, what="plan file"), source=plan_file)
        if (plan.environment, plan.workspace, plan.project_id) != (
                self.settings.name, self.settings.workspace, self.settings.project_id):
            raise PlanMismatch(f"{plan_file} was made for environment {plan.environment} (workspace "
                               f"{plan.workspace}); this is {self.settings.name} ({self.settings.workspace})")
        if plan.live_fingerprint != fingerprint(live):
            raise StalePlanError(f"live state changed since {plan_file} was made; run `invoke plan --env "
                                 f"{self.settings.name} --out {plan_file}` again")
        return plan

    def _tier_resolver(self, default_tier: str):
        """``auto``: each processor's tier comes from the advice (parallelism + latest profile)."""
        if default_tier != "auto":
            return None
        from sp_tasks.tiers import advise_tier, load_latest_profiles

        profiles = load_latest_profiles(self.settings.baselines_dir / "history.csv")

        def resolve(spec: ProcessorSpec) -> str:
            if spec.tier:
                return spec.tier
            advice = advise_tier(spec, profiles.get(spec.name))
            if advice.tier is None:
                raise ConfigError(f"{spec.file or spec.name}: {' '.join(advice.reasons)}")
            return advice.tier

        return resolve


def deploy(runner: Runner, desired: DesiredState, *, strategy: str = "in-place", plan_file: str | None = None,
           prune: bool = False, tier: str | None = None, rotate_secrets: bool = False, dry_run: bool = False,
           confirm: Callable[[Plan], bool] = lambda plan: True,
           show_plan: Callable[[Plan, tuple[Step, ...]], None] = lambda plan, steps: None) -> Outcome:
    """validate (done by the caller) → plan → confirm → snapshot → apply → verify, or roll back."""
    live = runner.live()
    if live.workspace is None and (dry_run or plan_file):
        raise ConfigError(f"workspace {runner.settings.workspace} does not exist yet; deploy without "
                          "--dry-run/--plan once to create it")
    live = runner.ensure_workspace(live)
    if plan_file:
        plan = runner.check_saved_plan(plan_file, live)
    else:
        plan = runner.plan(desired, live, prune=prune, tier=tier, rotate_secrets=rotate_secrets)
    if not plan.has_changes():
        return Outcome(plan, message="no changes: live state matches Git")
    steps = build_steps(plan, strategy=strategy, live=live)
    show_plan(plan, steps)
    if dry_run:
        return Outcome(plan, steps=steps, message="dry run: nothing sent")
    if not confirm(plan):
        raise Cancelled("cancelled: nothing was sent")
    live = runner.live()  # someone may have changed the workspace while we waited for confirmation
    if fingerprint(live) != plan.live_fingerprint:
        raise StalePlanError(f"the {runner.settings.name} workspace changed while the plan was being confirmed "
                             "(another deploy?); nothing was sent: plan again")
    snapshot = runner.snapshot(live, "pre-deploy")
    runner.progress(f"snapshot saved: {snapshot}")
    try:
        result = runner.apply(steps, desired)
        failure = result.failure or _leftover(runner, desired, plan)
    except BaseException as interrupt:  # Ctrl-C, CI cancel: put the workspace back before leaving
        runner.progress(f"interrupted ({type(interrupt).__name__}); rolling back to {snapshot}")
        runner.restore(snapshot, desired)
        interrupt.add_note(f"the deploy was rolled back to {snapshot} and verified")
        raise
    if failure is None:
        return Outcome(plan, result, snapshot, message="applied and verified", steps=steps)
    runner.progress(f"deploy failed: {failure}; rolling back to {snapshot}")
    try:
        restored = runner.restore(snapshot, desired)
    except SpTasksError as rollback_failure:
        outcome = Outcome(plan, result, snapshot, getattr(rollback_failure, "result", None), steps=steps,
                          message=f"deploy failed ({failure}) and the rollback to {snapshot.name} did not "
                                  f"complete ({rollback_failure}); run `invoke plan --env {plan.environment}`")
        raise DeployError(outcome.message, outcome) from None
    outcome = Outcome(plan, result, snapshot, restored, steps=steps,
                      message=f"deploy failed and was rolled back to {snapshot.name}: {failure}")
    raise DeployError(outcome.message, outcome)


def _leftover(runner: Runner, desired: DesiredState, plan: Plan) -> DeployError | None:
    """The re-check after apply: planning again with the plan's own options must find nothing."""
    again = runner.plan(desired, runner.live(), prune=plan.prune, tier=plan.default_tier or None,
                        rotate_secrets=False)
    if not again.has_changes():
        return None
    left = ", ".join(f"{c.name} ({c.action.value})" for c in again.changes if c.action.value != "no-op")
    return DeployError(f"after apply, live state still differs from Git: {left}")


def rollback(runner: Runner, snapshot_path: Path, git_desired: DesiredState, *, dry_run: bool = False,
             confirm: Callable[[Plan], bool] = lambda plan: True,
             show_plan: Callable[[Plan, tuple[Step, ...]], None] = lambda plan, steps: None) -> Outcome:
    """Make live state equal to ``snapshot_path`` again (same planner and executor as deploy);
    processors that still exist under another name are renamed back, keeping their state."""
    target, identities = _snapshot_target(snapshot_path, git_desired)
    live = runner.live()
    plan = runner.plan(target, live, exact=True, identities=identities)
    if not plan.has_changes():
        return Outcome(plan, snapshot=snapshot_path, message="no changes: live state already matches the snapshot")
    show_plan(plan, ())  # first: a plan that cannot be applied (a missing secret) is still shown
    build_steps(plan, strategy="in-place", live=live)  # refuses such a plan before anything is written
    if dry_run:
        return Outcome(plan, snapshot=snapshot_path, message="dry run: nothing sent")
    if not confirm(plan):
        raise Cancelled("cancelled: nothing was sent")
    runner.snapshot(runner.live(), "pre-rollback")
    result = runner.restore(snapshot_path, git_desired)
    return Outcome(plan, result, snapshot_path, message=f"rolled back to {snapshot_path.name} and verified")


def with_sample_connection(desired: DesiredState, live: LiveState) -> DesiredState:
    """Atlas needs the Sample connection in the workspace; add it when a processor reads it."""
    uses_sample = any(_reads_sample(p.pipeline) for p in desired.processors)
    if not uses_sample or desired.connection(SAMPLE):
        return desired
    sample = ConnectionSpec(SAMPLE, "Sample", {"name": SAMPLE, "type": "Sample"}, file="(built in)")
    return replace(desired, connections=desired.connections + (sample,))


def _reads_sample(pipeline: Any) -> bool:
    first = pipeline[0] if isinstance(pipeline, list) and pipeline else {}
    return isinstance(first, dict) and (first.get("$source") or {}).get("connectionName") == SAMPLE


def _snapshot_target(snapshot_path: Path, git_desired: DesiredState) -> tuple[DesiredState, dict[str, str]]:
    """The snapshot as desired state (secrets sourced from Git) and its processors' ``_id``s."""
    from sp_tasks.planning.snapshot_desired import desired_from_snapshot, identities_from_snapshot

    doc = snapshots.load_snapshot(snapshot_path)
    target = desired_from_snapshot(doc, source=str(snapshot_path))
    return _with_secret_sources(target, git_desired), identities_from_snapshot(doc, source=str(snapshot_path))


def _with_secret_sources(target: DesiredState, git_desired: DesiredState) -> DesiredState:
    """Snapshots hold no secret values: mark which secrets of a restored connection or processor the
    executor must fill from the Git file of the same name (the values are only read at apply time).
    One the restored object needs and Git cannot supply makes the plan list it as missing."""
    from sp_tasks.planning.snapshot_desired import with_secret_sources

    return with_secret_sources(target, git_desired)


def _concrete(tier: str) -> str:
    return "SP10" if tier == "auto" else tier
