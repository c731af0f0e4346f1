"""Planning fixtures: ``update_golden`` is true under ``pytest --update-golden`` (option in tests/conftest.py)."""
from __future__ import annotations

import pytest


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))
