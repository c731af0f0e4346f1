"""sp workspaces / instances / connections against the emulator; usage and config errors."""
from __future__ import annotations

import json

KAFKA = {"name": "events", "type": "Kafka", "bootstrapServers": "broker:9092",
         "authentication": {"mechanism": "SCRAM-512", "username": "svc", "password": "${KAFKA_PASSWORD}"},
         "security": {"protocol": "SASL_SSL"}}
SECRET = "pa55-never-printed"


def test_workspace_create_uses_the_env_settings_and_is_idempotent(project, sp):
    ran = sp("workspaces", "create")
    assert ran.code == 0 and "ws-test created" in ran.out
    (row,) = sp("workspaces", "list", "--format", "json").json["workspaces"]
    assert row["name"] == "ws-test" and row["streamConfig"]["tier"] == "SP10"
    assert row["dataProcessRegion"] == {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}
    again = sp("instances", "create", "--format", "json")
    assert again.code == 0 and again.json["created"] is False
    assert "ws-test" in sp("instances", "details").out


def test_workspace_create_and_delete_refuse_another_name(project, sp):
    ran = sp("workspaces", "delete", "prod-ws", "--yes")
    assert ran.code == 1 and "not the workspace of environment test" in ran.err


def test_workspace_delete_refuses_while_processors_run(deployed, sp):
    ran = sp("workspaces", "delete", "--yes")
    assert ran.code == 1 and "running processors" in ran.err and "sp processors stop -p hot" in ran.err
    assert sp("workspaces", "details").code == 0
    assert sp("processors", "stop", "--all").code == 0
    assert sp("workspaces", "delete").code == 1  # not interactive, no --yes
    deleted = sp("workspaces", "delete", "--yes")
    assert deleted.code == 0, deleted.err
    assert sp("workspaces", "list", "--format", "json").json["workspaces"] == []


def test_details_of_a_missing_workspace_exits_1(project, sp):
    ran = sp("workspaces", "details", "nowhere")
    assert ran.code == 1 and "nowhere does not exist" in ran.err


def test_connection_create_takes_secrets_from_the_environment_and_never_prints_them(project, sp, monkeypatch):
    monkeypatch.setenv("KAFKA_PASSWORD", SECRET)
    project.write("connections", KAFKA)
    outputs = [sp("workspaces", "connections", "create", "events", "--yes"),
               sp("connections", "list", "--format", "json"), sp("connections", "list"),
               sp("connections", "test", "events", "--format", "json")]
    assert [r.code for r in outputs] == [0, 0, 0, 0], outputs[0].err
    assert all(SECRET not in r.out + r.err for r in outputs)
    listed = {c["name"]: c for c in outputs[1].json["connections"]}
    assert listed["events"]["in_git"] is True and "password" not in listed["events"]["authentication"]
    assert set(listed) == {"events"}  # only the named connection was deployed
    assert outputs[3].json["connections"][0]["live"] == "READY"


def test_connection_create_updates_a_changed_connection_instead_of_reporting_it_exists(project, sp):
    project.write("connections", {"name": "cluster", "type": "Cluster", "clusterName": "Cluster0"})
    assert sp("connections", "create", "--yes").code == 0
    project.write("connections", {"name": "cluster", "type": "Cluster", "clusterName": "Cluster1"})
    ran = sp("connections", "create", "cluster", "--yes")
    assert ran.code == 0 and "~ connection cluster: update" in ran.out
    (live,) = sp("connections", "list", "--format", "json").json["connections"]
    assert live["clusterName"] == "Cluster1"


def test_connection_test_exit_codes(project, sp):
    offline = sp("connections", "test", "--offline")
    assert offline.code == 0 and "not checked" in offline.out
    sp("workspaces", "create")
    missing = sp("connections", "test", "cluster")
    assert missing.code == 1 and "missing" in missing.out
    project.write("connections", {"name": "cluster", "type": "Cluster"})
    assert sp("connections", "test", "cluster").code == 4
    assert sp("connections", "test", "nope").code == 1


def test_connection_delete_refuses_while_a_processor_uses_it(deployed, sp):
    ran = sp("connections", "delete", "cluster", "--yes")
    assert ran.code == 1 and "used by processor(s) hot, per_group" in ran.err
    assert sp("processors", "drop", "-p", "hot", "-p", "per_group", "--yes").code == 0
    assert sp("connections", "delete", "cluster", "--yes").code == 0
    names = {c["name"] for c in sp("connections", "list", "--format", "json").json["connections"]}
    assert "cluster" not in names


def test_usage_errors_exit_1_and_unknown_environments_4(project, sp, capsys):
    from sp_tasks.cli import main

    assert sp("processors", "frobnicate").code == 1
    assert sp("processors").code == 1
    assert main(["--env", "nope", "--root", str(project.root), "processors", "list"]) == 4
    assert "environment 'nope' not found" in capsys.readouterr().err
    assert main(["--help"]) == 0


def test_invalid_definitions_stop_create_with_exit_4_and_nothing_sent(project, sp):
    project.write("processors", {"name": "broken", "pipeline": [{"$match": {}}]})
    ran = sp("processors", "create", "-p", "hot", "--yes")
    assert ran.code == 4 and "processors/broken.json" in ran.err
    assert project.emulator.writes_served() == 0
    assert json.loads(sp("processors", "test", "-p", "broken", "--format", "json").out)["errors"] >= 1
