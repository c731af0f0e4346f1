"""SINK_SUFFIX: a feature environment's processors write to databases and topics of their own (pure,
and through load_desired / validation / plan as `invoke validate|plan --env NAME` see them)."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from sp_tasks.desired import load_desired, load_project
from sp_tasks.errors import InvalidEnvironment, ValidationFailed
from sp_tasks.feature import derive
from sp_tasks.feature.isolation import RULE, isolate, written
from sp_tasks.planning.plan import plan_from_json, plan_to_json
from sp_tasks.planning.planner import compute_plan
from sp_tasks.planning.render import render_markdown, render_text
from sp_tasks.model import LiveState
from sp_tasks.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
SUFFIX = "_feature_demo"


def _merge(name, db="solar", coll="out", source=None, **extra):
    return {"name": name, "pipeline": [source or {"$source": {"connectionName": "sample_stream_solar"}},
                                       {"$merge": {"into": {"connectionName": "cluster", "db": db, "coll": coll}}}],
            **extra}


def _one(doc, chained=None):
    return isolate(doc, SUFFIX, written(doc) if chained is None else chained)


def test_merge_dlq_and_kafka_topic_get_the_suffix_and_the_input_is_not_changed():
    doc = _merge("m", options={"dlq": {"connectionName": "cluster", "db": "solar", "coll": "dlq"}})
    out, renames, problems = _one(doc)
    assert out["pipeline"][1]["$merge"]["into"] == {"connectionName": "cluster", "db": "solar_feature_demo", "coll": "out"}
    assert out["options"]["dlq"]["db"] == "solar_feature_demo" and doc["options"]["dlq"]["db"] == "solar"
    assert [(r.pointer, r.before, r.after) for r in renames] == [
        ("/pipeline/1/$merge/into/db", "solar", "solar_feature_demo"), ("/options/dlq/db", "solar", "solar_feature_demo")]
    emit = {"name": "k", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                      {"$emit": {"connectionName": "kafka", "topic": "hot", "config": {"acks": "all"}}}]}
    out, renames, problems = _one(emit)
    assert out["pipeline"][1]["$emit"]["topic"] == "hot_feature_demo" and not problems
    assert renames[0].connection == "kafka"


def test_time_series_emit_gets_its_own_database_and_test_log_is_left_alone():
    ts = {"name": "t", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                    {"$emit": {"connectionName": "cluster", "db": "metrics", "coll": "ts",
                                               "timeseries": {"timeField": "ts"}}}]}
    assert _one(ts)[0]["pipeline"][1]["$emit"]["db"] == "metrics_feature_demo"
    log = {"name": "l", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                     {"$emit": {"connectionName": "__testLog"}}]}
    out, renames, problems = _one(log)
    assert out == log and renames == [] and problems == []


def test_a_chain_reads_its_own_output_and_a_kafka_consumer_group_is_its_own():
    first = _merge("first", coll="stage1")
    reads_it = _merge("second", coll="stage2", source={"$source": {"connectionName": "cluster", "db": "solar",
                                                                   "coll": "stage1"}})
    reads_base = _merge("third", coll="stage3", source={"$source": {"connectionName": "cluster", "db": "solar",
                                                                    "coll": "orders"}})
    emits = {"name": "e", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                       {"$emit": {"connectionName": "kafka", "topic": "t1"}}]}
    consumes = _merge("c", coll="c", source={"$source": {"connectionName": "kafka", "topic": ["t1", "external"],
                                                         "config": {"group_id": "g"}}})
    chained = set().union(*map(written, (first, reads_it, reads_base, emits, consumes)))
    assert _one(reads_it, chained)[0]["pipeline"][0]["$source"]["db"] == "solar_feature_demo"
    assert _one(reads_base, chained)[0]["pipeline"][0]["$source"]["db"] == "solar"  # reading the base is not writing
    source = _one(consumes, chained)[0]["pipeline"][0]["$source"]
    assert source["topic"] == ["t1_feature_demo", "external"] and source["config"]["group_id"] == "g_feature_demo"


@pytest.mark.parametrize("sink, pointer", [
    ({"$emit": {"connectionName": "s3", "bucket": "b", "path": "p"}}, "/pipeline/1/$emit"),
    ({"$emit": {"connectionName": "kinesis", "stream": "s"}}, "/pipeline/1/$emit"),
    ({"$merge": {"into": {"connectionName": "cluster", "db": "$tenant", "coll": "c"}}}, "/pipeline/1/$merge/into/db"),
    ({"$emit": {"connectionName": "kafka", "topic": {"$concat": ["a", "$b"]}}}, "/pipeline/1/$emit/topic"),
    ({"$externalFunction": {"connectionName": "lambda", "functionName": "f"}}, "/pipeline/1/$externalFunction"),
    ({"$merge": {"into": {"connectionName": "cluster", "db": "d" * 60, "coll": "c"}}}, "/pipeline/1/$merge/into/db"),
])
def test_a_sink_that_cannot_be_isolated_is_a_problem_at_its_place_never_shared_silently(sink, pointer):
    doc = {"name": "x", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}}, sink]}
    _, _, problems = _one(doc)
    assert [(p.pointer, p.rule) for p in problems] == [(pointer, RULE)]
    assert "processor x" in problems[0].message and ("SINK_SUFFIX" in problems[0].message)


@pytest.fixture
def repo_copy(tmp_path):
    for folder in ("processors", "connections", "environments"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def test_derived_environment_validates_and_plans_with_its_own_sinks(repo_copy):
    env = derive.derive(repo_copy, "feature/demo", base="local")
    settings = load_settings(env.name, repo_copy, {})
    assert settings.sink_suffix == SUFFIX
    desired = load_desired(settings)  # the repo's own processors: every sink can be isolated
    sinks = {(r.processor, r.pointer): r.after for r in desired.sinks}
    assert sinks == {
        ("solarEventsToKafka", "/pipeline/3/$emit/topic"): "solar-hot-panels_feature_demo",
        ("solarGroupStats", "/pipeline/3/$merge/into/db"): "solar_feature_demo",
        ("solarHighOutput", "/pipeline/4/$merge/into/db"): "solar_feature_demo",
        ("solarValidated", "/pipeline/2/$merge/into/db"): "solar_feature_demo",
        ("solarValidated", "/options/dlq/db"): "solar_feature_demo"}
    base = load_desired(load_settings("local", repo_copy, {}))
    assert base.sinks == () and base.processor("solarGroupStats").pipeline[-1]["$merge"]["into"]["db"] == "solar"
    plan = compute_plan(desired, LiveState(workspace=None), environment="demo", workspace="feature-demo", project_id="p",
                        default_tier="SP10")
    plan = replace(plan, sinks=tuple(r.to_json() for r in desired.sinks))  # as Runner.plan does
    text = render_text(plan)
    assert "Own sinks (SINK_SUFFIX)" in text
    assert "solarGroupStats: $merge.into.db solar → solar_feature_demo (solarCluster)" in text
    assert "options.dlq.db solar → solar_feature_demo" in render_markdown(plan)
    after = {c.name: c.after for c in plan.changes if c.kind == "processor"}
    assert after["solarEventsToKafka"]["pipeline"][-1]["$emit"]["topic"] == "solar-hot-panels_feature_demo"
    assert plan_from_json(plan_to_json(plan)) == plan  # a saved plan (deploy --plan) keeps them
    assert "sinks" not in json.loads(plan_to_json(replace(plan, sinks=())))


def test_validation_names_file_line_and_fix_for_a_sink_that_cannot_be_isolated(repo_copy):
    s3 = {"name": "toS3", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                       {"$emit": {"connectionName": "solarCluster", "bucket": "b", "path": "p"}}]}
    (repo_copy / "processors" / "toS3.json").write_text(json.dumps(s3, indent=2))
    env = derive.derive(repo_copy, "demo", base="local")
    with pytest.raises(ValidationFailed) as caught:
        load_desired(load_settings(env.name, repo_copy, {}))
    found = [d for d in caught.value.diagnostics if d.rule == RULE]
    assert [(d.file, d.pointer, d.line) for d in found] == [("processors/toS3.json", "/pipeline/1/$emit", 10)]
    base = {f.path: f for f in load_project(load_settings("local", repo_copy, {})).files}
    assert base["processors/toS3.json"].problems == ()  # the base has no SINK_SUFFIX: nothing to isolate


def test_sink_suffix_is_checked_and_kept_short_for_long_names(repo_copy):
    config = repo_copy / "environments" / "local" / "config.env"
    config.write_text(config.read_text() + "SINK_SUFFIX=_bad.suffix\n")
    with pytest.raises(InvalidEnvironment, match="SINK_SUFFIX '_bad.suffix' must be letters, digits"):
        load_settings("local", repo_copy, {})
    long_one, long_two = derive.sink_suffix("a" * 50 + "-one"), derive.sink_suffix("a" * 50 + "-two")
    assert long_one != long_two and len(long_one) <= 29 and long_one.startswith("_feature_aaaaaaaaaaaaa-")
    assert derive.sink_suffix("demo") == SUFFIX


# -- what destroy removes, and what it says it leaves on Atlas ----------------------------------------
def _live():
    from sp_tasks.model import LiveConnection, LiveProcessor

    merge = _merge("m", db="solar_feature_demo", options={"dlq": {"connectionName": "cluster", "db": "err_feature_demo",
                                                                   "coll": "d"}})
    by_hand = _merge("by_hand", db="solar")  # pointed at the base's database by hand: never dropped
    emit = {"name": "e", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                      {"$emit": {"connectionName": "kafka", "topic": "t_feature_demo"}}]}
    log = {"name": "l", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                     {"$emit": {"connectionName": "__testLog"}}]}
    processors = tuple(LiveProcessor(d["name"], f"id-{d['name']}", "STARTED", d["pipeline"], d.get("options"))
                       for d in (merge, by_hand, emit, log))
    connections = (LiveConnection("cluster", "Cluster", {"name": "cluster", "clusterName": "C0"}),
                   LiveConnection("kafka", "Kafka", {"name": "kafka", "bootstrapServers": "b:9092"}))
    return LiveState(workspace={"name": "feature-demo"}, processors=processors, connections=connections)


def test_destroy_lists_only_suffixed_data_and_on_atlas_says_what_is_left_and_how_to_drop_it():
    from types import SimpleNamespace

    from sp_tasks.feature import sinkdata, teardown

    live = _live()
    data = sinkdata.written_data(live.processors, live.connections, SUFFIX)
    assert [(d.kind, d.where, d.name) for d in data] == [
        ("database", "C0", "err_feature_demo"), ("database", "C0", "solar_feature_demo"),
        ("topic", "b:9092", "t_feature_demo")]  # not the base's "solar" (by_hand), not __testLog (goes with "l")
    atlas = SimpleNamespace(is_emulator=False, project_id="p", sink_suffix=SUFFIX)
    client = SimpleNamespace(transport=SimpleNamespace(base_url="https://cloud.mongodb.com"))
    removed, left = sinkdata.remove_data(atlas, client, data)  # no request: Atlas has no call that drops them
    assert removed == []
    assert [d.kind for d in left] == ["database", "database", "topic"]
    out = teardown.Teardown("demo", "feature-demo", suffix=SUFFIX, data=tuple(data), data_left=tuple(left),
                            on_emulator=False)
    text = teardown._left_lines(out)
    assert "names end in _feature_demo" in text
    assert "db.getSiblingDB(\"solar_feature_demo\").dropDatabase()" in text
    assert "kafka-topics.sh --bootstrap-server b:9092 --delete --topic t_feature_demo" in text
    assert [d["drop_with"].split()[0] for d in out.to_json()["data_left"]] == ["mongosh", "mongosh", "kafka-topics.sh"]


def test_the_emulator_sweep_takes_every_name_with_the_suffix_and_nothing_else():
    from sp_tasks.feature.sinkdata import swept

    listing = {"collections": [["C0", "solar", "a", 1], ["C0", "solar_feature_demo", "a", 2],
                               ["C0", "solar_feature_demo", "b", 2], ["C1", "x_feature_demo", "c", 1],
                               ["C0", "solar_feature_demo2", "a", 1]],
               "topics": [["b:9092", "t", 3], ["b:9092", "old_feature_demo", 1]]}
    assert [(d.kind, d.where, d.name) for d in swept(listing, SUFFIX)] == [
        ("database", "C0", "solar_feature_demo"), ("database", "C1", "x_feature_demo"),
        ("topic", "b:9092", "old_feature_demo")]
    assert swept(listing, "") == []
