"""Deploy and rollback results as text (summary table) and Markdown (job summary, PR comment), and the
rollback candidates of ``invoke rollback --list``. Pure."""
from __future__ import annotations

from sp_tasks.deploy.executor import ApplyResult
from sp_tasks.deploy.steps import StepKind
from sp_tasks.model import CANARY_SUFFIX, GREEN_SUFFIX
from sp_tasks.planning.targeting import describe as describe_targets

_MARK = {"done": "ok", "already-done": "ok (already)", "failed": "FAILED", "not-run": "not run"}


def render_steps(steps, strategy: str) -> str:
    """The steps a deploy takes, with their notes (what blue-green/canary do beyond the plan)."""
    lines = [f"\nSteps ({strategy}):"]
    lines += [f"  {s.phase}  {s.kind.value:<22} {s.target}" + (f"  ({s.note})" if s.note else "") for s in steps]
    return "\n".join(lines) + "\n"


def staged_processors(steps) -> dict[str, str]:
    """Processor -> strategy for the updates blue-green or canary carry out (a green/canary copy is
    created for them), so the plan can tell their consequence as it will happen."""
    staged = {}
    for step in steps:
        for suffix, strategy in ((GREEN_SUFFIX, "blue-green"), (CANARY_SUFFIX, "canary")):
            name = step.target.name
            if step.kind is StepKind.CREATE_PROCESSOR and name.endswith(suffix):
                staged[name[: -len(suffix)]] = strategy
    return staged


def render_outcome_text(outcome, *, final: bool = True) -> str:
    """Steps and snapshot first; the result is the last line, where a reader (and Terraform) looks.
    ``final=False``: without that line, for a failed one whose error line says it (console.fail)."""
    lines = []
    if outcome.steps and outcome.applied is None:
        lines += [render_steps(outcome.steps, "would take").strip(), ""]
    for title, result in (("Applied", outcome.applied), ("Rollback", outcome.rolled_back)):
        if result is not None:
            lines += [f"{title}:", *_step_table(result), *_health_lines(result), ""]
    if outcome.snapshot:
        lines += [f"Snapshot: {outcome.snapshot}", ""]
    plan = outcome.plan
    if plan.targets:
        lines.append(describe_targets(plan.targets, plan.untouched_processors, plan.untouched_connections))
    if not final:
        return "\n".join(lines).rstrip("\n")
    return "\n".join(lines + [f"{outcome_place(outcome)}: {outcome.message}"])


def outcome_place(outcome) -> str:
    """Where a deploy or rollback ran, as its final line begins: "staging / ws-staging"."""
    return f"{outcome.plan.environment} / {outcome.plan.workspace}"


def render_outcome_markdown(outcome) -> str:
    icon = "✅" if outcome.applied is None or outcome.applied.ok else "⛔"
    lines = [f"### {icon} Deploy `{outcome.plan.environment}` / `{outcome.plan.workspace}`", "",
             outcome.message, ""]
    if outcome.applied is not None:
        lines += ["| Step | Target | Result | Seconds |", "|---|---|---|---:|"]
        lines += [f"| {r.step.kind.value} | {r.step.target} | {_MARK[r.status]} | {r.seconds:.1f} |"
                  for r in outcome.applied.results]
        for verdict in outcome.applied.health:
            state = "healthy" if verdict.healthy else "unhealthy: " + "; ".join(verdict.reasons)
            lines.append(f"- `{verdict.processor}`: {state} (+{verdict.input_delta} in, "
                         f"+{verdict.output_delta} out, +{verdict.dlq_delta} DLQ)")
    return "\n".join(lines) + "\n"


def _step_table(result: ApplyResult) -> list[str]:
    rows = [(r.step.kind.value, str(r.step.target), _MARK[r.status], f"{r.seconds:.1f}s", r.detail)
            for r in result.results]
    if not rows:
        return ["  (no steps)"]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + (f"  {row[4]}" if row[4] else "")
            for row in rows]


def _health_lines(result: ApplyResult) -> list[str]:
    return [f"  health {v.processor}: " + ("healthy" if v.healthy else "UNHEALTHY: " + "; ".join(v.reasons))
            + f" (+{v.input_delta} in, +{v.output_delta} out, +{v.dlq_delta} DLQ)" for v in result.health]


def render_candidates(found, env: str, fmt: str = "text"):
    """``invoke rollback --list``: each snapshot's time, reason, revision and whether it was verified;
    JSON (a dict) for ``--format json``."""
    from sp_tasks.deploy.snapshots import default_target
    from sp_tasks.errors import DataFileError

    try:
        default = default_target(found, env).path
    except DataFileError:
        default = None
    if fmt == "json":
        return {"default": str(default) if default else None, "snapshots": [c.to_json() for c in found]}
    if not found:
        return f"no snapshots of environment {env!r} yet: deploy once"
    rows = [("", "taken at (UTC)", "reason", "revision", "verified", "file")]
    rows += [("*" if c.path == default else "=" if c.is_live else "", c.taken_at[:19], c.reason, c.revision[:12],
              "yes" if c.verified else "no", str(c.path)) for c in found]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:5])) + "  " + r[5] for r in rows]
    return "\n".join(lines + ["", "* the default target (the last verified good state that live is not); "
                              "= live state already equals it"])
