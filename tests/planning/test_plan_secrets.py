"""Secrets in plans: compared on real values, never held or shown; rollback takes them from Git."""
from __future__ import annotations

import json

import pytest

from plan_scenarios import CASES, run_scenario

from sp_tasks.deploy.steps import StepKind
from sp_tasks.deploy.strategies import build_steps
from sp_tasks.errors import PlanError, StrategyError
from sp_tasks.model import ConnectionSpec, DesiredState, LiveConnection, LiveProcessor, LiveState, ProcessorSpec
from sp_tasks.planning.plan import Action, plan_from_json, plan_to_json
from sp_tasks.planning.planner import compute_plan
from sp_tasks.planning.render import render_markdown, render_text
from sp_tasks.planning.snapshot_desired import desired_from_snapshot, live_from_snapshot, with_secret_sources
from sp_tasks.secrets import MARK

OLD, NEW = "Bearer tok-OLD-1a2b3c", "Bearer tok-NEW-9f3c1e"
HEADER = "/pipeline/1/$https/headers/Authorization"
SOURCE = {"$source": {"connectionName": "sample_stream_solar"}}
SINK = {"$emit": {"connectionName": "__testLog"}}
PASSWORD = "kafka-pw-77x"


def https_stage(token, **extra):
    return {"$https": {"connectionName": "api", "as": "r", "onError": "ignore", "headers": {"Authorization": token},
                       **extra}}


def plan(desired, live, **kwargs):
    return compute_plan(desired, live, environment="e", workspace="w", project_id="g", default_tier="SP10", **kwargs)


def outputs(the_plan, live=None):
    steps = build_steps(the_plan, live=live or LiveState(workspace={}))
    return [plan_to_json(the_plan), render_text(the_plan), render_markdown(the_plan), repr(the_plan), repr(steps)]


def test_a_rotated_header_is_an_update_shown_only_as_secret_changed():
    the_plan, steps, _ = run_scenario(CASES / "processor-secret-rotated")
    changed = {c.name: c for c in the_plan.changes if c.action is Action.UPDATE}
    assert set(changed) == {"weather", "weatherApi"}
    assert [(f.path, f.before, f.after) for f in changed["weather"].fields] == [(HEADER, MARK, MARK)]
    assert changed["weather"].secret_paths == (HEADER,)
    assert "(secret changed)" in render_text(the_plan) and "(secret changed)" in render_markdown(the_plan)
    texts = [plan_to_json(the_plan), render_text(the_plan), render_markdown(the_plan), repr(the_plan), repr(steps),
             json.dumps([s.payload for s in steps])]
    for token in ("tok-OLD", "tok-NEW"):
        assert not any(token in text for text in texts), token
    modify = next(s for s in steps if s.kind is StepKind.MODIFY_PROCESSOR)
    assert modify.secret_paths == (HEADER,) and modify.payload["pipeline"][1]["$https"]["headers"]["Authorization"] == MARK


def test_a_saved_plan_holds_no_secret_and_loads_back_equal():
    the_plan, _, _ = run_scenario(CASES / "processor-secret-rotated")
    assert plan_from_json(plan_to_json(the_plan)) == the_plan


def test_an_unchanged_secret_is_a_no_op_and_a_new_stage_shows_its_header_as_a_mark():
    live = LiveState(workspace={}, processors=(LiveProcessor("p", "1", "STARTED", [SOURCE, https_stage(OLD), SINK],
                                                             tier="SP10"),))
    same = DesiredState(processors=(ProcessorSpec("p", [SOURCE, https_stage(OLD), SINK]),))
    assert not plan(same, live).has_changes()
    added = DesiredState(processors=(ProcessorSpec("p", [SOURCE, https_stage(OLD), https_stage(NEW, path="/b"),
                                                         SINK]),))
    change = plan(added, live).changes[0]
    assert change.action is Action.UPDATE and change.fields[0].after["$https"]["headers"]["Authorization"] == MARK
    assert not any("tok-" in text for text in outputs(plan(added, live), live))


def test_secrets_from_secret_looking_variables_are_hidden_where_no_rule_would_see_them():
    stage = {"$https": {"connectionName": "api", "as": "r", "parameters": {"q": "tok-from-var"}}}
    spec = ProcessorSpec("p", [SOURCE, stage, SINK], secret_paths=("/pipeline/1/$https/parameters/q",))
    the_plan = plan(DesiredState(processors=(spec,)), LiveState(workspace={}))
    assert the_plan.changes[0].after["pipeline"][1]["$https"]["parameters"]["q"] == MARK
    assert not any("tok-from-var" in text for text in outputs(the_plan))


def snapshot(connections=(), processors=()):
    return {"format_version": 1, "environment": "e", "workspace": "w", "project_id": "g",
            "connections": list(connections), "processors": list(processors)}


KAFKA_LIVE = {"name": "k", "type": "Kafka", "bootstrapServers": "b:9092",
              "authentication": {"mechanism": "PLAIN", "username": "u"}}
KAFKA_GIT = ConnectionSpec("k", "Kafka", {**KAFKA_LIVE, "authentication": {**KAFKA_LIVE["authentication"],
                                                                          "password": PASSWORD}},
                           secret_paths=("/authentication/password",))


def test_a_connection_restored_from_a_snapshot_is_created_with_its_password_from_git():
    target = with_secret_sources(desired_from_snapshot(snapshot([KAFKA_LIVE])), DesiredState(connections=(KAFKA_GIT,)))
    the_plan = plan(target, LiveState(workspace={}), exact=True)
    create = the_plan.changes[0]
    assert (create.action, create.secret_paths, create.missing_secrets) == \
        (Action.CREATE, ("/authentication/password",), ())
    step = build_steps(the_plan, live=LiveState(workspace={}))[0]
    assert step.kind is StepKind.CREATE_CONNECTION and step.secret_paths == ("/authentication/password",)
    assert not any(PASSWORD in text for text in outputs(the_plan))


@pytest.mark.parametrize("git", [DesiredState(), DesiredState(connections=(ConnectionSpec("k", "Https", {}),))])
def test_without_a_git_source_the_rollback_plan_says_so_and_cannot_be_applied(git):
    target = with_secret_sources(desired_from_snapshot(snapshot([KAFKA_LIVE])), git)
    the_plan = plan(target, LiveState(workspace={}), exact=True)
    assert the_plan.changes[0].missing_secrets == ("/authentication/password",)
    assert "missing secret: /authentication/password" in render_text(the_plan)
    assert "missing secret" in render_markdown(the_plan)
    with pytest.raises(PlanError, match="nothing sent: connection k .create. needs /authentication/password"):
        build_steps(the_plan, live=LiveState(workspace={}))


def test_a_secret_the_snapshot_shows_as_a_mark_equals_live_and_a_needed_one_comes_from_git():
    live_proc = {"name": "p", "state": "STARTED", "tier": "SP10", "pipeline": [SOURCE, https_stage(OLD), SINK]}
    snap = snapshot(processors=[{**live_proc, "pipeline": [SOURCE, https_stage(MARK), SINK]}])
    live = live_from_snapshot(snapshot(processors=[live_proc]))
    assert not plan(desired_from_snapshot(snap), live, exact=True).has_changes()
    git = DesiredState(processors=(ProcessorSpec("p", [SOURCE, https_stage(NEW), SINK]),))
    target = with_secret_sources(desired_from_snapshot(snap), git)
    assert target.processors[0].secret_paths == (HEADER,)
    recreated = plan(target, LiveState(workspace={}), exact=True).changes[0]
    assert (recreated.action, recreated.secret_paths, recreated.missing_secrets) == (Action.CREATE, (HEADER,), ())
    orphan = plan(desired_from_snapshot(snap), LiveState(workspace={}), exact=True).changes[0]
    assert orphan.missing_secrets == (HEADER,)


def test_green_copies_take_their_secrets_from_the_original_file_and_canary_refuses_https():
    live = LiveState(workspace={}, processors=(LiveProcessor("p", "1", "STARTED", [SOURCE, https_stage(OLD),
                                                                                  {"$merge": {"into": {
                                                                                      "connectionName": "c",
                                                                                      "db": "d", "coll": "x"}}}],
                                                             tier="SP10"),))
    desired = DesiredState(processors=(ProcessorSpec("p", [SOURCE, https_stage(NEW), live.processors[0].pipeline[2]]),))
    the_plan = plan(desired, live)
    steps = build_steps(the_plan, strategy="blue-green", live=live)
    create = next(s for s in steps if s.kind is StepKind.CREATE_PROCESSOR and s.target.name == "p__green")
    assert (create.secret_paths, create.secrets_from) == ((HEADER,), "p")
    with pytest.raises(StrategyError, match="side effects"):  # a canary would call the endpoint twice
        build_steps(the_plan, strategy="canary", live=live)


def test_reprs_of_specs_live_objects_changes_and_steps_hide_secret_values():
    spec = ProcessorSpec("p", [SOURCE, https_stage(NEW), SINK])
    live = LiveProcessor("p", "1", "STARTED", [SOURCE, https_stage(OLD), SINK])
    conn = LiveConnection.from_api({"name": "api", "type": "Https", "url": "https://x", "headers": {"x-api-key": "k-9"}})
    texts = [repr(spec), repr(live), repr(conn), repr(DesiredState(processors=(spec,), connections=(KAFKA_GIT,)))]
    assert not any(s in text for text in texts for s in ("tok-", "k-9", PASSWORD))
    assert "sample_stream_solar" in repr(spec)  # the rest of the definition stays readable
