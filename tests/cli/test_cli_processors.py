"""sp processors create/start/stop/restart/drop against the emulator: scope, safety, exit codes."""
from __future__ import annotations

from deploy_project import FILTER


def _states(project) -> dict[str, str]:
    return {name: p["state"] for name, p in project.live_processors().items()}


def test_create_deploys_only_the_named_processor_and_the_connections_it_uses(project, sp):
    ran = sp("processors", "create", "-p", "hot", "--yes")
    assert ran.code == 0, ran.err
    assert _states(project) == {"hot": "STARTED"}
    assert "+ processor hot: create" in ran.out and "processor per_group" not in ran.out
    assert "Left untouched: 2 processor(s) (logger, per_group)" in ran.out  # said, as invoke deploy -p says it
    assert "applied and verified" in ran.out


def test_create_dry_run_shows_the_plan_and_sends_nothing(project, sp):
    assert sp("workspaces", "create").code == 0
    project.emulator.admin("DELETE", "requests")
    ran = sp("processors", "create", "-p", "hot", "-p", "logger", "--dry-run")
    assert ran.code == 0 and "+ processor hot: create" in ran.out and "+ processor logger: create" in ran.out
    assert "dry run" in ran.out and project.emulator.writes_served() == 0


def test_create_updates_in_place_and_keeps_the_checkpoint(deployed, sp):
    before = deployed.live_processors()["hot"]
    deployed.write("processors", {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"obs.watts": {"$gt": 200}}},
                                                          FILTER["pipeline"][2]]})
    deployed.emulator.admin("DELETE", "requests")
    ran = sp("processors", "create", "-p", "hot", "--yes")
    assert ran.code == 0, ran.err
    after = deployed.live_processors()["hot"]
    assert after["id"] == before["id"] and after["pipeline"][1] == {"$match": {"obs.watts": {"$gt": 200}}}
    assert after["stats"]["inputMessageCount"] >= before["stats"]["inputMessageCount"]  # counters carried over
    by_endpoint = deployed.emulator.requests_served()["by_endpoint"]
    deletes = {k: n for k, n in by_endpoint.items() if k.startswith("DELETE")}
    assert list(deletes.values()) == [1]  # only the deploy lock given back; hot is never deleted + recreated
    assert "~ processor hot: update" in ran.out


def test_create_again_is_a_no_op(deployed, sp):
    deployed.emulator.admin("DELETE", "requests")
    ran = sp("processors", "create", "--all", "--yes")
    assert ran.code == 0 and "no changes" in ran.out
    assert deployed.emulator.writes_served() == 0


def test_commands_that_write_need_a_scope_and_write_nothing_without_one(deployed, sp):
    deployed.emulator.admin("DELETE", "requests")
    for command in ("create", "start", "stop", "restart", "drop"):
        ran = sp("processors", command)
        assert ran.code == 1 and "-p NAME" in ran.err, command
    assert deployed.emulator.writes_served() == 0


def test_create_without_yes_in_a_non_interactive_session_sends_nothing(project, sp):
    ran = sp("processors", "create", "-p", "hot")
    assert ran.code == 1 and "--yes" in ran.err
    assert project.live_processors() == {}


def test_stop_acts_only_on_the_named_processor(deployed, sp):
    ran = sp("processors", "stop", "-p", "hot")
    assert ran.code == 0, ran.err
    assert _states(deployed) == {"hot": "STOPPED", "per_group": "STARTED", "logger": "STARTED"}
    assert sp("processors", "stop", "-p", "hot").code == 0  # already stopped: done, not an error


def test_restart_waits_and_ends_started_on_the_requested_tier(deployed, sp):
    ran = sp("processors", "restart", "-p", "hot", "-t", "SP30", "--format", "json")
    assert ran.code == 0, ran.err
    assert [s["kind"] for s in ran.json["steps"]] == ["stop_processor", "start_processor"]
    live = deployed.live_processors()
    assert live["hot"]["state"] == "STARTED" and live["hot"]["tier"] == "SP30"
    assert live["logger"]["tier"] == "SP10"


def test_start_with_a_tier_on_a_running_processor_points_to_restart(deployed, sp):
    ran = sp("processors", "start", "-p", "hot", "-t", "SP30")
    assert ran.code == 1 and "restart -p hot -t SP30" in ran.err


def test_start_from_stopped_with_verify_runs_the_health_gate(deployed, sp):
    sp("processors", "stop", "-p", "hot", "-p", "logger")
    ran = sp("processors", "start", "-p", "hot", "-p", "logger", "--verify")
    assert ran.code == 0, ran.err
    assert "health hot: healthy" in ran.out and "health logger: healthy" in ran.out
    assert _states(deployed)["hot"] == "STARTED"


def test_an_unknown_processor_is_an_error_and_nothing_happens(deployed, sp):
    deployed.emulator.admin("DELETE", "requests")
    ran = sp("processors", "stop", "-p", "hot", "-p", "nope")
    assert ran.code == 1 and "processor nope does not exist" in ran.err
    assert deployed.emulator.writes_served() == 0


def test_drop_all_drops_only_git_processors_and_keeps_a_live_one_not_in_git(deployed, sp):
    deployed.remove("processors", "logger")  # still live, no longer in Git
    refused = sp("processors", "drop", "--all")
    assert refused.code == 1 and "--yes" in refused.err
    assert set(deployed.live_processors()) == {"hot", "per_group", "logger"}
    ran = sp("processors", "drop", "--all", "--yes")
    assert ran.code == 0, ran.err
    assert _states(deployed) == {"logger": "STARTED"}
    assert list((deployed.root / ".sp" / "snapshots" / "test").glob("*.json"))  # pre-drop snapshot kept


def test_drop_by_name_asks_and_a_no_exits_1_and_keeps_everything(deployed, sp, monkeypatch):
    import io

    answer = io.StringIO("n\n")
    answer.isatty = lambda: True
    monkeypatch.setattr("sys.stdin", answer)
    ran = sp("processors", "drop", "hot")
    assert ran.code == 1 and "Drop hot" in ran.err and "error: cancelled: nothing dropped" in ran.err  # as Terraform
    assert "hot" in deployed.live_processors()


def test_a_failed_api_call_exits_non_zero(deployed, sp):
    deployed.emulator.faults({"method": "POST", "path": "processor/hot:stop", "status": 500})
    ran = sp("processors", "stop", "-p", "hot")
    assert ran.code == 1
    assert "failed" in ran.out and "error: Atlas API 500" in ran.err
