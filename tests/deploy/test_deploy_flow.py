"""deploy / plan / rollback end to end against the emulator over real HTTP."""
import pytest

from sp_tasks.deploy import service
from sp_tasks.deploy.snapshots import load_snapshot
from sp_tasks.errors import DeployError, ValidationFailed
from deploy_project import FILTER


def _deploy(project, **kwargs):
    return service.deploy(project.runner(), project.desired(), **kwargs)


def test_first_deploy_creates_everything_and_replan_is_a_noop(project):
    outcome = _deploy(project)
    assert outcome.applied.ok and outcome.message == "applied and verified"
    live = project.live_processors()
    assert {n: p["state"] for n, p in live.items()} == {"hot": "STARTED", "per_group": "STARTED", "logger": "STARTED"}
    assert {h.processor for h in outcome.applied.health} == {"hot", "per_group", "logger"}
    runner = project.runner()
    assert not runner.plan(project.desired(), runner.live()).has_changes()


def test_noop_deploy_costs_a_handful_of_read_calls(project):
    _deploy(project)
    project.emulator.admin("DELETE", "requests")
    outcome = _deploy(project)
    assert outcome.applied is None and "no changes" in outcome.message
    counts = project.emulator.requests_served()
    assert counts["total"] <= 4 and project.emulator.writes_served() == 0


def test_editing_one_processor_touches_only_that_one(project):
    _deploy(project)
    before = project.live_processors()
    project.write("processors", {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"obs.watts": {"$gt": 200}}},
                                                         FILTER["pipeline"][2]]})
    project.emulator.admin("DELETE", "requests")
    outcome = _deploy(project)
    touched = {r.step.target.name for r in outcome.applied.results if r.step.target.kind == "processor"}
    assert touched == {"hot"}
    after = project.live_processors()
    assert after["hot"]["pipeline"][1] == {"$match": {"obs.watts": {"$gt": 200}}}
    for name in ("per_group", "logger"):  # untouched: same id, never stopped, counters kept growing
        assert after[name]["id"] == before[name]["id"] and after[name]["state"] == "STARTED"
        assert after[name]["stats"]["inputMessageCount"] > before[name]["stats"]["inputMessageCount"]
    by_endpoint = project.emulator.requests_served()["by_endpoint"]
    assert not any(k.endswith(":stop") and n > 1 for k, n in by_endpoint.items())


def test_rollback_restores_the_previous_pipeline_exactly(project):
    _deploy(project)
    original = project.live_processors()["hot"]["pipeline"]
    project.write("processors", {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"device_id": "device_1"}},
                                                         FILTER["pipeline"][2]]})
    outcome = _deploy(project)
    assert project.live_processors()["hot"]["pipeline"] != original
    rolled = service.rollback(project.runner(), outcome.snapshot, project.desired())
    assert rolled.applied.ok
    live = project.live_processors()
    assert live["hot"]["pipeline"] == original and live["hot"]["state"] == "STARTED"


def test_broken_definition_stops_before_any_write(project):
    project.write("processors", {"name": "broken", "pipeline": [{"$match": {}},
                                                                 {"$merge": {"into": {"connectionName": "nope"}}}]})
    project.emulator.admin("DELETE", "requests")
    with pytest.raises(ValidationFailed) as caught:
        _deploy(project)
    assert any(d.file == "processors/broken.json" for d in caught.value.diagnostics)
    assert project.emulator.requests_served()["total"] == 0


def test_snapshot_holds_definitions_states_and_no_secrets(project):
    project.write("connections", {"name": "kafka", "type": "Kafka", "bootstrapServers": "b:9092",
                                  "authentication": {"mechanism": "PLAIN", "username": "u",
                                                     "password": "${KAFKA_PASSWORD}"}})
    project.environ["KAFKA_PASSWORD"] = "very-secret-value-123"
    project.write("processors", {"name": "to_kafka", "pipeline": [
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$emit": {"connectionName": "kafka", "topic": "solar"}}]})
    first = _deploy(project)
    assert first.snapshot is None or "very-secret-value-123" not in first.snapshot.read_text()
    runner = project.runner()
    path = runner.snapshot(runner.live(), "manual")
    text = path.read_text()
    doc = load_snapshot(path)
    assert "very-secret-value-123" not in text
    assert {p["name"]: p["state"] for p in doc["processors"]}["to_kafka"] == "STARTED"
    assert all("stats" in p for p in doc["processors"])


def test_missing_workspace_is_created_only_where_the_environment_allows_it(project):
    from sp_tasks.errors import ConfigError

    config = project.root / "environments" / "test" / "config.env"
    config.write_text(config.read_text().replace("ALLOW_CREATE_WORKSPACE=true", "ALLOW_CREATE_WORKSPACE=false"))
    project.emulator.admin("DELETE", "requests")
    with pytest.raises(ConfigError, match="ALLOW_CREATE_WORKSPACE"):
        _deploy(project)
    assert project.emulator.writes_served() == 0


def test_auto_tier_starts_each_processor_on_the_tier_its_parallelism_needs(project):
    config = project.root / "environments" / "test" / "config.env"
    config.write_text(config.read_text().replace("DEFAULT_TIER=SP10", "DEFAULT_TIER=auto"))
    wide = {**FILTER, "name": "wide", "pipeline": [
        FILTER["pipeline"][0], FILTER["pipeline"][1],
        {"$merge": {**FILTER["pipeline"][2]["$merge"], "parallelism": 4}}]}
    project.write("processors", wide)
    _deploy(project)
    tiers = {name: p["tier"] for name, p in project.live_processors().items()}
    assert tiers["wide"] == "SP10"  # cumulative parallelism 3 needs SP10 (SP5 allows 2)
    assert tiers["hot"] == "SP2"  # no parallelism: the smallest tier
