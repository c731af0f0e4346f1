"""invoke env.create / env.destroy against the emulator: what they create, that the feature's processors
write only to their own sinks, and that destroy removes exactly that — the emulator's stored state,
sink documents, topics and test logs included, afterwards equals the state before create."""
from __future__ import annotations

import json

import tasks
from sp_tasks.atlas.connect import open_client
from sp_tasks.settings import load_settings
from sp_tasks.emulator.documents import TABLES as DOCUMENT_TABLES
from polling import wait_for
from test_tasks_deploy import _exit_code, ctx  # noqa: F401  (tests/deploy: the invoke context fixture)

FEATURE = "feature/demo-change"


def emulator_state(emulator) -> dict[str, list]:
    """Every stored table — workspaces, connections, processors, checkpoints and the sink documents,
    topics and test logs — rows in a stable order, without autoincrement counters."""
    db = emulator.backend.db
    tables = [r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    state = {}
    for table in sorted(set(tables) - {"sqlite_sequence"}):
        rows = [{k: row[k] for k in row.keys() if k != "seq"} for row in db.query(f"SELECT * FROM {table}")]
        state[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    assert set(DOCUMENT_TABLES) <= set(state)  # the sink data is compared too
    return state


def _workspaces(project) -> set[str]:
    return {w["name"] for w in project.runner().client.list_workspaces()}


KAFKA = {"name": "kafka", "type": "Kafka", "bootstrapServers": "broker:9092",
         "authentication": {"mechanism": "SCRAM-256", "username": "u", "password": "${KAFKA_PASSWORD}"},
         "security": {"protocol": "SASL_SSL"}}
TO_KAFKA = {"name": "to_kafka", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                             {"$emit": {"connectionName": "kafka", "topic": "readings"}}]}
CHECKED = {"name": "checked", "pipeline": [
    {"$source": {"connectionName": "sample_stream_solar"}},
    {"$validate": {"validator": {"obs.watts": {"$lt": 150}}, "validationAction": "dlq"}},
    {"$merge": {"into": {"connectionName": "cluster", "db": "solar", "coll": "low"}}}],
    "options": {"dlq": {"connectionName": "cluster", "db": "errors", "coll": "dlq"}}}
CHAINED = {"name": "chained", "pipeline": [  # reads what "hot" writes: in the feature, the feature's "hot"
    {"$source": {"connectionName": "cluster", "db": "solar", "coll": "hot"}},
    {"$merge": {"into": {"connectionName": "cluster", "db": "solar", "coll": "from_hot"}}}]}
FEATURE_DB, FEATURE_DLQ, FEATURE_TOPIC = "solar_feature_demo-change", "errors_feature_demo-change", \
    "readings_feature_demo-change"


def _every_sink(project):
    """Processors writing to a cluster collection, a DLQ, a Kafka topic and __testLog."""
    project.write("connections", KAFKA)
    project.write("processors", TO_KAFKA)
    project.write("processors", CHECKED)
    project.write("processors", CHAINED)


def _sink_data(emulator):
    store, group = emulator.backend.runtime.documents, "0123456789abcdef01234567"
    return {"collections": {(db, coll): n for _, db, coll, n in store.collections(group)},
            "topic": len(store.topic_messages(group, "broker:9092", "readings")),
            "feature_topic": len(store.topic_messages(group, "broker:9092", FEATURE_TOPIC))}


def test_create_then_destroy_leaves_the_emulator_exactly_as_before(ctx, project, sp, capsys, monkeypatch):
    _every_sink(project)
    project.thresholds(max_dlq_ratio=1.0)  # "checked" sends most readings to its DLQ, by design
    monkeypatch.setenv("KAFKA_PASSWORD", "s3cret-kafka")
    assert sp("processors", "create", "--all", "--yes").code == 0  # the base runs its own processors
    wait_for(lambda: {("solar", "hot"), ("errors", "dlq"), ("solar", "from_hot")}
             <= set(_sink_data(project.emulator)["collections"])
             and _sink_data(project.emulator)["topic"])
    assert sp("processors", "stop", "--all").code == 0  # stopped: its counters and sinks stand still
    before, base_sinks = emulator_state(project.emulator), _sink_data(project.emulator)
    assert _workspaces(project) == {"ws-test"}

    tasks.env_create(ctx, FEATURE, from_="test", yes=True, format="json")
    created = json.loads(capsys.readouterr().out)
    assert created["workspace"] == "feature-demo-change" and created["applied"]["ok"]
    assert {(r["processor"], r["after"]) for r in created["sinks"]} == {
        ("hot", FEATURE_DB), ("per_group", FEATURE_DB), ("checked", FEATURE_DB), ("checked", FEATURE_DLQ),
        ("to_kafka", FEATURE_TOPIC), ("chained", FEATURE_DB)}  # chained: its $source and its $merge
    assert _workspaces(project) == {"ws-test", "feature-demo-change"}
    with open_client(load_settings("demo-change", project.root)) as client:
        assert {p["name"]: p["state"] for p in client.list_processors()} == {
            "hot": "STARTED", "per_group": "STARTED", "logger": "STARTED", "to_kafka": "STARTED", "checked": "STARTED",
            "chained": "STARTED"}
    # The feature's processors write: its own database, DLQ database and topic fill up ...
    wait_for(lambda: {(FEATURE_DB, "hot"), (FEATURE_DB, "per_group"), (FEATURE_DB, "low"), (FEATURE_DLQ, "dlq"),
                      (FEATURE_DB, "from_hot")}
             <= set(_sink_data(project.emulator)["collections"]) and _sink_data(project.emulator)["feature_topic"])
    # ... and the base's sinks received nothing from it.
    now = _sink_data(project.emulator)
    assert {k: n for k, n in now["collections"].items() if "_feature_" not in k[0]} == base_sinks["collections"]
    assert now["topic"] == base_sinks["topic"]

    tasks.env_destroy(ctx, FEATURE, yes=True, format="json")
    destroyed = json.loads(capsys.readouterr().out)
    assert destroyed["complete"] and sorted(destroyed["processors"]) == ["chained", "checked", "hot", "logger",
                                                                         "per_group", "to_kafka"]
    assert {(d["kind"], d["name"]) for d in destroyed["data_removed"]} == {
        ("database", FEATURE_DB), ("database", FEATURE_DLQ), ("topic", FEATURE_TOPIC)}
    assert destroyed["data_left"] == []
    assert emulator_state(project.emulator) == before  # workspaces, processors, connections AND sink data
    assert not (project.root / ".sp" / "environments" / "demo-change").exists()


def test_a_create_that_failed_its_health_gate_still_leaves_nothing_behind_after_destroy(ctx, project, sp, capsys):
    """The gate fails and rolls the workspace back, but the processors that did start wrote to the
    feature's sinks: destroy finds that data from Git's definitions and the emulator's sweep."""
    before = emulator_state(project.emulator)
    project.emulator.faults({"processor": "per_group", "fail_on_start": True, "count": 1})
    assert _exit_code(lambda: tasks.env_create(ctx, "demo", from_="test", yes=True)) == 1
    assert any(db == "solar_feature_demo" for _, db, _, _ in
               project.emulator.backend.runtime.documents.collections("0123456789abcdef01234567"))
    tasks.env_destroy(ctx, "demo", from_="test", yes=True)
    assert "verified gone" in capsys.readouterr().out
    assert emulator_state(project.emulator) == before


def test_create_is_idempotent_and_deploys_changes_on_the_next_push(ctx, project, capsys):
    tasks.env_create(ctx, "demo")  # no --yes, not a terminal: it only touches its own workspace; --from = --env
    assert _workspaces(project) == {"feature-demo"}
    capsys.readouterr()
    tasks.env_create(ctx, "demo", from_="test", yes=True, format="json")
    assert json.loads(capsys.readouterr().out)["message"] == "no changes: live state matches Git"
    project.remove("processors", "logger")
    tasks.env_create(ctx, "demo", from_="test", yes=True, format="json")
    again = json.loads(capsys.readouterr().out)
    assert again["applied"]["ok"] and again["summary"]["delete"] == 1  # the branch owns the workspace: pruned


def test_destroy_from_a_fresh_checkout_derives_the_environment_again(ctx, project, capsys):
    """CI's delete-branch job has no .sp/: destroy derives the same environment from --from."""
    tasks.env_create(ctx, FEATURE, from_="test", yes=True)
    import shutil

    shutil.rmtree(project.root / ".sp" / "environments")
    tasks.env_destroy(ctx, FEATURE, from_="test", yes=True)
    assert "verified gone" in capsys.readouterr().out
    assert _workspaces(project) == set()


def test_destroy_of_a_missing_workspace_is_done(ctx, project, capsys):
    tasks.env_destroy(ctx, "never-created", from_="test", yes=True)
    assert "nothing to destroy" in capsys.readouterr().out


def test_destroy_refuses_a_derived_file_that_points_at_another_workspace(ctx, project, sp):
    assert sp("processors", "create", "-p", "hot", "--yes").code == 0
    tasks.env_create(ctx, "demo", from_="test", yes=True)
    config = project.root / ".sp" / "environments" / "demo" / "config.env"
    config.write_text(config.read_text() + "WORKSPACE_NAME=ws-test\n")  # hand-edited to the base's workspace
    project.emulator.admin("DELETE", "requests")
    assert _exit_code(lambda: tasks.env_destroy(ctx, "demo", yes=True)) == 1
    assert project.emulator.writes_served() == 0
    assert "hot" in project.live_processors()


def test_destroy_needs_confirmation_when_not_interactive(ctx, project):
    tasks.env_create(ctx, "demo", from_="test", yes=True)
    project.emulator.admin("DELETE", "requests")
    assert _exit_code(lambda: tasks.env_destroy(ctx, "demo")) == 1
    assert project.emulator.writes_served() == 0


def test_an_interrupted_destroy_is_finished_by_running_it_again(ctx, project, capsys):
    tasks.env_create(ctx, "demo", from_="test", yes=True)
    project.emulator.faults({"method": "DELETE", "path": "/connections/", "status": 400, "count": 1})
    assert _exit_code(lambda: tasks.env_destroy(ctx, "demo", yes=True)) == 1
    assert "feature-demo" in _workspaces(project)  # stopped before the workspace
    tasks.env_destroy(ctx, "demo", yes=True)
    assert "verified gone" in capsys.readouterr().out
    assert "feature-demo" not in _workspaces(project)
