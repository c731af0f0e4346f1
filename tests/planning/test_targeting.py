"""--processor NAME as a pure filter: only those processors, their copies and the connections they use."""
from __future__ import annotations

import pytest

from sp_tasks.errors import ConfigError
from sp_tasks.model import ConnectionSpec, DesiredState, LiveConnection, LiveProcessor, LiveState, ProcessorSpec
from sp_tasks.planning.planner import compute_plan
from sp_tasks.planning.targeting import check_defined, check_known, describe, select


def pipeline(source, sink):
    return [{"$source": {"connectionName": source}}, {"$merge": {"into": {"connectionName": sink, "db": "d", "coll": "c"}}}]


DESIRED = DesiredState(
    processors=(ProcessorSpec("a", pipeline("kafka", "cluster")), ProcessorSpec("b", pipeline("sample_stream_solar", "cluster")),
                ProcessorSpec("c", pipeline("kafka", "other"))),
    connections=(ConnectionSpec("kafka", "Kafka", {"name": "kafka", "type": "Kafka"}),
                 ConnectionSpec("cluster", "Cluster", {"name": "cluster", "type": "Cluster", "clusterName": "C0"}),
                 ConnectionSpec("other", "Cluster", {"name": "other", "type": "Cluster", "clusterName": "C1"})))


def live_processor(name, pipe, state="STARTED"):
    return LiveProcessor(name, f"id-{name}", state, pipe, tier="SP10")


LIVE = LiveState(
    workspace={"name": "ws"},
    processors=(live_processor("a", pipeline("kafka", "cluster")), live_processor("a__blue", pipeline("kafka", "cluster"), "STOPPED"),
                live_processor("c", pipeline("kafka", "other")), live_processor("unmanaged", pipeline("kafka", "other"))),
    connections=(LiveConnection("kafka", "Kafka", {"name": "kafka", "type": "Kafka"}),
                 LiveConnection("other", "Cluster", {"name": "other", "type": "Cluster", "clusterName": "C1"}),
                 LiveConnection("sample_stream_solar", "Sample", {"name": "sample_stream_solar", "type": "Sample"})))


def test_keeps_the_targets_their_copies_and_the_connections_they_use():
    chosen = select(DESIRED, LIVE, ["a"])
    assert [p.name for p in chosen.desired.processors] == ["a"]
    assert [c.name for c in chosen.desired.connections] == ["kafka", "cluster"]
    assert [p.name for p in chosen.live.processors] == ["a", "a__blue"]
    assert [c.name for c in chosen.live.connections] == ["kafka"]
    assert chosen.untouched_processors == ("b", "c", "unmanaged")
    assert chosen.untouched_connections == ("other", "sample_stream_solar")


def test_a_built_in_source_counts_as_a_connection_the_target_needs():
    chosen = select(DESIRED, LIVE, ["b"])
    assert [c.name for c in chosen.live.connections] == ["sample_stream_solar"]


def test_the_plan_of_a_selection_never_touches_the_rest_even_with_prune():
    chosen = select(DESIRED, LIVE, ["c", "unmanaged"])
    plan = compute_plan(chosen.desired, chosen.live, environment="e", workspace="ws", project_id="p",
                        default_tier="SP10", prune=True)
    touched = {(c.kind, c.name): c.action.value for c in plan.changes}
    assert touched == {("processor", "c"): "no-op", ("processor", "unmanaged"): "delete",
                       ("connection", "kafka"): "no-op", ("connection", "other"): "no-op"}


@pytest.mark.parametrize("name, hint", [("aa", "did you mean a?"), ("zzz", "known: a, b, c, unmanaged")])
def test_an_unknown_name_is_refused_with_the_closest_known_one(name, hint):
    with pytest.raises(ConfigError, match=f"--processor {name}: no such processor.*{hint}"):
        check_known(["a", name], DESIRED, LIVE)


def test_offline_only_git_names_count():
    check_defined(["a", "b"], DESIRED)
    with pytest.raises(ConfigError, match="unmanaged: no such processor defined in processors/"):
        check_defined(["unmanaged"], DESIRED)


def test_copies_are_not_names_of_their_own():
    with pytest.raises(ConfigError, match="a__blue"):
        check_known(["a__blue"], DESIRED, LIVE)


def test_a_name_gone_from_both_sides_selects_nothing():
    """After a targeted prune the re-check plans the same target again: nothing left, nothing else touched."""
    chosen = select(DESIRED, LIVE, ["gone"])
    assert not chosen.desired.processors and not chosen.live.processors and not chosen.live.connections


def test_describe_names_what_was_left_alone():
    assert describe(["a"], ["b", "c"], ["other"]) == ("Targeted: a (with the connections they use). Left untouched: "
                                                      "2 processor(s) (b, c) and 1 connection(s) (other).")
