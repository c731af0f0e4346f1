"""Desired state as it was at a Git revision (``invoke rollback --to-ref HEAD~1``).

Reads ``processors/*.json`` and ``connections/*.json`` from the revision with ``git show`` into a
temporary tree and loads it with today's environment settings, so ``${VAR}`` values and secrets
come from the current environment while the definitions come from the revision.
"""
from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from sp_tasks.errors import ConfigError
from sp_tasks.model import DesiredState

FOLDERS = ("processors", "connections")


def desired_at_ref(settings, ref: str) -> DesiredState:
    from sp_tasks.desired import load_desired

    names = _git(settings.root, "ls-tree", "-r", "--name-only", ref, "--", *FOLDERS).splitlines()
    with tempfile.TemporaryDirectory(prefix="sp-ref-") as tmp:
        for name in names:
            if name.endswith(".json"):
                target = Path(tmp) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(_git(settings.root, "show", f"{ref}:{name}"), encoding="utf-8")
        return load_desired(replace(settings, root=Path(tmp)))


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ConfigError("git is not installed; --to-ref needs it") from None
    if done.returncode != 0:
        raise ConfigError(f"git {args[0]} {' '.join(a for a in args[1:] if a != '--')} failed: "
                          f"{done.stderr.strip() or 'unknown error'}; is the revision right?")
    return done.stdout


def current_sha(root: Path) -> str:
    """The checked-out commit (recorded with profile runs), or "unknown" outside a Git checkout."""
    try:
        return _git(root, "rev-parse", "HEAD").strip()
    except ConfigError:
        return "unknown"


MEASURED = ("processors", "connections", "environments", "sp_tasks", "pyproject.toml")


def uncommitted(root: Path, paths: tuple[str, ...] = MEASURED) -> list[str]:
    """Files under ``paths`` that differ from HEAD (modified, staged, deleted or untracked), as
    ``git status --porcelain`` lists them; [] outside a Git checkout (nothing to compare with)."""
    try:
        text = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths)
    except ConfigError:
        return []
    return [line[3:] for line in text.splitlines() if line.strip()]


def resolve(root: Path, ref: str) -> str:
    """The full sha of commit ``ref``; ConfigError naming the revision when Git does not know it."""
    return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
