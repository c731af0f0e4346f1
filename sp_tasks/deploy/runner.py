"""Runner: one environment's client, clock, output, deploy lock and interrupts, shared by the flows.

It reads (live state with the lock's status, plans, snapshots), holds the workspace's deploy lock
while it writes (``locked``), applies steps through the executor and restores a snapshot. The
flows in ``deploy.service`` are scripts over these methods.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from sp_tasks.clock import SystemClock
from sp_tasks.console import current
from sp_tasks.deploy import lock, snapshots, waiting
from sp_tasks.deploy.executor import ApplyResult, Executor
from sp_tasks.deploy.health import HealthPolicy
from sp_tasks.deploy.interrupts import CancellableClock, Interrupts
from sp_tasks.deploy.steps import Step
from sp_tasks.deploy.strategies import build_steps
from sp_tasks.errors import ConfigError, DeployError
from sp_tasks.model import ConnectionSpec, DesiredState, LiveState, ProcessorSpec
from sp_tasks.planning.plan import Plan, fingerprint
from sp_tasks.planning.planner import compute_plan
from sp_tasks.planning.targeting import check_known, select

SAMPLE = "sample_stream_solar"
WORKSPACE_TIMEOUT = 180.0  # MCP tests poll up to 120 s for a new workspace


@dataclass
class Runner:
    settings: Any
    client: Any
    clock: Any = field(default_factory=SystemClock)
    progress: Callable[[str], None] = field(default=lambda line: current().progress(line))
    targets: tuple[str, ...] = ()  # --processor: every plan covers only these (planning/targeting.py)
    lease: lock.Lease | None = None  # set while this runner holds the deploy lock
    interrupts: Interrupts | None = None  # set while a flow runs with signal handlers installed
    _targets_checked: bool = field(default=False, repr=False)

    # -- reading --------------------------------------------------------------------------
    def live(self) -> LiveState:
        """Live state once nothing is mid-transition (a plan must not act on a half-created processor)."""
        return waiting.settled_live(self.client, clock=self.clock, progress=self.progress)

    def lock_status(self, live: LiveState) -> dict[str, Any] | None:
        """The workspace's deploy lock as ``live`` shows it; None when unlocked or ours."""
        found = lock.status(live.extra.get("locks") or [], self.clock.now(), self.lease.token if self.lease else "")
        return None if found is None or found["ours"] else {**found, "environment": self.settings.name}

    def plan(self, desired: DesiredState, live: LiveState, *, prune: bool = False, tier: str | None = None,
             exact: bool = False, rotate_secrets: bool = False, identities: dict[str, str] | None = None) -> Plan:
        default_tier = tier or self.settings.default_tier
        self.check_targets(desired, live)
        chosen = select(desired, live, self.targets) if self.targets else None
        planned_desired, planned_live = (chosen.desired, chosen.live) if chosen else (desired, live)
        plan = compute_plan(
            with_sample_connection(planned_desired, planned_live), planned_live, environment=self.settings.name,
            workspace=self.settings.workspace, project_id=self.settings.project_id,
            default_tier=default_tier, resolve_tier=self._tier_resolver(default_tier),
            prune=prune, exact=exact, rotate_secrets=rotate_secrets, identities=identities,
            lock=self.lock_status(live), created_at=self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        # What SINK_SUFFIX renamed, for the processors planned (people read it; apply never does).
        planned = {p.name for p in planned_desired.processors}
        plan = replace(plan, sinks=tuple(r.to_json() for r in desired.sinks if r.processor in planned))
        if chosen is None:
            return plan
        # The fingerprint covers the whole workspace: a saved targeted plan is stale when anything changed.
        return replace(plan, live_fingerprint=fingerprint(live), targets=self.targets,
                       untouched_processors=chosen.untouched_processors,
                       untouched_connections=chosen.untouched_connections)

    def check_targets(self, desired: DesiredState, live: LiveState) -> None:
        """-p names a processor of Git or of the workspace (with --prune a live-only one is a target):
        checked by a flow before its first write, and by its first plan (later ones may not see a
        pruned one)."""
        if self.targets and not self._targets_checked:
            check_known(self.targets, desired, live)
            self._targets_checked = True

    def snapshot(self, live: LiveState, reason: str, out: str | Path | None = None, *, verified: bool = False) -> Path:
        """Save ``live``; ``verified``: it passed a deploy's gate and re-plan (a rollback target)."""
        from sp_tasks.gitrev import current_sha

        doc = snapshots.build_snapshot(live, environment=self.settings.name, workspace=self.settings.workspace,
                                       project_id=self.settings.project_id, taken_at=self.clock.now(),
                                       reason=reason, verified=verified, revision=current_sha(self.settings.root))
        return snapshots.save_snapshot(doc, self.settings.root, out)

    # -- acting ---------------------------------------------------------------------------
    @contextmanager
    def locked(self, operation: str, **intent: Any) -> Iterator[lock.Lease]:
        """Hold the workspace's deploy lock (LockHeld if another deploy has it), with a heartbeat;
        a lease lost meanwhile stops the flow without a rollback (someone else may be writing)."""
        from sp_tasks.gitrev import current_sha

        record = {"operation": operation, "environment": self.settings.name, "workspace": self.settings.workspace,
                  "revision": current_sha(self.settings.root), **intent}
        lease = lock.acquire(self.client, record, clock=self.clock, progress=self.progress)
        lease.on_lost, lease.warn = self._lost, self.progress
        self.lease = lease.start_heartbeat()
        try:
            yield lease
        finally:
            self.lease = None
            lease.release()

    def ensure_workspace(self, live: LiveState) -> LiveState:
        if live.workspace is not None:
            return live
        if not self.settings.create_workspace:
            raise ConfigError(f"workspace {self.settings.workspace} does not exist in project "
                              f"{self.settings.project_id}; create it in Atlas, or set ALLOW_CREATE_WORKSPACE=true "
                              f"in {self.settings.config_file}")
        self.progress(f"create workspace: {self.settings.workspace}")
        tier = "SP10" if self.settings.default_tier == "auto" else self.settings.default_tier
        self.client.create_workspace({
            "dataProcessRegion": {"cloudProvider": self.settings.cloud_provider, "region": self.settings.region},
            "streamConfig": {"tier": tier}})
        # Reference §3.2: a new workspace may answer 404 for a while.
        waiting.wait_until(self.client.get_workspace, lambda ws: ws is not None, clock=self.clock,
                           what=f"workspace {self.settings.workspace} to exist", timeout=WORKSPACE_TIMEOUT,
                           progress=self.progress)
        return self.live()

    def apply(self, steps: tuple[Step, ...], secrets_from: DesiredState, *, interruptible: bool = True) -> ApplyResult:
        """Run the steps; connection secrets are read from ``secrets_from`` (the Git files). While
        interruptible, a signal or a lost lock stops it after the step in flight."""
        stop = self.interrupts if interruptible and self.interrupts else None
        executor = Executor(self.client, secrets_from, clock=CancellableClock(self.clock, stop) if stop else self.clock,
                            progress=self.progress, policy=HealthPolicy.from_thresholds(self.settings.thresholds),
                            cancel=(lambda: stop.reason if stop.cancel.is_set() else "") if stop else (lambda: ""))
        return executor.apply(steps)

    def restore(self, snapshot_path: Path, git_desired: DesiredState) -> ApplyResult:
        """Roll live state back to a snapshot and verify it; raises DeployError if it will not match.
        Processors still there under another name are renamed back (same _id and state)."""
        target, identities = snapshot_target(snapshot_path, git_desired)
        live = self.live()
        plan = self.plan(target, live, exact=True, identities=identities)
        result = self.apply(build_steps(plan, strategy="in-place", live=live), git_desired, interruptible=False)
        leftover = self.plan(target, self.live(), exact=True, identities=identities)
        if not result.ok or leftover.has_changes():
            why = result.failure or f"{sum(c.action.value != 'no-op' for c in leftover.changes)} change(s) remain"
            raise DeployError(f"rollback to {snapshot_path} did not complete ({why}); the workspace needs "
                              f"attention: run `invoke plan --env {self.settings.name}`", result)
        return result

    def _lost(self, why: str) -> None:
        self.progress(why)
        if self.interrupts:
            self.interrupts.stop(why, keep_workspace=True)

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


def snapshot_target(snapshot_path: Path, git_desired: DesiredState) -> tuple[DesiredState, dict[str, str]]:
    """The snapshot as desired state and its processors' ``_id``s. Snapshots hold no secret values:
    the ones a restored object needs are marked to come from the Git file of the same name (read
    only at apply time); one Git cannot supply makes the plan list it as missing."""
    from sp_tasks.planning.snapshot_desired import desired_from_snapshot, identities_from_snapshot, with_secret_sources

    doc = snapshots.load_snapshot(snapshot_path)
    target = desired_from_snapshot(doc, source=str(snapshot_path))
    return with_secret_sources(target, git_desired), identities_from_snapshot(doc, source=str(snapshot_path))
