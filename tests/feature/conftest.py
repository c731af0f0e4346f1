"""Fixtures: the deploy tests' project (``project``, ``sp``) as the base environment ``test``."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_TESTS / "deploy"))
_spec = importlib.util.spec_from_file_location("cli_fixtures", _TESTS / "cli" / "conftest.py")
_cli = importlib.util.module_from_spec(_spec)
sys.modules["cli_fixtures"] = _cli  # dataclasses look their module up there
_spec.loader.exec_module(_cli)

project, sp, Ran = _cli.project, _cli.sp, _cli.Ran


@pytest.fixture(autouse=True)
def _patient_health_gate(request):
    """The deploy tests' gate samples twice 0.3 s apart; the first start of a session (engine imports)
    can take longer than that on a loaded machine, and this suite tests environments, not the gate."""
    if "project" in request.fixturenames:
        project = request.getfixturevalue("project")
        (project.root / "environments" / "test" / "thresholds.json").write_text(
            json.dumps({"health": {"samples": 3, "interval_s": 0.5, "started_timeout_s": 30}}))
