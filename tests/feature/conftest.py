"""Fixtures: the deploy tests' project (``project``, ``sp``) as the base environment ``test``."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_TESTS / "deploy"))
_spec = importlib.util.spec_from_file_location("cli_fixtures", _TESTS / "cli" / "conftest.py")
_cli = importlib.util.module_from_spec(_spec)
sys.modules["cli_fixtures"] = _cli  # dataclasses look their module up there
_spec.loader.exec_module(_cli)

project, sp, Ran = _cli.project, _cli.sp, _cli.Ran

