"""`invoke doctor` against the emulator: a healthy environment, and one with faults injected."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from invoke import Config, Context, Exit

import tasks
from sp_tasks.atlas.auth import ApiKeyAuth
from sp_tasks.atlas.client import AtlasClient
from sp_tasks.atlas.connect import open_client
from sp_tasks.doctor import FAIL, OK, WARN, run_doctor
from sp_tasks.settings import load_settings

GROUP = "0123456789abcdef01234567"
KEYS = {"MONGODB_ATLAS_PUBLIC_API_KEY": "local", "MONGODB_ATLAS_PRIVATE_API_KEY": "local"}
KAFKA = {"name": "events", "type": "Kafka", "bootstrapServers": "b:9092",
         "authentication": {"mechanism": "SCRAM-512", "username": "u", "password": "do-not-print-me"}}


def _project(root: Path, url: str, create: bool = True) -> Path:
    env = root / "environments" / "doc"
    env.mkdir(parents=True)
    env.joinpath("config.env").write_text(f"ATLAS_BASE_URL={url}\nPROJECT_ID={GROUP}\nWORKSPACE_NAME=ws\n"
                                          f"DEFAULT_TIER=SP10\nALLOW_CREATE_WORKSPACE={str(create).lower()}\n")
    for folder in ("processors", "connections"):
        (root / folder).mkdir()
    (root / "connections" / "solarCluster.json").write_text(json.dumps(
        {"name": "solarCluster", "type": "Cluster", "clusterName": "C0"}))
    return root


def doctor(root: Path, environ=KEYS):
    settings = load_settings("doc", root, environ)
    return run_doctor(settings, open_client, git_processors=1, git_connections=("solarCluster",))


def statuses(report) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


@pytest.fixture
def workspace(emulator):
    with AtlasClient(emulator.url, GROUP, "ws", ApiKeyAuth("local", "local")) as client:
        client.create_workspace({"dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
                                 "streamConfig": {"tier": "SP10"}})
        client.create_connection(KAFKA)
        client.create_connection({"name": "sample_stream_solar", "type": "Sample"})
    emulator.admin("DELETE", "requests")
    return emulator


def test_a_healthy_environment_passes_reading_only(workspace, tmp_path):
    report = doctor(_project(tmp_path, workspace.url))
    seen = statuses(report)
    assert report.ok and set(seen.values()) == {OK}, report.checks
    assert seen["connection events"] == OK and seen["api versions"] == OK and seen["rate limit"] == OK
    details = " ".join(c.detail for c in report.checks)
    assert "MONGODB_ATLAS_PUBLIC_API_KEY" in details and "solarCluster" in details  # to be created by deploy
    assert "do-not-print-me" not in details
    served = workspace.requests_served()
    assert set(served["by_method"]) == {"GET"}


def test_the_task_exits_1_and_says_why_in_json(workspace, tmp_path, monkeypatch, capsys):
    _project(tmp_path, workspace.url, create=False)
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)
    workspace.admin("POST", "reset")  # no workspace, and creating one is not allowed
    with pytest.raises(Exit) as ended:
        tasks.doctor(Context(Config(overrides={"sp": {"env": "doc"}})), format="json")
    assert ended.value.code == 1
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is False
    [check] = [c for c in body["checks"] if c["check"] == "workspace"]
    assert check["status"] == FAIL and "ALLOW_CREATE_WORKSPACE" in check["detail"]


def test_a_workspace_to_be_created_is_only_a_note(emulator, tmp_path):
    report = doctor(_project(tmp_path, emulator.url))
    assert report.ok and statuses(report)["workspace"] == WARN


def test_refused_credentials_and_missing_roles_fail_with_the_fix(workspace, tmp_path):
    root = _project(tmp_path, workspace.url)
    wrong = doctor(root, {"MONGODB_ATLAS_PUBLIC_API_KEY": "local", "MONGODB_ATLAS_PRIVATE_API_KEY": "nope"})
    assert not wrong.ok and "refused" in {c.name: c.detail for c in wrong.checks}["project"]
    workspace.faults({"method": "GET", "path": "/streams$", "status": 403})
    forbidden = doctor(root)
    assert statuses(forbidden)["project"] == FAIL
    assert "Project Stream Processing Owner" in {c.name: c.detail for c in forbidden.checks}["project"]


def test_no_credentials_fail_before_any_request(workspace, tmp_path):
    report = doctor(_project(tmp_path, workspace.url), environ={})
    assert statuses(report) == {"credentials": FAIL}
    assert workspace.requests_served()["total"] == 0


def test_unexpected_answers_are_reported_field_by_field(workspace, tmp_path):
    odd = {"results": [{"name": "events", "state": "FAILED", "fancyNewField": 1},
                       {"name": "c2", "type": "Cluster", "state": "PENDING"}], "totalCount": 2}
    workspace.faults({"method": "GET", "path": "/connections$", "status": 200, "body": odd})
    report = doctor(_project(tmp_path, workspace.url))
    seen = {c.name: (c.status, c.detail) for c in report.checks if c.name.startswith(("fields", "connection", "api"))}
    details = [c for c in report.checks if c.name == "fields: connection"]
    assert {c.status for c in details} == {FAIL, WARN}
    assert any("missing type" in c.detail for c in details) and any("fancyNewField" in c.detail for c in details)
    assert seen["connection events"][0] == FAIL and seen["connection c2"][0] == WARN
    assert seen["api versions"][0] == FAIL  # the injected answer named no versioned media type
    assert not report.ok


def test_a_refused_api_version_and_a_low_budget_are_reported(workspace, tmp_path):
    root = _project(tmp_path, workspace.url)
    workspace.admin("POST", "config", {"rate_limit": 9})
    low = doctor(root)
    assert statuses(low)["rate limit"] == WARN and low.ok
    workspace.faults({"method": "GET", "path": "/streams$", "status": 406,
                      "body": {"error": 406, "errorCode": "INVALID_VERSION_DATE",
                               "detail": "Invalid accept header or version date."}})
    refused = doctor(root)
    assert statuses(refused)["project"] == FAIL and "API version" in refused.checks[1].detail
