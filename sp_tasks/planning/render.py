"""Plan renderings: Terraform-like text for terminals, Markdown for PR comments, JSON for machines.

Text and Markdown show an update as a readable diff (``planning.textdiff``: the changed stages,
indented, ``~``/``+``/``-``), coloured on a terminal; the JSON keeps each change's JSON pointers.
Values are shown as they will be sent (the document's own key order, never sorted). The summary
names only the actions that occur. A targeted plan (``--processor``) says what it left alone.
Blue-green and canary carry out some updates differently from the in-place wording the planner
gives, so a deploy names those (``staged``) and their consequence is told as that strategy does it.
Nothing here can show a secret: plans never hold secret values (they are "(secret)", and a
changed one renders as "(secret changed)"). A change whose secrets no Git file supplies says so.
"""
from __future__ import annotations

import json
from typing import Any

from sp_tasks.console import paint
from sp_tasks.planning.diff import FieldChange
from sp_tasks.planning.plan import DESTRUCTIVE, Action, Change, Plan, plan_to_json
from sp_tasks.planning.targeting import describe as describe_targets
from sp_tasks.planning.textdiff import Line, document_diff
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
ACTION_STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.UPDATE_RESET: "red", Action.REPLACE: "red",
                Action.DELETE: "red", Action.START: "green", Action.STOP: "yellow", Action.RENAME: "cyan",
                Action.NOOP: "dim"}
LINE_STYLE = {"+": "green", "-": "red", "~": "yellow", "#": "dim"}


def summary_line(plan: Plan) -> str:
    """'Plan: 2 to create, 1 to update; 3 unchanged.' — only the actions that occur."""
    counts = plan.summary()
    parts = [f"{counts[a.value]} {words}" for a, words in SUMMARY_WORDS if counts[a.value]]
    return f"Plan: {', '.join(parts) or 'no changes'}; {counts[Action.NOOP.value]} unchanged."


def render_text(plan: Plan, color: bool = False, staged: dict[str, str] | None = None) -> str:
    """``staged``: processor -> strategy (blue-green, canary) for updates a deploy stages."""
    lines = [f"Plan for environment {plan.environment!r}: workspace {plan.workspace!r}, project {plan.project_id}", ""]
    lines += [f"  {line}" for line in _preamble(plan)] + ([""] if _preamble(plan) else [])
    if any(c.repair for c in plan.changes):
        lines += ["  Repairs first (an interrupted deploy or a rollback: every existing processor keeps its _id "
                  "and state):", ""]
    for change in _shown(plan):
        lines += _change_lines(change, color, (staged or {}).get(change.name)) + [""]
    if not plan.has_changes():
        lines += ["No changes. Live state matches Git.", ""]
    return "\n".join(lines + [paint(summary_line(plan), "bold", color)]) + "\n"


def _preamble(plan: Plan) -> list[str]:
    """The deploy lock, what a targeted plan leaves alone, and the sinks SINK_SUFFIX renamed."""
    targets = [describe_targets(plan.targets, plan.untouched_processors, plan.untouched_connections)]
    return lock_lines(plan.lock) + (targets if plan.targets else []) + sink_lines(plan.sinks)


def sink_lines(sinks) -> list[str]:
    """'Own sinks (SINK_SUFFIX): ...' then one line per renamed database, topic or consumer group."""
    if not sinks:
        return []
    lines = ["Own sinks (SINK_SUFFIX): this environment writes to these names, not to its base's:"]
    for r in sinks:
        where = ".".join(p for p in r["pointer"].split("/")[1:] if not p.isdigit() and p != "pipeline")
        lines.append(f"  {r['processor']}: {where} {r['before']} → {r['after']} ({r['connection']})")
    return lines


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


def _change_lines(change: Change, color: bool = False, strategy: str | None = None) -> list[str]:
    symbol = paint(SYMBOLS[change.action], ACTION_STYLE[change.action] + "+bold", color)
    lines = [f"  {symbol} {change.kind} {paint(change.name, 'bold', color)}: {change.action.value}{_state(change)}"]
    lines += [f"      {_marked(marker, text, color)}" for marker, text in diff_lines(change)]
    lines += [f"      {line}" for line in _missing_lines(change)]
    consequence, stop_window = _as_carried_out(change, strategy)
    labelled = (("reason", change.reason), ("consequence", consequence), ("stop window", stop_window))
    for label, text in labelled:
        if text:
            lines.append(f"      {label}: {text}")
    return lines


def diff_lines(change: Change) -> list[Line]:
    """What changes, readably: a stage-by-stage diff for updates, field lines otherwise."""
    if change.before is not None and change.after is not None and change.fields:
        secrets = [f.path for f in change.fields if f.before == MARK and f.after == MARK]
        return document_diff(change.before, change.after, secrets)
    return [(line[0], line[2:]) for line in map(_field_line, change.fields)]


def _marked(marker: str, text: str, color: bool) -> str:
    if marker == "#":
        return paint(f"# {text.strip()}" if not text.startswith(" ") else f"  {text}", "dim", color)
    return paint(f"{marker} {text}", LINE_STYLE.get(marker, ""), color) if marker != " " else f"  {text}"


def _as_carried_out(change: Change, strategy: str | None) -> tuple[str, str]:
    """Consequence and stop window of an update as blue-green or canary carry it out."""
    x = change.name
    if strategy == "blue-green":
        return (f"blue-green: the new definition starts as {x}__green without {x}'s checkpoint (window state is "
                f"rebuilt from the source's position), then takes the name {x}; the current {x} is kept stopped as "
                f"{x}__blue with its checkpoint and window state (the rollback target)",
                f"{x} keeps running while {x}__green is verified (both write to its sinks); output pauses only "
                "for the cut-over (stop, rename, start)")
    if strategy == "canary":
        return (f"canary first: {x}__canary runs the new definition into shadow sinks and is compared with {x}; "
                f"then, in place: {change.consequence}", change.stop_window)
    return change.consequence, change.stop_window


def _field_line(field: FieldChange) -> str:
    path = field.path.lstrip("/").replace("/", ".") or "(document)"
    if field.before == MARK and field.after == MARK:
        return f"~ {path}: {CHANGED}"
    if field.before is None:
        return f"+ {path}: {_short(field.after)}"
    if field.after is None:
        return f"- {path}: {_short(field.before)}"
    return f"~ {path}: {_short(field.before)} → {_short(field.after)}"


def _missing_lines(change: Change) -> list[str]:
    """Why this change cannot be applied: secrets it must send that no Git file supplies."""
    if not change.missing_secrets:
        return []
    folder = "connections" if change.kind == "connection" else "processors"
    return [f"missing secret: {', '.join(change.missing_secrets)}: nothing supplies its value (Atlas and snapshots "
            f"never hold secret values); put it in {folder}/{change.name}.json (same name and type) as ${{VAR}}, "
            "then plan again"]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _short(value: Any) -> str:
    text = _json(value)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def render_markdown(plan: Plan, staged: dict[str, str] | None = None) -> str:
    """For PR comments and $GITHUB_STEP_SUMMARY: summary, one table row per change, details."""
    lines = [f"### Plan for `{plan.environment}` (workspace `{plan.workspace}`)", "", f"**{summary_line(plan)}**", ""]
    lines += [f"> {line}" for line in _preamble(plan)] + ([""] if _preamble(plan) else [])
    shown = _shown(plan)
    if not shown:
        return "\n".join(lines + ["No changes. Live state matches Git.", ""])
    lines += ["| | Kind | Name | Action | Consequence | Stop window |", "|---|---|---|---|---|---|"]
    for c in shown:
        consequence, stop_window = _as_carried_out(c, (staged or {}).get(c.name))
        cells = [f"`{SYMBOLS[c.action]}`", c.kind, f"`{c.name}`", _action_cell(c), consequence, stop_window]
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
    body = [f"{marker} {text}" for marker, text in diff_lines(change)]  # GitHub colours a diff block's +/- lines
    missing = _missing_lines(change)
    if not body and not missing and not change.reason:
        return []
    lines = [f"<details><summary>{change.kind} <code>{change.name}</code>: {change.action.value}</summary>", ""]
    if change.reason:
        lines += [f"Reason: {change.reason}", ""]
    lines += [f"**{line}**" for line in missing] + ([""] if missing else [])
    if body:
        lines += ["```diff", *body, "```", ""]
    return lines + ["</details>", ""]


def render_json(plan: Plan) -> str:
    """The plan's JSON form, the same document ``deploy --plan FILE`` reads."""
    return plan_to_json(plan)
