"""compute_plan classification rules on small hand-made states."""
from __future__ import annotations

import pytest

from sp_tasks.errors import ConfigError
from sp_tasks.model import (
    ConnectionSpec,
    DesiredState,
    LiveConnection,
    LiveProcessor,
    LiveState,
    ProcessorSpec,
    ProcessorState,
)
from sp_tasks.planning.plan import Action
from sp_tasks.planning.planner import compute_plan
from sp_tasks.planning.processors import reset_reason

SOURCE = {"$source": {"connectionName": "sample_stream_solar"}}
SINK = {"$merge": {"into": {"connectionName": "main", "db": "d", "coll": "c"}}}
GROUP = {"$group": {"_id": "$g", "n": {"$sum": 1}}}


def window(kind="$tumblingWindow", size=10, inner=(GROUP,)):
    return {kind: {"interval": {"size": size, "unit": "second"}, "pipeline": list(inner)}}


def spec(name="p", pipeline=(SOURCE, SINK), state="STARTED", **kw):
    return ProcessorSpec(name=name, pipeline=list(pipeline), desired_state=ProcessorState(state), **kw)


def live_proc(name="p", pipeline=(SOURCE, SINK), state="STARTED", tier="SP10", **kw):
    return LiveProcessor(name=name, id="id-" + name, state=state, pipeline=list(pipeline), tier=tier, **kw)


def plan(processors=(), live=(), connections=(), live_connections=(), **kw):
    kw.setdefault("default_tier", "SP10")
    desired = DesiredState(processors=tuple(processors), connections=tuple(connections))
    state = LiveState(workspace={}, processors=tuple(live), connections=tuple(live_connections))
    return compute_plan(desired, state, environment="e", workspace="w", project_id="g", **kw)


def actions(the_plan):
    return [(c.kind, c.name, c.action) for c in the_plan.changes]


@pytest.mark.parametrize(
    "before, after, expected",
    [
        ([SOURCE, window(), SINK], [SOURCE, window(size=30), SINK], "window interval changed"),
        ([SOURCE, window(), SINK], [SOURCE, window("$sessionWindow"), SINK], "window type changed"),
        ([SOURCE, window(), SINK], [SOURCE, SINK], "window $tumblingWindow removed"),
        ([SOURCE, window(inner=[{"$project": {"a": 1}}]), SINK],
         [SOURCE, window(inner=[{"$project": {"b": 1}}]), SINK], "has no $group or $sort"),
        ([SOURCE, SINK], [{"$source": {"connectionName": "k", "topic": "t"}}, SINK], "$source changed"),
    ],
)
def test_changes_that_need_a_checkpoint_reset(before, after, expected):
    assert expected in reset_reason(before, after, None)


def test_changes_that_keep_the_checkpoint():
    match = {"$match": {"a": 1}}
    assert reset_reason([SOURCE, window(), SINK], [SOURCE, match, window(), SINK], None) == ""
    assert reset_reason([SOURCE, SINK], [SOURCE, match, window(), SINK], None) == ""
    assert reset_reason([SOURCE, SINK], [SOURCE, SINK], {"resumeFromCheckpoint": False}) == ""
    assert "processor file" in reset_reason([SOURCE, SINK], [SOURCE, match, SINK], {"resumeFromCheckpoint": False})


def test_definition_change_on_a_stopped_processor_that_stays_stopped_has_no_stop_window():
    changed = spec(pipeline=(SOURCE, {"$match": {"a": 1}}, SINK), state="STOPPED")
    change = plan([changed], [live_proc(state="STOPPED")]).changes[0]
    assert change.action is Action.UPDATE and change.stop_window == "" and "stays stopped" in change.consequence


def test_failed_processor_git_wants_stopped_is_left_alone_with_a_reason():
    change = plan([spec(state="STOPPED")], [live_proc(state="FAILED")]).changes[0]
    assert change.action is Action.NOOP and "FAILED" in change.reason


def test_created_processor_git_wants_stopped_is_in_sync():
    assert plan([spec(state="STOPPED")], [live_proc(state="CREATED")]).changes[0].action is Action.NOOP


def test_live_tier_not_reported_is_not_compared_but_a_reported_one_is():
    assert plan([spec(tier="SP30")], [live_proc(tier=None)]).changes[0].action is Action.NOOP
    change = plan([spec(tier="SP30")], [live_proc(tier="SP10")]).changes[0]
    assert change.action is Action.UPDATE and [f.path for f in change.fields] == ["/tier"]


def test_tier_comes_from_the_file_then_the_resolver_then_the_default():
    specs = [spec("a", tier="SP5"), spec("b", tier="auto"), spec("c")]
    tiers = {c.name: c.tier for c in plan(specs, resolve_tier={"b": "SP30"}).changes}
    assert tiers == {"a": "SP5", "b": "SP30", "c": "SP10"}
    tiers = {c.name: c.tier for c in plan(specs, resolve_tier=lambda s: "SP50").changes}
    assert tiers == {"a": "SP5", "b": "SP50", "c": "SP50"}


def test_unresolved_auto_tier_is_a_config_error_naming_the_processor():
    with pytest.raises(ConfigError, match="processor p .*'auto'"):
        plan([spec()], default_tier="auto")


def test_exact_plans_delete_deploy_copies_that_are_not_in_the_snapshot():
    copies = [live_proc("p__blue", state="STOPPED"), live_proc("p__canary")]
    pruned = plan([spec()], [live_proc(), *copies], prune=True)
    assert [(c.name, c.action, c.repair) for c in pruned.changes if c.action is not Action.NOOP] == [
        ("p__canary", Action.DELETE, True)  # a leftover copy; the kept rollback target p__blue is never pruned
    ]
    exact = plan([spec()], [live_proc(), *copies], exact=True)
    assert [(c.name, c.action) for c in exact.changes if c.action is not Action.NOOP] == [
        ("p__blue", Action.DELETE), ("p__canary", Action.DELETE)
    ]


def test_changes_are_ordered_connections_processors_then_deletes_processors_before_connections():
    the_plan = plan(
        [spec("b"), spec("a")],
        [live_proc("z")],
        connections=[ConnectionSpec("main", "Cluster", {"clusterName": "C"})],
        live_connections=[LiveConnection("old", "Cluster", {"name": "old", "type": "Cluster"})],
        prune=True,
    )
    assert actions(the_plan) == [
        ("connection", "main", Action.CREATE),
        ("processor", "a", Action.CREATE),
        ("processor", "b", Action.CREATE),
        ("processor", "z", Action.DELETE),
        ("connection", "old", Action.DELETE),
    ]


def kafka(password="s1", servers="b1:9092"):
    body = {"name": "k", "type": "Kafka", "bootstrapServers": servers,
            "authentication": {"mechanism": "PLAIN", "username": "u", "password": password}}
    return ConnectionSpec("k", "Kafka", body, secret_paths=("/authentication/password",))


def live_kafka(servers="b1:9092", **extra):
    body = {"id": "1", "name": "k", "type": "Kafka", "bootstrapServers": servers, "state": "READY",
            "authentication": {"mechanism": "PLAIN", "username": "u"}, **extra}
    return LiveConnection.from_api(body)


def test_secrets_are_sent_again_only_when_rotation_is_asked_and_never_shown():
    assert plan(connections=[kafka("new-pw")], live_connections=[live_kafka()]).changes[0].action is Action.NOOP
    change = plan(connections=[kafka("new-pw")], live_connections=[live_kafka()], rotate_secrets=True).changes[0]
    assert change.action is Action.UPDATE and change.secret_paths == ("/authentication/password",)
    assert "new-pw" not in repr(change)


def test_networking_change_replaces_a_connection_and_names_its_users():
    the_plan = plan(
        [spec(pipeline=({"$source": {"connectionName": "k", "topic": "t"}}, SINK))],
        [live_proc(pipeline=({"$source": {"connectionName": "k", "topic": "t"}}, SINK))],
        connections=[kafka()],
        live_connections=[live_kafka(networking={"access": {"type": "PRIVATE_LINK", "connectionId": "x"}})],
    )
    change = the_plan.changes[0]
    assert change.action is Action.REPLACE and change.consequence.endswith(": p")


def test_connections_still_used_or_built_in_are_never_pruned():
    used = plan(
        [spec(pipeline=(SOURCE, {"$merge": {"into": {"connectionName": "old", "db": "d", "coll": "c"}}}))],
        [live_proc()],
        live_connections=[LiveConnection("old", "Cluster", {}), LiveConnection("sample_stream_solar", "Sample", {})],
        prune=True,
    )
    assert {c.name: c.action for c in used.changes if c.kind == "connection"} == {
        "old": Action.NOOP, "sample_stream_solar": Action.NOOP
    }


def test_plan_reports_changes_and_destructiveness_in_one_place():
    quiet = plan([spec()], [live_proc()])
    assert not quiet.has_changes() and not quiet.is_destructive()
    assert plan([spec()], [live_proc("x")], prune=True).is_destructive()
    assert plan([spec()], []).summary()["create"] == 1
