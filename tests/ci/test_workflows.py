"""The GitHub workflows as shipped: actionlint finds nothing, and every step that runs an invoke
task or ``sp`` against an environment gets every variable that environment's config.env and the
definitions it deploys need, plus credentials when it talks to Atlas.

The variable check reads the workflows with a YAML parser and the environments with the
product's own loaders (``load_settings``, ``validate_project``), so it fails exactly where a real
job would: ``invoke plan --env staging`` with ``ATLAS_PROJECT_ID`` exported instead of
``MONGODB_ATLAS_PROJECT_ID`` is "not usable", as it was before this test existed.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sp_tasks.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
OFFLINE_TASKS = {"validate", "tier-advise", "compare-baseline", "charts", "report"}
PLACEHOLDER = "0123456789abcdef01234567"  # a value that is also a well-formed project id
_REFERENCE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


def _tool(name: str) -> str:
    """A dev-extra binary: next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return found


def test_actionlint_reports_nothing():
    # shellcheck is passed explicitly so the run: scripts are checked the same on every machine.
    result = subprocess.run([_tool("actionlint"), f"-shellcheck={_tool('shellcheck')}", "-no-color",
                             *map(str, WORKFLOWS)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@dataclass(frozen=True)
class Use:
    """One invoke/sp command in a workflow step, and the variables the step has."""

    where: str
    command: str
    environment: str | None  # None: the step names it through a variable nobody sets
    offline: bool
    provided: frozenset[str]
    literal: tuple[tuple[str, str], ...] = ()  # variables the workflow sets to a fixed value, e.g. PERF_ARTIFACTS=repo


def _on(doc: dict) -> dict:
    return doc.get("on", doc.get(True)) or {}  # YAML 1.1 reads the bare key `on` as true


def _commands(script: str) -> list[list[str]]:
    """Each invoke/sp command line of a run: script as tokens (continuations joined)."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|\||;|\bthen\b|\bdo\b", line):
            try:
                tokens = shlex.split(part, comments=True)
            except ValueError:
                continue
            if tokens and tokens[0] in ("invoke", "sp"):
                found.append(tokens)
    return found


def _option(tokens: list[str], name: str) -> str | None:
    for i, token in enumerate(tokens):
        if token == name and i + 1 < len(tokens):
            return tokens[i + 1]
        if token.startswith(name + "="):
            return token.split("=", 1)[1]
    return None


def workflow_uses(path: Path) -> list[Use]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _on(doc), f"{path.name}: no triggers"
    uses = []
    for job_id, job in doc["jobs"].items():
        for index, step in enumerate(job.get("steps", [])):
            if "run" not in step:
                continue
            env = {**(doc.get("env") or {}), **(job.get("env") or {}), **(step.get("env") or {})}
            for tokens in _commands(step["run"]):
                task = tokens[1] if len(tokens) > 1 else ""
                # env.create/env.destroy derive their environment from --from: check the base.
                given = _option(tokens, "--from") if task.startswith("env.") else _option(tokens, "--env")
                given = given or "local"
                match = _REFERENCE.match(given)
                if match:
                    value = env.get(match.group(1))
                    given = value if isinstance(value, str) and "${{" not in value else None
                fixed = tuple((k, v) for k, v in env.items() if isinstance(v, str) and "${{" not in v and "$" not in v)
                uses.append(Use(f"{path.name} job {job_id} step {step.get('name', index + 1)}", " ".join(tokens),
                                given, tokens[0] == "invoke" and task in OFFLINE_TASKS, frozenset(env), fixed))
    return uses


def problems_of(use: Use, root: Path = REPO) -> list[str]:
    """What the command would trip over for lack of a variable (empty: it has everything)."""
    from sp_tasks.desired import load_project
    from sp_tasks.settings import load_settings
    from sp_tasks.validation import validate_project

    if use.environment is None:
        return [f"{use.where}: `{use.command}` names its environment through a variable the workflow does not set"]
    environ = {**{name: PLACEHOLDER for name in use.provided}, **dict(use.literal)}
    try:
        settings = load_settings(use.environment, root, environ)
    except ConfigError as err:
        return [f"{use.where}: `{use.command}`: {err}"]
    found = [f"{use.where}: `{use.command}`: {d.file}: {d.message}" for d in validate_project(load_project(settings))
             if d.rule == "unset-variable"]
    if not use.offline and not settings.is_emulator:
        try:
            settings.credentials()
        except ConfigError as err:
            found.append(f"{use.where}: `{use.command}`: {err}")
    return found


def test_every_workflow_runs_commands_we_can_check():
    uses = [u for path in WORKFLOWS for u in workflow_uses(path)]
    environments = {u.environment for u in uses}
    assert {"staging", "production", "local"} <= environments
    assert any(u.command.startswith("invoke env.create") for u in uses)
    assert any(u.command.startswith("invoke env.destroy") for u in uses)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_variable_a_deployed_config_needs_is_provided_by_the_job(path):
    problems = [p for use in workflow_uses(path) for p in problems_of(use)]
    assert problems == []


def test_the_check_catches_the_seed_naming_mistake(tmp_path):
    """The bug this test exists for: the job exports ATLAS_PROJECT_ID, staging's config.env needs
    ${MONGODB_ATLAS_PROJECT_ID} — and a variable the connections need is missing too."""
    workflow = tmp_path / "bad.yml"
    workflow.write_text(
        "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n"
        "      MONGODB_ATLAS_CLIENT_ID: ${{ secrets.ID }}\n      MONGODB_ATLAS_CLIENT_SECRET: ${{ secrets.S }}\n"
        "      ATLAS_PROJECT_ID: ${{ vars.ATLAS_PROJECT_ID }}\n      KAFKA_BOOTSTRAP_SERVERS: x\n"
        "      KAFKA_USERNAME: x\n"
        "    steps:\n      - run: invoke deploy --env staging --yes\n")
    problems = [p for use in workflow_uses(workflow) for p in problems_of(use)]
    assert any("MONGODB_ATLAS_PROJECT_ID" in p for p in problems)
    fixed = workflow.read_text().replace("ATLAS_PROJECT_ID: ${{ vars.ATLAS_PROJECT_ID }}",
                                         "MONGODB_ATLAS_PROJECT_ID: ${{ vars.MONGODB_ATLAS_PROJECT_ID }}")
    workflow.write_text(fixed)
    problems = [p for use in workflow_uses(workflow) for p in problems_of(use)]
    assert len(problems) == 1 and "KAFKA_PASSWORD" in problems[0]  # the connection's secret, too
