"""Fixtures: the deploy tests' throwaway project, and ``sp`` — run ``main([...])`` in-process against it.

The project (processors hot, per_group, logger; connection cluster; environment ``test`` pointing
at the session emulator) comes from tests/deploy/deploy_project.py, so both suites test one setup.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))

from deploy_project import Project  # noqa: E402

from sp_tasks.cli import main  # noqa: E402


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def json(self):
        import json

        return json.loads(self.out)


@pytest.fixture
def project(tmp_path, emulator, monkeypatch) -> Project:
    made = Project(tmp_path, emulator)
    for key, value in made.environ.items():  # main() reads credentials from the process environment
        monkeypatch.setenv(key, value)
    return made


@pytest.fixture
def sp(project, capsys):
    """``sp("processors", "stop", "-p", "hot")`` → Ran(code, out, err) for the test project, as a
    person at a terminal sees it (text) unless the test asks for --format; piped output (JSON by
    default) is tested through real pipes in test_guide_scripts.py."""

    def run(*argv: str) -> Ran:
        capsys.readouterr()
        fmt = [] if any(a == "--format" or a.startswith("--format=") for a in argv) else ["--format", "text"]
        code = main(["--env", "test", "--root", str(project.root), *fmt, *argv])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


@pytest.fixture
def deployed(project, sp):
    """The whole Git state deployed and started (hot, per_group, logger)."""
    ran = sp("processors", "create", "--all", "--yes")
    assert ran.code == 0, ran.err
    return project
