"""`invoke validate` and the emulator's create endpoints judge the validation corpus alike.

Every scenario of tests/cases/validate goes through both: the product's validation (what
``invoke validate`` runs) and the emulator, which decides from its own reading of Atlas
(``emulator/acceptance.py``, never the product's rules). Per file the verdicts must agree: an
error in ``invoke validate`` ⇔ a 4xx from the emulator's create call. Every disagreement is
either listed in ``ALLOWED`` with its reason, or the test fails; an entry that no longer
disagrees fails too, so the list stays true.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from sp_tasks.atlas import paths
from sp_tasks.desired import load_project  # the client side: how sp-tasks reads and renders files
from sp_tasks.settings import load_settings
from sp_tasks.validation import validate_project

CASES = Path(__file__).resolve().parents[1] / "cases" / "validate"
SCENARIOS = sorted(p.name for p in CASES.iterdir() if p.is_dir())
GROUP = "0123456789abcdef01234567"
API_FIELDS = ("name", "pipeline", "options", "tier")  # a processor file's other keys never reach Atlas

# (scenario, file) -> why `invoke validate` and Atlas (as the emulator reads it) may disagree there.
_INLINE = "a secret written in a Git file is sp-tasks' policy (DESIGN §4); Atlas stores whatever it is sent"
_LAYOUT = "a rule of the Git layout (one definition per file, named as the file); Atlas sees only the body"
ALLOWED: dict[tuple[str, str], str] = {
    ("connection-name-mismatch", "connections/solarCluster.json"): _LAYOUT,
    ("name-file-mismatch", "processors/solarHighWatts.json"): _LAYOUT,
    ("duplicate-processor-names", "processors/solarA.json"):
        "two files declare one processor: Atlas creates the first and refuses the second (409); validate "
        "refuses both, since which file would win is arbitrary",
    ("duplicate-json-key", "processors/solarDupKey.json"):
        "the file is ambiguous; a JSON parser keeps the last value, so Atlas receives a valid body",
    ("unset-variable", "connections/eventsKafka.json"):
        "sp-tasks never sends a file with an unset ${VAR}; Atlas would store the literal text",
    ("reserved-processor-name", "processors/solarHighWatts__green.json"):
        "__green/__blue/__canary names are reserved by sp-tasks' deploy strategies, not by Atlas",
    ("connection-shadows-builtin", "connections/sample_stream_solar.json"):
        "sp-tasks refuses a connection hiding the built-in sample source (processors would read the cluster); "
        "whether Atlas reserves the name is unconfirmed, the emulator lets it through",
    ("lambda-role-not-an-arn", "connections/anomalyScorer.json"):
        "whether Atlas checks the roleArn format when the connection is created (not only when it is used) "
        "is unconfirmed; the emulator does not",
    ("inline-api-key-header", "connections/weatherApi.json"): _INLINE,
    ("inline-https-authorization", "connections/weatherApi.json"): _INLINE,
    ("inline-kafka-password", "connections/eventsKafka.json"): _INLINE,
    ("inline-oauth-client-secret", "connections/eventsKafka.json"): _INLINE,
    ("inline-schema-registry-password", "connections/solarRegistry.json"): _INLINE,
    ("inline-secret-in-processor-https-headers", "processors/solarWeather.json"): _INLINE,
    ("placeholder-without-closing-brace", "processors/solarHigh.json"):
        "\"${HIGH_COLL\" is a valid collection name to Atlas; sp-tasks refuses it as a ${VAR} missing its brace",
    ("misspelled-description", "processors/solarNoted.json"):
        "a processor file's keys other than name/pipeline/options/tier never reach Atlas; validate catches the typo",
}


def load(scenario: str, tmp_path: Path):
    """The scenario as sp-tasks loads it: every file parsed and its ${VAR}s rendered."""
    root = tmp_path / "project"
    shutil.copytree(CASES / scenario, root, ignore=shutil.ignore_patterns("README", "expected.json", "config.env"))
    env = root / "environments" / "test"
    env.mkdir(parents=True)
    extra = CASES / scenario / "config.env"
    env.joinpath("config.env").write_text((CASES / "config.env").read_text() + (extra.read_text() if extra.exists() else ""))
    settings = load_settings("test", root, environ={})
    return settings, load_project(settings)


def product_errors(settings, project) -> set[str]:
    return {d.file for d in validate_project(project) if d.is_error}


class Emulated:
    """Sends a scenario's files to the emulator as their create requests, as a client would."""

    def __init__(self, emulator, settings):
        self.base = emulator.url
        self.session = requests.Session()
        self.session.auth = HTTPDigestAuth("local", "local")
        self.tier = settings.default_tier
        self.post("createStreamWorkspace", {"name": "ws", "streamConfig": {"tier": self.tier}})

    def post(self, name: str, body: Any) -> requests.Response:
        endpoint = paths.endpoint(name)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.session.post(self.base + endpoint.path(group_id=GROUP, workspace="ws"), data=data, timeout=10,
                                 headers={"Accept": endpoint.accept, "Content-Type": "application/json"})

    def refused(self, source, root: Path) -> bool:
        if source.doc is None:  # does not parse: sent as written, Atlas answers malformed JSON with a 400
            body: Any = (root / source.path).read_bytes()
        elif source.kind == "connection" or not isinstance(source.doc, dict):
            body = source.doc
        else:
            body = {k: source.doc[k] for k in API_FIELDS if k in source.doc}
            body.setdefault("tier", self.tier)
        name = "createStreamConnection" if source.kind == "connection" else "createStreamProcessor"
        return self.post(name, body).status_code >= 400


def emulator_refusals(emulator, settings, project) -> tuple[set[str], set[str]]:
    """(files the emulator refused, processors refused only because a connection they use was)."""
    emulator.admin("POST", "reset")
    emulated = Emulated(emulator, settings)
    refused, refused_names, cascades = set(), set(), set()
    for source in sorted(project.of_kind("connection"), key=lambda f: f.path):  # processors use them
        if emulated.refused(source, settings.root):
            refused.add(source.path)
            refused_names.add(source.doc.get("name") if isinstance(source.doc, dict) else source.stem)
    for source in sorted(project.of_kind("processor"), key=lambda f: f.path):
        if emulated.refused(source, settings.root):
            refused.add(source.path)
            if _connection_names(source.doc) & refused_names:
                cascades.add(source.path)
    return refused, cascades


def _connection_names(doc: Any) -> set[str]:
    return set(re.findall(r'"connectionName":\s*"([^"]+)"', json.dumps(doc)))


def disagreements(scenario: str, product: set[str], emulator: set[str], cascades: set[str]) -> dict:
    """Files judged differently; a processor Atlas refuses because its (refused) connection is
    missing is the same verdict as validate's error on that connection file."""
    out = {}
    for file in sorted((product ^ emulator) - cascades):
        out[(scenario, file)] = "only invoke validate refuses it" if file in product else "only Atlas refuses it"
    return out


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_validate_and_the_emulator_agree_on_the_corpus(scenario, emulator, tmp_path):
    settings, project = load(scenario, tmp_path)
    found = disagreements(scenario, product_errors(settings, project), *emulator_refusals(emulator, settings, project))
    unexplained = {k: v for k, v in found.items() if k not in ALLOWED}
    assert not unexplained, f"disagreements not in ALLOWED: {unexplained}"
    stale = [k for k in ALLOWED if k[0] == scenario and k not in found]
    assert not stale, f"ALLOWED lists agreements (remove them): {stale}"
