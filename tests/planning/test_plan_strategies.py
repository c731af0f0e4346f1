"""build_steps: in-place, blue-green and canary step lists are complete, ordered and sendable."""
from __future__ import annotations

import pytest
from plan_scenarios import CASES, run_scenario, scenario_names

from sp_tasks.atlas.paths import BY_NAME
from sp_tasks.deploy.steps import ENDPOINTS, StepKind
from sp_tasks.deploy.strategies import build_steps, shadow_definition
from sp_tasks.errors import ConfigError, StrategyError
from sp_tasks.model import ConnectionSpec, DesiredState, LiveProcessor, LiveState, ProcessorSpec, ProcessorState
from sp_tasks.planning.planner import compute_plan

SOURCE = {"$source": {"connectionName": "sample_stream_solar"}}
MERGE = {"$merge": {"into": {"connectionName": "main", "db": "d", "coll": "c"}}}


def test_every_step_kind_maps_to_a_known_endpoint_or_to_no_write():
    assert set(ENDPOINTS) == set(StepKind)
    assert all(name is None or name in BY_NAME for name in ENDPOINTS.values())


@pytest.mark.parametrize("scenario", scenario_names())
def test_steps_are_unique_ordered_by_phase_and_depend_only_on_earlier_steps(scenario):
    _, steps, _ = run_scenario(CASES / scenario)
    seen = set()
    for before, step in zip((None, *steps), steps):
        assert before is None or before.phase <= step.phase
        assert set(step.depends_on) <= seen
        assert step.id not in seen
        seen.add(step.id)


def _plan_and_live(new_match=2, *, state="STARTED", source=SOURCE):
    old = [SOURCE, {"$match": {"a": 1}}, MERGE]
    new = [source, {"$match": {"a": new_match}}, MERGE]
    live = LiveState(workspace={}, processors=(LiveProcessor("x", "1", state, old, tier="SP10"),))
    desired = DesiredState(processors=(ProcessorSpec("x", new, desired_state=ProcessorState.STARTED),))
    return compute_plan(desired, live, environment="e", workspace="w", project_id="g", default_tier="SP10"), live


def kinds(steps):
    return [(s.kind.value, s.target.name) for s in steps]


def test_update_reset_sends_resume_from_checkpoint_false_on_modify_and_start():
    plan, live = _plan_and_live(source={"$source": {"connectionName": "k", "topic": "t"}})
    steps = {s.kind: s for s in build_steps(plan, live=live)}
    assert steps[StepKind.MODIFY_PROCESSOR].payload["options"] == {"resumeFromCheckpoint": False}
    assert steps[StepKind.START_PROCESSOR].payload == {"tier": "SP10", "resumeFromCheckpoint": False}


def test_blue_green_swaps_a_verified_green_copy_in_and_keeps_blue():
    plan, live = _plan_and_live()
    assert kinds(build_steps(plan, strategy="blue-green", live=live)) == [
        ("create_processor", "x__green"), ("start_processor", "x__green"), ("verify_health", "x__green"),
        ("stop_processor", "x"), ("rename_processor", "x"), ("stop_processor", "x__green"),
        ("rename_processor", "x__green"), ("start_processor", "x"), ("verify_health", "w"),
    ]


def test_a_canary_needs_a_running_processor_to_compare_with_otherwise_it_is_in_place():
    plan, live = _plan_and_live(state="STOPPED")
    assert kinds(build_steps(plan, strategy="canary", live=live)) == kinds(build_steps(plan, live=live))
    assert ("create_processor", "x__green") in kinds(build_steps(plan, strategy="blue-green", live=live))


def test_creates_starts_and_stops_are_the_same_in_every_strategy():
    old = [SOURCE, MERGE]
    live = LiveState(workspace={}, processors=(LiveProcessor("s", "1", "STARTED", old, tier="SP10"),))
    desired = DesiredState(processors=(
        ProcessorSpec("n", old), ProcessorSpec("s", old, desired_state=ProcessorState.STOPPED),
    ))
    plan = compute_plan(desired, live, environment="e", workspace="w", project_id="g", default_tier="SP10")
    in_place = build_steps(plan, live=live)
    assert build_steps(plan, strategy="blue-green", live=live) == in_place
    assert build_steps(plan, strategy="canary", live=live) == in_place


def test_unknown_strategy_is_a_config_error():
    plan, live = _plan_and_live()
    with pytest.raises(ConfigError, match="rolling"):
        build_steps(plan, strategy="rolling", live=live)


def test_shadow_definition_suffixes_sinks_and_dlq_and_leaves_the_original_alone():
    dlq = {"connectionName": "main", "db": "d", "coll": "q"}
    doc = {"name": "x", "pipeline": [SOURCE, MERGE], "options": {"dlq": dlq}}
    shadow = shadow_definition(doc, source="x")
    assert shadow["pipeline"][1]["$merge"]["into"]["coll"] == "c__canary"
    assert shadow["options"]["dlq"]["coll"] == "q__canary" and doc["options"]["dlq"]["coll"] == "q"
    emit = shadow_definition({"pipeline": [SOURCE, {"$emit": {"connectionName": "k", "topic": "t"}}]}, source="x")
    assert emit["pipeline"][1]["$emit"]["topic"] == "t__canary"


@pytest.mark.parametrize(
    "sink",
    [
        {"$emit": {"connectionName": "s3", "bucket": "b", "path": "p"}},
        {"$merge": {"into": {"connectionName": "main", "db": "d", "coll": {"$concat": ["a", "$b"]}}}},
        {"$externalFunction": {"connectionName": "l", "functionName": "f"}},
    ],
)
def test_sinks_without_a_safe_shadow_refuse_the_canary_strategy(sink):
    with pytest.raises(StrategyError, match="in-place or blue-green"):
        shadow_definition({"pipeline": [SOURCE, sink]}, source="x")


def test_removing_a_dlq_sends_an_empty_dlq_because_atlas_keeps_an_omitted_one():
    dlq = {"dlq": {"connectionName": "main", "db": "d", "coll": "q"}}
    live = LiveState(workspace={}, processors=(LiveProcessor("x", "1", "STOPPED", [SOURCE, MERGE], dlq, "SP10"),))
    desired = DesiredState(processors=(ProcessorSpec("x", [SOURCE, MERGE], desired_state=ProcessorState.STOPPED),))
    plan = compute_plan(desired, live, environment="e", workspace="w", project_id="g", default_tier="SP10")
    assert kinds(build_steps(plan, live=live)) == [("modify_processor", "x")]
    assert build_steps(plan, live=live)[0].payload["options"] == {"dlq": {}}


def test_connection_steps_name_the_secret_fields_to_fill_but_carry_no_secret_value():
    body = {"name": "k", "type": "Kafka", "bootstrapServers": "b:9092",
            "authentication": {"mechanism": "PLAIN", "username": "u", "password": "hunter2"}}
    desired = DesiredState(connections=(ConnectionSpec("k", "Kafka", body),))
    live = LiveState(workspace={})
    plan = compute_plan(desired, live, environment="e", workspace="w", project_id="g", default_tier="SP10")
    create, wait = build_steps(plan, live=live)
    assert create.secret_paths == ("/authentication/password",) and "hunter2" not in repr(create)
    assert (create.endpoint, wait.kind) == ("createStreamConnection", StepKind.WAIT_CONNECTION_READY)


def test_canary_gets_its_own_kafka_consumer_group():
    from sp_tasks.deploy.strategies import shadow_definition

    doc = {"name": "x", "pipeline": [
        {"$source": {"connectionName": "k", "topic": "in", "config": {"group_id": "orders"}}},
        {"$emit": {"connectionName": "k", "topic": "out"}}]}
    shadow = shadow_definition(doc, source="x")
    assert shadow["pipeline"][0]["$source"]["config"]["group_id"] == "orders__canary"
    assert shadow["pipeline"][-1]["$emit"]["topic"] == "out__canary"
    assert doc["pipeline"][0]["$source"]["config"]["group_id"] == "orders"  # the live definition is untouched


@pytest.mark.parametrize("stage", [{"$https": {"connectionName": "h", "as": "r", "method": "POST"}},
                                   {"$externalFunction": {"connectionName": "l", "functionName": "f", "as": "r"}}])
def test_canary_refuses_pipelines_with_side_effects(stage):
    from sp_tasks.deploy.strategies import shadow_definition

    doc = {"name": "x", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}}, stage,
                                     {"$merge": {"into": {"connectionName": "c", "db": "d", "coll": "o"}}}]}
    with pytest.raises(StrategyError, match="side effects"):
        shadow_definition(doc, source="x")
