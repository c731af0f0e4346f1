"""Saved plans and snapshots are inputs, not orders: what ``deploy --plan`` and ``rollback`` check
before anything is written.

- A saved plan must be for this environment, workspace and project, made against today's live
  state (fingerprint), and equal — change by change, field by field — to the plan derived again
  now from Git and live with the file's own options. A change added or edited by hand is refused,
  never applied; the derived plan is what runs.
- A snapshot must be for this environment, workspace and project, and its definitions must pass
  the same rules as Git files (JSON Schema, every ASP pipeline rule), except those that only make
  sense in Git: reserved names (a snapshot holds the deploy copies), file names and inline
  secrets (a snapshot's are "(secret)" marks). Anything else: ValidationFailed, exit 4, nothing sent.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from sp_tasks import inputfiles, jsonpos
from sp_tasks.errors import DataFileError, MalformedJson, PlanMismatch, StalePlanError, ValidationFailed
from sp_tasks.model import LiveState
from sp_tasks.planning.plan import Plan, fingerprint, plan_from_json, plan_to_json

GIT_ONLY_RULES = frozenset({"reserved-name", "inline-secret", "name-mismatch", "unused-connection"})
NOT_COMPARED = ("created_at", "lock", "summary")
MAX_LISTED = 5


def check_saved_plan(runner, plan_file: str, desired, live: LiveState) -> Plan:
    """The plan to apply for ``deploy --plan FILE``: derived again, and refused unless identical."""
    saved = plan_from_json(_read(plan_file, "plan"), source=plan_file)
    _same_target(plan_file, "plan", saved.environment, saved.workspace, saved.project_id, runner.settings)
    if saved.live_fingerprint != fingerprint(live):
        raise StalePlanError(f"live state changed since {plan_file} was made; run `invoke plan --env "
                             f"{runner.settings.name} --out {plan_file}` again")
    if saved.exact:
        raise PlanMismatch(f"{plan_file} is a rollback plan; restore a snapshot with `invoke rollback --snapshot`")
    if saved.targets and not runner.targets:  # planned with -p: derived for the same processors
        runner.targets = tuple(saved.targets)
    derived = runner.plan(desired, live, prune=saved.prune, tier=saved.default_tier or None,
                          rotate_secrets=saved.rotate_secrets)
    differences = plan_differences(saved, derived)
    if differences:
        listed = "; ".join(differences[:MAX_LISTED]) + (f"; and {len(differences) - MAX_LISTED} more"
                                                        if len(differences) > MAX_LISTED else "")
        raise PlanMismatch(f"{plan_file} is not the plan Git and live give now ({listed}); nothing was sent. A plan "
                           f"file is applied only as `invoke plan --env {runner.settings.name} --out FILE` wrote it")
    return derived


def plan_differences(saved: Plan, derived: Plan) -> list[str]:
    """Every way ``saved`` differs from ``derived`` (pure; human-readable)."""
    left, right = _comparable(saved), _comparable(derived)
    found = [f"{key} is {left[key]!r} in the file, {right[key]!r} now"
             for key in sorted(set(left) - {"changes"}) if left.get(key) != right.get(key)]
    saved_changes = {_key(c): c for c in left["changes"]}
    derived_changes = {_key(c): c for c in right["changes"]}
    for key in sorted(set(saved_changes) | set(derived_changes)):
        kind, name, _ = key
        if key not in derived_changes:
            found.append(f"{kind} {name}: {saved_changes[key]['action']} is in the file but not in the plan now")
        elif key not in saved_changes:
            found.append(f"{kind} {name}: {derived_changes[key]['action']} is in the plan now but not in the file")
        else:
            fields = sorted(k for k in saved_changes[key] if saved_changes[key][k] != derived_changes[key].get(k))
            if fields:
                found.append(f"{kind} {name}: {', '.join(fields)} differ")
    if not found and [_key(c) for c in left["changes"]] != [_key(c) for c in right["changes"]]:
        found.append("the changes are in another order")
    return found


def _comparable(plan: Plan) -> dict[str, Any]:
    doc = json.loads(plan_to_json(plan))
    return {k: v for k, v in doc.items() if k not in NOT_COMPARED}


def _key(change: dict[str, Any]) -> tuple[str, str, str]:
    # A repair and the change after it may share a name (rename x__blue → x, then start x).
    return change["kind"], change["name"], "repair" if change.get("repair") else ""


def check_snapshot(runner, path: Path) -> dict[str, Any]:
    """The snapshot at ``path``, refused if it is another target's or holds invalid definitions."""
    from sp_tasks.deploy.snapshots import load_snapshot

    doc = load_snapshot(path)
    _same_target(str(path), "snapshot", doc.get("environment"), doc.get("workspace"), doc.get("project_id"),
                 runner.settings)
    found = [d for d in validate_snapshot(doc, str(path), _read(str(path), "snapshot")) if d.is_error]
    if found:
        raise ValidationFailed(found)
    return doc


def validate_snapshot(doc: dict[str, Any], source: str, text: str | None = None) -> list:
    """Diagnostics for a snapshot's definitions, placed at the snapshot's own lines and pointers."""
    from sp_tasks.desired import CONNECTION, PROCESSOR, Project, SourceFile
    from sp_tasks.planning.normalize import CONNECTION_READ_ONLY
    from sp_tasks.validation import validate_project

    lines = _lines(text, source)
    files, places = [], {}
    for kind, key, keep in ((PROCESSOR, "processors", ("name", "pipeline", "options", "tier")),
                            (CONNECTION, "connections", None)):
        for index, item in enumerate(doc.get(key) or []):
            name = item.get("name") if isinstance(item, dict) else None
            body = item if not isinstance(item, dict) else {
                k: v for k, v in item.items() if (k in keep if keep else k not in CONNECTION_READ_ONLY)}
            path = f"{key}/{name if isinstance(name, str) and name else index}.json"
            places[path] = f"/{key}/{index}"
            files.append(SourceFile(path, kind, body, body, _Offset(lines, places[path])))
    diagnostics = validate_project(Project(tuple(files)))
    return [replace(d, file=source, pointer=places.get(d.file, "") + d.pointer) for d in diagnostics
            if d.is_error and d.rule not in GIT_ONLY_RULES]


class _Offset:
    """Line lookup for one object inside the snapshot file (what SourceFile.line_of asks for)."""

    def __init__(self, lines: jsonpos.JsonDocument | None, prefix: str):
        self.lines, self.prefix = lines, prefix

    def line_of(self, pointer: str) -> int:
        return self.lines.line_of(self.prefix + pointer) if self.lines else 1


def _lines(text: str | None, source: str) -> jsonpos.JsonDocument | None:
    try:
        return jsonpos.parse(text, source, max_depth=jsonpos.MAX_DEPTH + jsonpos.ENVELOPE_DEPTH) if text else None
    except (MalformedJson, DataFileError):  # load_snapshot already refused what cannot be read
        return None


def _same_target(file: str, what: str, environment: Any, workspace: Any, project_id: Any, settings) -> None:
    theirs = (environment, workspace, project_id)
    ours = (settings.name, settings.workspace, settings.project_id)
    if theirs != ours:
        raise PlanMismatch(f"{file} is a {what} of environment {environment!r} (workspace {workspace!r}, project "
                           f"{project_id!r}); this is {settings.name!r} (workspace {settings.workspace!r}, project "
                           f"{settings.project_id!r}); nothing was sent")


def _read(file: str, what: str) -> str:
    return inputfiles.read_text(file, what=f"{what} file")  # unreadable, a directory, not UTF-8: exit 4
