"""How sp changes a workspace: part of the Git state through the deploy planner, or lifecycle steps
(stop, start, delete) through the deploy executor. Nothing here talks to Atlas on its own.

``deploy_subset`` deploys the named processors (``--processor`` targeting, as ``invoke deploy
-p``: they and the connections they use) or the named connections with the same planner,
snapshot, executor, health gate and rollback as ``invoke deploy``: nothing is deleted and
re-created, the planner decides update (checkpoint kept), update with reset (shown as such) or
no-op. Objects outside the subset are left alone (never pruned) and
out of the plan shown, which would otherwise list every other processor as "not in git". The plan
is shown before the prompt; ``--yes`` skips it. ``execute`` runs one chain of steps per processor
with the executor, which waits for states instead of sleeping and treats "already so" as done.
"""
from __future__ import annotations

import json
from dataclasses import replace

from sp_tasks.cli import views
from sp_tasks.deploy.steps import Chain, Phase, StepKind, Target, flatten
from sp_tasks.errors import ConfigError
from sp_tasks.model import DesiredState


def connections_subset(desired: DesiredState, names: list[str] | None) -> DesiredState:
    """The named Git connections (all of them when ``names`` is empty); no processors."""
    if not names:
        return DesiredState((), desired.connections)
    missing = [n for n in names if desired.connection(n) is None]
    if missing:
        known = ", ".join(c.name for c in desired.connections) or "none"
        raise ConfigError(f"no connections/{missing[0]}.json defines connection {missing[0]!r} (defined in Git: {known})")
    return DesiredState((), tuple(desired.connection(n) for n in names))


def plan_view(plan, subset: DesiredState):
    """The plan restricted to the subset's objects (what this command can change)."""
    wanted = {("processor", p.name) for p in subset.processors} | {("connection", c.name) for c in subset.connections}
    return replace(plan, changes=tuple(c for c in plan.changes if (c.kind, c.name) in wanted or c.action.value != "no-op"))


def deploy_subset(ctx, subset: DesiredState, *, targets: tuple[str, ...] = (), strategy: str = "in-place",
                  tier: str | None = None) -> int:
    """Plan → show → confirm → snapshot → apply → health gate → verify (rolled back on failure).

    ``targets``: processors, planned with ``--processor`` targeting (``subset`` is then all of
    Git); without, the plan is shown restricted to ``subset`` (connections)."""
    from sp_tasks.deploy import render, service
    from sp_tasks.planning.render import render_json, render_text, summary_line

    shown = []

    def view_of(plan):
        return plan if targets else plan_view(plan, subset)

    def show(plan, steps) -> None:
        shown.append(view_of(plan))
        if not ctx.json:
            ctx.emit(render_text(shown[0], color=ctx.console.color, staged=render.staged_processors(steps)))

    def confirm(plan) -> bool:
        ctx.confirm(f"{summary_line(view_of(plan))}\nApply to {plan.environment} ({plan.workspace})?",
                    declined="cancelled: nothing was sent")
        return True

    outcome = service.deploy(ctx.runner(targets), subset, strategy=strategy, tier=tier, dry_run=ctx.args.dry_run,
                             confirm=confirm, show_plan=show, answerable=ctx.console.check_answerable)
    view = shown[0] if shown else view_of(outcome.plan)
    if ctx.json:
        ctx.emit_json({**outcome.to_json(), "summary": view.summary(), "plan": json.loads(render_json(view))})
    else:
        ctx.emit(render.render_outcome_text(outcome))
    return 0


def execute(ctx, action: str, names: list[str], build) -> int:
    """Run one chain of steps per processor (in parallel, bounded) with the deploy executor."""
    from sp_tasks.clock import SystemClock
    from sp_tasks.deploy.executor import Executor
    from sp_tasks.deploy.health import HealthPolicy

    phase = Phase.PROCESSOR_DELETES if action == "drop" else Phase.PROCESSORS
    chains = [build(Chain(phase, "processor", n), n) for n in names]
    if getattr(ctx.args, "verify", False) and names:
        chains.append(Chain(Phase.HEALTH, "workspace", ctx.settings.workspace).add(
            StepKind.VERIFY_HEALTH, Target("workspace", ctx.settings.workspace), {"processors": names}))
    policy = HealthPolicy.from_thresholds(ctx.settings.thresholds)
    executor = Executor(ctx.client, DesiredState(), clock=SystemClock(), policy=policy, progress=ctx.progress)
    result = executor.apply(flatten(chains))
    if ctx.json:
        ctx.emit_json({"action": action, "processors": names, **result.to_json()})
    else:
        ctx.emit(views.table(views.STEP_HEADERS, views.step_rows(result), empty=f"nothing to {action}"))
        for verdict in result.health:
            ctx.emit(f"health {verdict.processor}: " + ("healthy" if verdict.healthy else "; ".join(verdict.reasons)))
    if result.failure:
        raise result.failure
    return 0
