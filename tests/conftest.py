"""Shared fixtures: a hermetic environment and one real emulator per test session (per xdist worker).

The emulator listens on 127.0.0.1 port 0 with its own data directory; ``emulator`` resets it
before each test that uses it, so tests never see each other's state. Its asynchronous lifecycle
is off (every transition settles inside its request) unless a test asks for delays through
``emulator.admin("POST", "config", {"lifecycle": {...}})``: only tests of waiting need them. ``api`` is a plain
requests session with Digest auth, i.e. a client no one here wrote.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from sp_tasks.atlas import paths

GROUP_ID = "0123456789abcdef01234567"
TEST_RATE = 100.0  # documents/s of each sample source on the test emulator
_SCRUBBED_PREFIXES = ("MONGODB_ATLAS_", "ATLAS_", "INVOKE_", "SP_EMULATOR_", "HTTP_PROXY", "HTTPS_PROXY")


def pytest_addoption(parser):
    # Registered here, not in tests/planning/conftest.py: pytest reads options only from
    # conftest files it loads at startup, and this one loads whatever path is given.
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden expected files (tests/cases/**/expected*) from current output; "
                          "review the diff before committing")


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch):
    """No test may reach real Atlas or read a developer's credentials by accident."""
    for key in list(os.environ):
        if key.upper().startswith(_SCRUBBED_PREFIXES) or key.lower() in ("http_proxy", "https_proxy"):
            monkeypatch.delenv(key, raising=False)
    yield
    from sp_tasks import redaction

    redaction.forget_all()  # secret values one test remembered must not scrub another's text


@dataclass
class Emulator:
    url: str
    backend: Any
    data_dir: str

    def admin(self, method: str, name: str, body: Any = None, **params: str) -> Any:
        resp = self.admin_raw(method, name, body, **params)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def admin_raw(self, method: str, name: str, body: Any = None, **params: str) -> requests.Response:
        headers = {"X-SP-Emulator": "1", "Content-Type": "application/json"}  # admin writes need both
        return requests.request(method, f"{self.url}/_emulator/{name}", json=body, params=params, headers=headers,
                                timeout=10)

    def faults(self, *rules: dict[str, Any]) -> None:
        self.admin("POST", "faults", list(rules))

    def requests_served(self) -> dict[str, Any]:
        return self.admin("GET", "requests")

    def writes_served(self) -> int:
        counts = self.requests_served()["by_method"]
        return sum(counts.get(m, 0) for m in ("POST", "PATCH", "DELETE"))


@pytest.fixture(scope="session")
def _emulator_server(tmp_path_factory):
    from sp_tasks.emulator.backend import Backend
    from sp_tasks.emulator.lifecycle import ZERO_DELAYS
    from sp_tasks.emulator.server import EmulatorServer

    data_dir = tmp_path_factory.mktemp("emulator")
    # 100 documents/s per source: five per 50-ms tick, so counters still move on every tick. At
    # 1,000/s the running processors' pipelines took half of a deploy test's CPU (22.8 s vs 10.7 s
    # user for three deploy test files), which on 2 shared cores was wall time for every test.
    server = EmulatorServer(Backend(data_dir, sample_rate=TEST_RATE, delays=ZERO_DELAYS)).start()
    yield server, str(data_dir)
    server.stop()


@pytest.fixture
def emulator(_emulator_server) -> Emulator:
    server, data_dir = _emulator_server
    emu = Emulator(server.url, server.backend, data_dir)
    emu.admin("POST", "reset")
    emu.admin("POST", "config", {"sample_rate": TEST_RATE, "lifecycle": "zero", "stats_latency": True,
                                 "rate_limit": 1200, "rate_window_s": 60.0})
    return emu


class Api:
    """Raw HTTP against the emulator with the right versioned Accept per endpoint."""

    def __init__(self, emulator: Emulator, group_id: str = GROUP_ID):
        self.emulator = emulator
        self.group_id = group_id
        self.session = requests.Session()
        self.session.auth = HTTPDigestAuth("local", "local")

    def call(self, name: str, body: Any = None, query: dict | None = None, **params: str) -> requests.Response:
        ep = paths.endpoint(name)
        url = self.emulator.url + ep.path(group_id=self.group_id, **params)
        return self.session.request(ep.method, url, json=body, params=query,
                                    headers={"Accept": ep.accept}, timeout=10)

    def ok(self, name: str, body: Any = None, query: dict | None = None, **params: str) -> Any:
        resp = self.call(name, body, query, **params)
        assert resp.status_code < 300, resp.text
        return resp.json() if resp.content else None


@pytest.fixture
def api(emulator) -> Api:
    return Api(emulator)
