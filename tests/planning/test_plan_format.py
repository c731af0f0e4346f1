"""Plan JSON format, live fingerprint, snapshots as desired/live state, and renders."""
from __future__ import annotations

import json

import pytest
from plan_scenarios import CASES, scenario_names

from sp_tasks.errors import DataFileError
from sp_tasks.model import LiveProcessor, LiveState
from sp_tasks.planning.plan import Action, Change, Plan, fingerprint, plan_from_json, plan_to_json
from sp_tasks.planning.planner import compute_plan
from sp_tasks.planning.render import render_markdown, render_text, summary_line
from sp_tasks.planning.snapshot_desired import desired_from_snapshot, live_from_snapshot

PIPELINE = [{"$source": {"connectionName": "s"}}, {"$match": {"x": 10}}, {"$merge": {"into": {"coll": "c"}}}]


def live(state="STARTED", stats=None, pipeline=PIPELINE):
    return LiveState(workspace={}, processors=(LiveProcessor("p", "id1", state, pipeline, None, "SP10", stats),))


def test_fingerprint_ignores_stats_and_number_types_but_not_state_or_definition():
    base = fingerprint(live(stats={"inputMessageCount": 1}))
    assert fingerprint(live(stats={"inputMessageCount": 99})) == base
    assert fingerprint(live(pipeline=[*PIPELINE[:1], {"$match": {"x": 10.0}}, PIPELINE[2]])) == base
    assert fingerprint(live(state="STOPPED")) != base
    assert fingerprint(live(pipeline=[*PIPELINE[:1], {"$match": {"x": 11}}, PIPELINE[2]])) != base


def _plan() -> Plan:
    change = Change("processor", "p", Action.STOP, before={"name": "p"}, desired_state="STOPPED", live_state="STARTED")
    return Plan("staging", "ws", "g", "2024-01-01T00:00:00Z", (change,), "abc")


def test_plan_json_is_versioned_and_round_trips():
    text = plan_to_json(_plan())
    doc = json.loads(text)
    assert doc["format_version"] == 1 and doc["summary"]["stop"] == 1
    assert plan_from_json(text) == _plan()


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", r"plans/x.json:1:2: malformed JSON"),
        ('{"format_version": 2}', "format_version 2"),
        ("[]", "format_version None"),
        ('{"format_version": 1, "changes": []}', "malformed plan"),
    ],
)
def test_malformed_plans_are_data_file_errors_naming_the_file(text, message):
    with pytest.raises(DataFileError, match=message) as err:
        plan_from_json(text, source="plans/x.json")
    assert str(err.value).startswith("plans/x.json")


@pytest.mark.parametrize("field, value", [("action", "explode"), ("kind", "workspace"), ("name", 3), ("before", [])])
def test_a_change_with_a_bad_field_is_refused(field, value):
    doc = json.loads(plan_to_json(_plan()))
    doc["changes"][0][field] = value
    with pytest.raises(DataFileError):
        plan_from_json(json.dumps(doc))


def test_snapshot_of_a_wrong_version_or_shape_is_a_data_file_error():
    with pytest.raises(DataFileError, match="format_version"):
        desired_from_snapshot({"format_version": 7})
    with pytest.raises(DataFileError, match="must be lists"):
        live_from_snapshot({"format_version": 1, "processors": {}, "connections": []})
    with pytest.raises(DataFileError, match="malformed"):
        desired_from_snapshot({"format_version": 1, "processors": [{"pipeline": []}], "connections": []})


@pytest.mark.parametrize("scenario", scenario_names())
def test_a_snapshot_planned_against_itself_is_all_no_op(scenario):
    snapshot = json.loads((CASES / scenario / "live.json").read_text())
    the_plan = compute_plan(
        desired_from_snapshot(snapshot), live_from_snapshot(snapshot),
        environment="e", workspace="w", project_id="g", default_tier="SP10", prune=True, exact=True,
    )
    assert not the_plan.has_changes(), [c for c in the_plan.changes if c.action is not Action.NOOP]


def test_snapshot_states_restore_running_processors_as_started_and_the_rest_stopped():
    docs = [{"name": n, "pipeline": [], "state": s} for n, s in (("a", "STARTED"), ("b", "FAILED"), ("c", "CREATED"))]
    desired = desired_from_snapshot({"format_version": 1, "processors": docs, "connections": []})
    assert [p.desired_state.value for p in desired.processors] == ["STARTED", "STOPPED", "STOPPED"]


def test_text_and_markdown_say_no_changes_with_the_summary():
    quiet = Plan("staging", "ws", "g", "", (), "abc")
    assert "No changes" in render_text(quiet) and summary_line(quiet) in render_text(quiet)
    assert "No changes" in render_markdown(quiet)


def test_markdown_escapes_table_cells_and_keeps_details():
    change = Change("processor", "p", Action.UPDATE_RESET, after={"pipeline": []}, consequence="a | b", reason="why")
    text = render_markdown(Plan("staging", "ws", "g", "", (change,), "abc"))
    assert "a \\| b" in text and "**update-reset**" in text and "<details>" in text
