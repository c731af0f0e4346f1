"""Stages between source and sink: bad documents, DLQ shape, $validate, $lookup, $https, processor errors."""
from __future__ import annotations

from datetime import datetime

import pytest

from sp_tasks.emulator.engine import extjson
from sp_tasks.emulator.engine.harness import CLUSTER, Harness
from sp_tasks.errors import SpTasksError

DLQ = {"dlq": {"connectionName": "atlas", "db": "db", "coll": "dlq"}}
SINK = {"$merge": {"into": {"connectionName": "atlas", "db": "db", "coll": "out"}}}


def run(stages: list[dict], docs: list[dict], options: dict | None = DLQ, **kwargs) -> Harness:
    h = Harness([{"$source": {"documents": docs}}, *stages, SINK], options=options, **kwargs)
    h.drain()
    return h


def test_a_bad_document_goes_to_the_dlq_and_never_stops_the_processor():
    docs = [{"_id": 1, "w": 2}, {"_id": 2, "w": "two"}, {"_id": 3, "w": 4}]
    h = run([{"$addFields": {"kw": {"$multiply": ["$w", 1000]}}}], docs)
    assert [(d["_id"], d["kw"]) for d in h.find("out")] == [(1, 2000), (3, 4000)]
    [dead] = h.find("dlq")
    assert list(dead)[:7] == ["_id", "processorName", "dlqTime", "operatorName", "errInfo", "doc", "_stream_meta"]
    assert dead["processorName"] == "proc" and dead["operatorName"] == "AddFieldsOperator"
    assert isinstance(dead["dlqTime"], datetime) and "multiply" in dead["errInfo"]["reason"]
    assert dead["doc"]["_id"] == 2 and dead["doc"]["w"] == "two"
    assert dead["_stream_meta"] == {"source": {"type": "generated"}}
    stats = h.stats()
    assert (stats["inputMessageCount"], stats["outputMessageCount"], stats["dlqMessageCount"]) == (3, 2, 1)
    assert stats["dlqMessageSize"] == extjson.json_size({k: v for k, v in dead.items() if k != "_id"})
    add_fields = next(op for op in stats["operatorStats"] if op["name"] == "AddFieldsOperator")
    assert (add_fields["inputMessageCount"], add_fields["outputMessageCount"], add_fields["dlqMessageCount"]) == (3, 2, 1)
    h.tick()  # still running


def test_without_a_dlq_bad_documents_are_dropped_and_counted():
    h = run([{"$match": {"$expr": {"$gt": [{"$divide": [10, "$w"]}, 1]}}}], [{"w": 0}, {"w": 2}], options=None)
    assert len(h.find("out")) == 1 and h.find("dlq") == []
    assert h.stats()["dlqMessageCount"] == 1


def test_now_is_the_batch_time():
    h = run([{"$addFields": {"at": "$$NOW"}}], [{"_id": 1}], start=1_700_000_000.0)
    assert h.find("out")[0]["at"] == extjson.from_ms(int(1_700_000_000.05 * 1000))


def test_extended_json_dates_in_the_stored_pipeline_are_dates():
    docs = [{"_id": i, "t": {"$date": f"2024-01-0{i}T00:00:00Z"}} for i in (1, 2, 3)]
    h = run([{"$match": {"t": {"$gte": {"$date": "2024-01-02T00:00:00Z"}}}}], docs)
    assert [d["_id"] for d in h.find("out")] == [2, 3]


def test_unwind_and_replace_root_change_document_counts_and_shapes():
    h = run([{"$unwind": "$xs"}, {"$replaceRoot": {"newRoot": {"v": "$xs"}}}], [{"xs": [1, 2, 3]}, {"xs": []}])
    assert sorted(d["v"] for d in h.find("out")) == [1, 2, 3]
    assert h.stats()["outputMessageCount"] == 3


@pytest.mark.parametrize("action, in_dlq", [("discard", 0), ("dlq", 2)])
def test_validate_with_query_operators(action, in_dlq):
    docs = [{"_id": i, "w": w} for i, w in enumerate([5, -1, "x", 7])]
    h = run([{"$validate": {"validator": {"w": {"$type": "number", "$gte": 0}}, "validationAction": action}}], docs)
    assert [d["_id"] for d in h.find("out")] == [0, 3]
    dead = h.find("dlq")
    assert len(dead) == in_dlq and all(d["operatorName"] == "ValidateOperator" for d in dead)


def test_validate_with_json_schema_and_bson_types():
    schema = {"bsonType": "object", "required": ["device", "t"],
              "properties": {"device": {"bsonType": "string"}, "t": {"bsonType": "date"},
                             "w": {"bsonType": ["int", "double"], "minimum": 0}}}
    docs = [{"_id": 1, "device": "a", "t": {"$date": "2024-01-01T00:00:00Z"}, "w": 1.5},
            {"_id": 2, "device": "a", "t": "2024-01-01", "w": 1},
            {"_id": 3, "device": "a", "t": {"$date": "2024-01-01T00:00:00Z"}, "w": -1},
            {"_id": 4, "t": {"$date": "2024-01-01T00:00:00Z"}},
            {"_id": 5, "device": "b", "t": {"$date": "2024-01-01T00:00:00Z"}}]
    validator = {"$and": [{"$jsonSchema": schema}, {"device": {"$ne": "b"}}]}
    h = run([{"$validate": {"validator": validator, "validationAction": "dlq"}}], docs)
    assert [d["_id"] for d in h.find("out")] == [1]
    reasons = {d["doc"]["_id"]: d["errInfo"]["reason"] for d in h.find("dlq")}
    assert set(reasons) == {2, 3, 4, 5} and "date" in reasons[2] and "device" in reasons[4]


def test_lookup_local_and_foreign_fields_against_a_collection():
    h = Harness([{"$source": {"documents": [{"_id": 1, "dev": "a"}, {"_id": 2, "dev": ["a", "b"]}, {"_id": 3}]}},
                 {"$lookup": {"from": {"connectionName": "atlas", "db": "ref", "coll": "devices"},
                              "localField": "dev", "foreignField": "name", "as": "info.devices"}}, SINK])
    h.store.insert("g1", CLUSTER, "ref", "devices", [{"_id": "x", "name": "a", "site": 1}, {"_id": "y", "name": "b"},
                                                     {"_id": "z", "site": 3}])
    h.drain()
    joined = {d["_id"]: [m["_id"] for m in d["info"]["devices"]] for d in h.find("out")}
    assert joined == {1: ["x"], 2: ["x", "y"], 3: ["z"]}  # a missing local field matches null/missing


def test_lookup_with_let_and_pipeline():
    h = Harness([{"$source": {"documents": [{"_id": 1, "min": 2}]}},
                 {"$lookup": {"from": {"connectionName": "atlas", "db": "ref", "coll": "levels"}, "let": {"m": "$min"},
                              "pipeline": [{"$match": {"$expr": {"$gte": ["$level", "$$m"]}}},
                                           {"$project": {"_id": 0, "level": 1}}], "as": "levels"}}, SINK])
    h.store.insert("g1", CLUSTER, "ref", "levels", [{"level": n} for n in range(4)])
    h.drain()
    assert h.find("out")[0]["levels"] == [{"level": 2}, {"level": 3}]


@pytest.mark.parametrize("stage", ["$https", "$externalFunction"])
def test_http_stages_cannot_reach_anything_so_documents_follow_on_error(stage):
    base = {"connectionName": "api", "as": "resp"}
    connections = {"atlas": {"type": "Cluster", "clusterName": CLUSTER}, "api": {"type": "Https", "url": "http://x"}}
    dlq = run([{stage: base}], [{"_id": 1}], connections=connections)
    operator = "HttpsOperator" if stage == "$https" else "ExternalFunctionOperator"
    assert dlq.find("out") == [] and dlq.find("dlq")[0]["operatorName"] == operator
    ignore = run([{stage: {**base, "onError": "ignore"}}], [{"_id": 1}], connections=connections)
    assert ignore.find("out") == [{"_id": 1, "_ts": ignore.find("out")[0]["_ts"],
                                   "_stream_meta": {"source": {"type": "generated"}}}]
    fail = Harness([{"$source": {"documents": [{"_id": 1}]}}, {stage: {**base, "onError": "fail"}}, SINK],
                   connections=connections)
    with pytest.raises(SpTasksError, match="outbound"):
        fail.drain()


def test_a_failed_tick_closes_the_engine_so_nothing_checkpoints_past_the_failed_batch():
    connections = {"atlas": {"type": "Cluster", "clusterName": CLUSTER}, "api": {"type": "Https", "url": "http://x"}}
    h = Harness([{"$source": {"documents": [{"_id": n} for n in range(3)]}},
                 {"$https": {"connectionName": "api", "as": "r", "onError": "fail"}}, SINK], connections=connections)
    with pytest.raises(SpTasksError, match="outbound"):
        h.tick()
    assert h.engine.closed and h.tick() == 0
    h.engine.shutdown()  # what a stop would do next: a no-op, the position stays before the batch
    assert h.saved is None


@pytest.mark.parametrize("pipeline, message", [
    ([{"$source": {"connectionName": "nowhere"}}, SINK], "connection named nowhere does not exist"),
    ([{"$source": {"documents": []}}, {"$merge": {"into": {"connectionName": "gone", "db": "d", "coll": "c"}}}],
     "connection named gone does not exist"),
    ([{"$source": {"documents": []}}, {"$group": {"_id": None}}, SINK], "only allowed inside a window"),
    ([{"$source": {"documents": []}}, {"$facet": {}}, SINK], "not supported"),
    ([{"$source": {"connectionName": "kafka", "topic": "t"}}, {"$merge": {"into": {"connectionName": "kafka"}}}],
     "Kafka, this stage needs Cluster"),
])
def test_processor_level_problems_raise_with_an_asp_like_message(pipeline, message):
    with pytest.raises(SpTasksError, match=message):
        Harness(pipeline)


def test_a_missing_dlq_connection_is_a_processor_error():
    with pytest.raises(SpTasksError, match="connection named lost does not exist"):
        Harness([{"$source": {"documents": []}}, SINK], options={"dlq": {"connectionName": "lost", "db": "d", "coll": "c"}})


def test_meta_paths_read_stream_metadata_and_set_stream_meta_writes_it():
    connections = {"atlas": {"type": "Cluster", "clusterName": CLUSTER}, "kafka": {"type": "Kafka",
                                                                                  "bootstrapServers": "k:1"}}
    h = Harness([{"$source": {"connectionName": "kafka", "topic": "t", "config": {"auto_offset_reset": "earliest"}}},
                 {"$setStreamMeta": {"stream.route": {"$concat": ["to-", "$kind"]}}},
                 {"$addFields": {"topic": {"$meta": "stream.source.topic"}, "route": {"$meta": "stream.route"},
                                 "type": {"$meta": "stream.source.type"}}},
                 {"$merge": {"into": {"connectionName": "atlas", "db": "db", "coll": {"$meta": "stream.route"}}}}],
                connections=connections)
    h.store.append_topic("g1", "k:1", "t", [(None, {"_id": 1, "kind": "a"})])
    h.tick()
    [doc] = h.find("to-a")
    assert (doc["topic"], doc["route"], doc["type"]) == ("t", "to-a", "kafka")
    assert doc["_stream_meta"]["route"] == "to-a"
