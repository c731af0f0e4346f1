"""Plan renderings: Terraform-like text for terminals, Markdown for PR comments, JSON for machines.

Values are shown exactly as they will be sent (JSON with the document's own key order, never
sorted), pipeline changes with the index and operator of each changed stage. Nothing here can
show a secret: plans never hold secret values (they are "(secret)", and a changed one renders
as "(secret changed)"). A change whose secrets no Git file supplies says so, and which file.
"""
from __future__ import annotations

import json
from typing import Any

from sp_tasks.planning.diff import FieldChange, changed_stages
from sp_tasks.planning.plan import DESTRUCTIVE, Action, Change, Plan, plan_to_json
from sp_tasks.secrets import CHANGED, MARK

SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.UPDATE_RESET: "!",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.START: ">",
    Action.STOP: "■",
    Action.RENAME: "»",
    Action.NOOP: "=",
}
SUMMARY_WORDS = (
    (Action.CREATE, "to create"),
    (Action.UPDATE, "to update"),
    (Action.UPDATE_RESET, "to update with checkpoint reset"),
    (Action.REPLACE, "to replace"),
    (Action.START, "to start"),
    (Action.STOP, "to stop"),
    (Action.DELETE, "to delete"),
    (Action.RENAME, "to rename back"),
)
VALUE_WIDTH = 100


def summary_line(plan: Plan) -> str:
    """'Plan: 2 to create, 1 to update, …; 3 unchanged.' (every action, always, for CI greps)."""
    counts = plan.summary()
    parts = [f"{counts[a.value]} {words}" for a, words in SUMMARY_WORDS]
    return f"Plan: {', '.join(parts)}; {counts[Action.NOOP.value]} unchanged."


def render_text(plan: Plan, color: bool = False) -> str:
    lines = [f"Plan for environment {plan.environment!r}: workspace {plan.workspace!r}, project {plan.project_id}", ""]
    lines += [f"  {line}" for line in lock_lines(plan.lock)] + ([""] if plan.lock else [])
    if any(c.repair for c in plan.changes):
        lines += ["  Repairs first (an interrupted deploy or a rollback: every existing processor keeps its _id "
                  "and state):", ""]
    for change in _shown(plan):
        lines += _change_lines(change) + [""]
    if not plan.has_changes():
        lines += ["No changes. Live state matches Git.", ""]
    return "\n".join(lines + [summary_line(plan)]) + "\n"


def _shown(plan: Plan) -> list[Change]:
    """Changes, plus the no-ops worth reading: live objects Git does not manage, FAILED ones."""
    return [c for c in plan.changes if c.action is not Action.NOOP or _informational(c)]


def _informational(change: Change) -> bool:
    return bool(change.reason) and (change.after is None or change.live_state == "FAILED")


def lock_lines(lock: dict | None) -> list[str]:
    """What the plan knows of the deploy lock (deploy/lock.py describes the fields)."""
    if not lock:
        return []
    who = f"{lock.get('owner', '?')} on {lock.get('host', '?')} (pid {lock.get('pid', '?')})"
    what = f"{lock.get('strategy') or ''} {lock.get('operation', 'deploy')}".strip()
    since = f"since {lock.get('started_at', '?')}, expires {lock.get('expires_at', '?')}"
    if lock.get("live"):
        return [f"Locked: a {what} by {who} is running ({since}); deploy waits for it, or break it with "
                f"`invoke unlock --env {lock.get('environment', 'E')}` if it is dead"]
    return [f"Stale lock: a {what} by {who} did not finish ({since}; {lock.get('stale_because', 'expired')}); "
            "the next deploy takes it over and repairs what it left"]


def _state(change: Change) -> str:
    if change.action is Action.RENAME:
        return f" (from {change.renamed_from}, {change.live_state})"
    if not change.desired_state:
        return ""
    if change.live_state == change.desired_state:
        return f" ({change.live_state})"
    return f" ({change.live_state or 'new'} → {change.desired_state})"


def _change_lines(change: Change) -> list[str]:
    lines = [f"  {SYMBOLS[change.action]} {change.kind} {change.name}: {change.action.value}{_state(change)}"]
    lines += [f"      {_field_line(f)}" for f in change.fields]
    lines += [f"      {line}" for line in _stage_context(change)]
    lines += [f"      {line}" for line in _missing_lines(change)]
    labelled = (("reason", change.reason), ("consequence", change.consequence), ("stop window", change.stop_window))
    for label, text in labelled:
        if text:
            lines.append(f"      {label}: {text}")
    return lines


def _field_line(field: FieldChange) -> str:
    show = _json if _is_stage(field.path) else _short  # a whole stage is shown in full, as sent
    if field.before == MARK and field.after == MARK:
        return f"~ {field.path}: {CHANGED}"
    if field.before is None:
        return f"+ {field.path}: {show(field.after)}"
    if field.after is None:
        return f"- {field.path}: {show(field.before)}"
    return f"~ {field.path}: {show(field.before)} → {show(field.after)}"


def _missing_lines(change: Change) -> list[str]:
    """Why this change cannot be applied: secrets it must send that no Git file supplies."""
    if not change.missing_secrets:
        return []
    folder = "connections" if change.kind == "connection" else "processors"
    return [f"missing secret: {', '.join(change.missing_secrets)}: nothing supplies its value (Atlas and snapshots "
            f"never hold secret values); put it in {folder}/{change.name}.json (same name and type) as ${{VAR}}, "
            "then plan again"]


def _is_stage(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and parts[1] == "pipeline" and parts[2].isdigit()


def _stage_context(change: Change) -> list[str]:
    """Each stage changed inside, in full as it will be sent (whole-stage changes show already)."""
    whole = {f.path for f in change.fields if _is_stage(f.path)}
    lines = []
    for index in changed_stages(change.fields):
        if f"/pipeline/{index}" in whole:
            continue
        stage = (change.after or {}).get("pipeline", [])[index]
        operator = next(iter(stage), "?") if isinstance(stage, dict) else "?"
        lines.append(f"stage {index} ({operator}) as it will be sent: {_json(stage)}")
    return lines


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _short(value: Any) -> str:
    text = _json(value)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def render_markdown(plan: Plan) -> str:
    """For PR comments and $GITHUB_STEP_SUMMARY: summary, one table row per change, details."""
    lines = [f"### Plan for `{plan.environment}` (workspace `{plan.workspace}`)", "", f"**{summary_line(plan)}**", ""]
    lines += [f"> {line}" for line in lock_lines(plan.lock)] + ([""] if plan.lock else [])
    shown = _shown(plan)
    if not shown:
        return "\n".join(lines + ["No changes. Live state matches Git.", ""])
    lines += ["| | Kind | Name | Action | Consequence | Stop window |", "|---|---|---|---|---|---|"]
    for c in shown:
        cells = [f"`{SYMBOLS[c.action]}`", c.kind, f"`{c.name}`", _action_cell(c), c.consequence, c.stop_window]
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    lines.append("")
    for c in shown:
        lines += _details(c)
    return "\n".join(lines)


def _action_cell(change: Change) -> str:
    return f"**{change.action.value}**" if change.action in DESTRUCTIVE else change.action.value


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _details(change: Change) -> list[str]:
    body = [_field_line(f) for f in change.fields] + _stage_context(change) + _missing_lines(change)
    if not body and not change.reason:
        return []
    lines = [f"<details><summary>{change.kind} <code>{change.name}</code>: {change.action.value}</summary>", ""]
    if change.reason:
        lines += [f"Reason: {change.reason}", ""]
    if body:
        lines += ["```", *body, "```", ""]
    return lines + ["</details>", ""]


def render_json(plan: Plan) -> str:
    """The plan's JSON form, the same document ``deploy --plan FILE`` reads."""
    return plan_to_json(plan)
