"""ASP pipeline rules (reference §8) on plain data: each rule fires where it should, and only there."""
from __future__ import annotations

import copy

import pytest

from sp_tasks.atlas import unconfirmed
from sp_tasks.pipeline_rules import check_processor

TYPES = {"solarCluster": "Cluster", "eventsKafka": "Kafka", "enrich": "Https", "scorer": "AWSLambda",
         "registry": "SchemaRegistry", "clicks": "AWSKinesisDataStreams", "archive": "S3"}
SOURCE = {"$source": {"connectionName": "sample_stream_solar",
                      "timeField": {"$dateFromString": {"dateString": "$timestamp"}}}}
MERGE = {"$merge": {"into": {"connectionName": "solarCluster", "db": "solar", "coll": "out"}}}
WINDOW = {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"},
                              "pipeline": [{"$group": {"_id": "$group_id", "n": {"$sum": 1}}}]}}
DLQ = {"dlq": {"connectionName": "solarCluster", "db": "solar", "coll": "dlq"}}


def check(*stages, options=None, tier=None, types=TYPES):
    return check_processor("p", list(stages), options, connection_types=types, tier=tier)


def rules(*stages, **kwargs):
    return {(p.rule, p.pointer) for p in check(*stages, **kwargs)}


def test_canonical_solar_pipelines_have_no_problems():
    assert check(SOURCE, {"$match": {"obs.watts": {"$gt": 100}}}, WINDOW, MERGE, options=DLQ, tier="SP2") == []
    emit = {"$emit": {"connectionName": "eventsKafka", "topic": "hot", "config": {"acks": "all"}}}
    assert check(SOURCE, {"$project": {"_id": 0}}, emit) == []
    assert check(SOURCE, {"$emit": {"connectionName": "__testLog"}}) == []


def test_source_must_come_first_and_only_once():
    assert ("source-first", "/pipeline/0") in rules({"$match": {}}, SOURCE, MERGE)
    assert rules(SOURCE, SOURCE, MERGE) == {("source-once", "/pipeline/1")}


def test_pipeline_must_end_in_a_sink_and_sinks_must_be_last():
    assert rules(SOURCE, {"$match": {}}) == {("sink-missing", "/pipeline/1")}
    assert rules(SOURCE, MERGE, {"$project": {"a": 1}}) == {("sink-not-last", "/pipeline/1"),
                                                           ("sink-missing", "/pipeline/2")}


def test_terminal_external_function_is_a_sink_and_may_omit_as():
    call = {"$externalFunction": {"connectionName": "scorer", "functionName": "arn:aws:lambda:f"}}
    assert check(SOURCE, call) == []
    assert ("required-field", "/pipeline/1/$externalFunction/as") in rules(SOURCE, call, MERGE)


def test_https_is_not_a_terminal_sink():
    assert unconfirmed.HTTPS_TERMINAL_SINK is False
    https = {"$https": {"connectionName": "enrich", "as": "r"}}
    assert rules(SOURCE, https) == {("sink-missing", "/pipeline/1")}


def test_at_most_one_window():
    assert rules(SOURCE, WINDOW, WINDOW, MERGE) == {("window-count", "/pipeline/2")}


@pytest.mark.parametrize("stage", [{"$group": {"_id": 1}}, {"$sort": {"a": 1}}, {"$limit": 5}, {"$count": "n"}])
def test_blocking_stages_only_inside_windows(stage):
    assert rules(SOURCE, stage, MERGE) == {("window-only-stage", "/pipeline/1")}
    window = {"$tumblingWindow": {"interval": {"size": 1, "unit": "minute"}, "pipeline": [stage]}}
    assert check(SOURCE, window, MERGE) == []


def test_placement_matrix_inside_windows_and_payloads():
    window = {"$hoppingWindow": {"interval": {"size": 1, "unit": "minute"}, "hopSize": {"size": 30, "unit": "second"},
                                 "pipeline": [{"$cachedLookup": {}}, MERGE]}}
    assert rules(SOURCE, window, MERGE) == {("stage-placement", "/pipeline/1/$hoppingWindow/pipeline/0"),
                                            ("stage-placement", "/pipeline/1/$hoppingWindow/pipeline/1")}
    https = {"$https": {"connectionName": "enrich", "as": "r", "payload": [{"$project": {"a": 1}}, {"$match": {}}]}}
    assert rules(SOURCE, https, MERGE) == {("stage-placement", "/pipeline/1/$https/payload/1")}


def test_unsupported_and_unknown_stages_are_named():
    found = check(SOURCE, {"$out": "x"}, {"$mtach": {}}, MERGE)
    assert {(p.rule, p.pointer) for p in found} == {("unsupported-stage", "/pipeline/1"), ("unknown-stage", "/pipeline/2")}
    assert "did you mean $match" in found[1].message


@pytest.mark.parametrize("variable", ["$$NOW", "$$CLUSTER_TIME", "$$USER_ROLES", "$$SEARCH_META"])
def test_unsupported_variables_anywhere(variable):
    stage = {"$addFields": {"deep": {"list": [1, {"$concat": ["x", variable]}]}}}
    assert rules(SOURCE, stage, MERGE) == {("unsupported-variable", "/pipeline/1/$addFields/deep/list/1/$concat/1")}


def test_root_variable_is_allowed():
    assert check(SOURCE, {"$replaceRoot": {"newRoot": "$$ROOT"}}, MERGE) == []


def test_merge_requires_into_fields_and_rejects_topic():
    merge = {"$merge": {"into": {"connectionName": "solarCluster"}, "topic": "t"}}
    assert rules(SOURCE, merge) == {("merge-topic", "/pipeline/1/$merge/topic"),
                                    ("required-field", "/pipeline/1/$merge/into/db"),
                                    ("required-field", "/pipeline/1/$merge/into/coll")}


def test_unknown_field_in_an_asp_stage_suggests_the_spelling():
    window = copy.deepcopy(WINDOW)
    window["$tumblingWindow"]["intervall"] = window["$tumblingWindow"].pop("interval")
    found = check(SOURCE, window, MERGE)
    assert {(p.rule, p.pointer) for p in found} == {("unknown-field", "/pipeline/1/$tumblingWindow/intervall"),
                                                    ("required-field", "/pipeline/1/$tumblingWindow/interval")}
    assert 'did you mean "interval"' in found[0].message


@pytest.mark.parametrize("duration", [{"size": 10}, {"size": 10, "unit": "seconds"}, {"size": -1, "unit": "ms"}, "10s"])
def test_durations_need_positive_size_and_known_unit(duration):
    window = {"$tumblingWindow": {"interval": duration, "pipeline": []}}
    assert rules(SOURCE, window, MERGE) == {("duration", "/pipeline/1/$tumblingWindow/interval")}


def test_session_window_needs_partition_by_and_gap():
    window = {"$sessionWindow": {"pipeline": []}}
    assert rules(SOURCE, window, MERGE) == {("required-field", "/pipeline/1/$sessionWindow/gap"),
                                            ("required-field", "/pipeline/1/$sessionWindow/partitionBy")}


def test_processing_time_windows_take_no_lateness():
    window = {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"}, "boundary": "processingTime",
                                  "allowedLateness": 0, "pipeline": []}}
    assert rules(SOURCE, window, MERGE) == {("window-boundary", "/pipeline/1/$tumblingWindow/allowedLateness")}


def test_connection_must_exist_and_fit_the_stage():
    found = check({"$source": {"connectionName": "solarClustr"}}, MERGE)
    assert [(p.rule, p.message.endswith('did you mean "solarCluster"?')) for p in found] == [("unknown-connection", True)]
    assert rules({"$source": {"connectionName": "enrich"}}, MERGE) == {
        ("connection-type", "/pipeline/0/$source/connectionName")}
    emit = {"$emit": {"connectionName": "solarCluster", "db": "d", "coll": "c"}}
    assert rules(SOURCE, emit) == {("required-field", "/pipeline/1/$emit/timeseries")}
    lookup = {"$lookup": {"from": {"connectionName": "eventsKafka", "db": "d", "coll": "c"}, "as": "x",
                          "localField": "a", "foreignField": "b"}}
    assert rules(SOURCE, lookup, MERGE) == {("connection-type", "/pipeline/1/$lookup/from/connectionName")}


def test_source_variants_need_their_fields():
    assert rules({"$source": {"connectionName": "eventsKafka"}}, MERGE) == {
        ("required-field", "/pipeline/0/$source/topic")}
    assert rules({"$source": {"connectionName": "clicks"}}, MERGE) == {("required-field", "/pipeline/0/$source/stream")}
    assert check({"$source": {"documents": [{"a": 1}]}}, MERGE) == []
    assert rules({"$source": {"connectionName": "sample_stream_solar", "timeField": "timestamp"}}, MERGE) == {
        ("field-type", "/pipeline/0/$source/timeField")}


def test_https_and_validate_required_fields():
    assert rules(SOURCE, {"$https": {"connectionName": "enrich"}}, MERGE) == {("required-field", "/pipeline/1/$https/as")}
    assert rules(SOURCE, {"$validate": {"validationAction": "dlq"}}, MERGE) == {
        ("required-field", "/pipeline/1/$validate/validator")}


def test_dlq_must_be_a_complete_cluster_connection():
    assert rules(SOURCE, MERGE, options={"dlq": {"connectionName": "eventsKafka", "db": "d", "coll": "c"}}) == {
        ("connection-type", "/options/dlq/connectionName")}
    assert rules(SOURCE, MERGE, options={"dlq": {"connectionName": "solarCluster"}}) == {
        ("required-field", "/options/dlq/db"), ("required-field", "/options/dlq/coll")}
    assert check(SOURCE, MERGE, options={"dlq": {}, "resumeFromCheckpoint": False}) == []  # modify: remove DLQ


def test_parallelism_over_the_tier_names_the_minimum_tier():
    source = {"$source": {"connectionName": "solarCluster", "db": "d", "initialSync": {"enable": False, "parallelism": 4}}}
    merge = {"$merge": {**MERGE["$merge"], "parallelism": 2}}
    found = check(source, merge, tier="SP5")
    assert [(p.rule, p.pointer) for p in found] == [("parallelism-tier", "/pipeline/0/$source/initialSync/parallelism")]
    assert "(Requested: 4, Limit: 2)" in found[0].message and "SP10 or larger" in found[0].message
    assert check(source, merge, tier="SP10") == [] and check(source, merge) == []


def test_parallelism_values_must_be_valid():
    assert rules(SOURCE, {"$merge": {**MERGE["$merge"], "parallelism": 0}}) == {
        ("parallelism", "/pipeline/1/$merge/parallelism")}
    assert ("parallelism-tier", "/pipeline/1/$lookup/parallelism") in rules(
        SOURCE, {"$lookup": {"from": {"connectionName": "solarCluster", "db": "d", "coll": "c"}, "as": "x",
                             "pipeline": [], "parallelism": 64}}, {"$merge": {**MERGE["$merge"], "parallelism": 64}})


def test_builtins_are_added_and_a_bad_pipeline_is_one_problem():
    assert check(SOURCE, {"$emit": {"connectionName": "__testLog"}}, types={}) == []
    assert [p.rule for p in check_processor("p", [], None, connection_types={})] == ["pipeline-shape"]
    assert [p.rule for p in check_processor("p", {"$source": {}}, None, connection_types={})] == ["pipeline-shape"]


def test_malformed_stage_documents_are_reported_not_crashed_on():
    assert rules(SOURCE, {"$match": {}, "$project": {}}, "x", MERGE) == {("stage-shape", "/pipeline/1"),
                                                                      ("stage-shape", "/pipeline/2")}
    assert rules(SOURCE, {"$merge": "solar.out"}) == {("field-type", "/pipeline/1/$merge")}


def test_shared_field_checks_work_on_their_own_and_the_stage_rule_modules_stay_small():
    from pathlib import Path

    from sp_tasks import stage_findings, stage_rules

    found = stage_findings.Findings({"solarCluster": "Cluster"})
    body = {"intervall": 1, "gap": {"size": 0, "unit": "second"}, "connectionName": "solarCluster"}
    assert not found.require(body, ["interval"], "/w", "$w")
    found.known(body, {"interval", "gap", "connectionName"}, "/w", "$w")
    found.duration(body, "gap", "/w", "$w")
    assert found.connection(body, "/w", "$w", ("Kafka",)) == "Cluster"
    assert [(p.rule, p.pointer) for p in found.problems] == [
        ("required-field", "/w/interval"), ("unknown-field", "/w/intervall"), ("duration", "/w/gap"),
        ("connection-type", "/w/connectionName")]
    assert 'did you mean "interval"?' in found.problems[1].message
    assert stage_rules.Findings is stage_findings.Findings  # what pipeline_rules builds and passes in
    for module in (stage_rules, stage_findings):  # CONTRIBUTING: modules of 80–300 lines
        assert 80 <= len(Path(module.__file__).read_text(encoding="utf-8").splitlines()) <= 300
