"""Sinks: $merge modes and keys, dynamic targets, $emit to Kafka topics, __testLog, no-op sinks."""
from __future__ import annotations

import pytest

from sp_tasks.emulator.engine.harness import CLUSTER, DEFAULT_CONNECTIONS, Harness

DLQ = {"dlq": {"connectionName": "atlas", "db": "db", "coll": "dlq"}}
EXISTING = [{"_id": 1, "a": "old", "keep": True}, {"_id": 2, "a": "old"}]
INCOMING = [{"_id": 1, "a": "new"}, {"_id": 3, "a": "new"}]


def merge_into(docs: list[dict], merge: dict, *, seed: list[dict] = (), **kwargs) -> Harness:
    spec = {"into": {"connectionName": "atlas", "db": "db", "coll": "out"}, **merge}
    h = Harness([{"$source": {"documents": docs}}, {"$project": {"_ts": 0, "_stream_meta": 0}}, {"$merge": spec}],
                options=DLQ, **kwargs)
    if seed:
        h.store.insert("g1", CLUSTER, "db", "out", list(seed))
    h.drain()
    return h


@pytest.mark.parametrize("when_matched, expected_1", [
    ("merge", {"_id": 1, "a": "new", "keep": True}),
    ("replace", {"_id": 1, "a": "new"}),
    ("keepExisting", {"_id": 1, "a": "old", "keep": True}),
])
def test_merge_when_matched(when_matched, expected_1):
    h = merge_into(INCOMING, {"whenMatched": when_matched}, seed=EXISTING)
    assert h.find("out") == [expected_1, {"_id": 2, "a": "old"}, {"_id": 3, "a": "new"}]
    assert h.stats()["outputMessageCount"] == 2 and h.find("dlq") == []


def test_merge_when_matched_delete_and_modes_chosen_per_document():
    h = merge_into([{"_id": 1, "op": "delete"}, {"_id": 2, "op": "replace"}, {"_id": 4, "op": "replace"}],
                   {"whenMatched": "$op", "whenNotMatched": {"$cond": [{"$eq": ["$_id", 4]}, "discard", "insert"]}},
                   seed=EXISTING)
    assert h.find("out") == [{"_id": 2, "op": "replace"}]


def test_merge_when_matched_fail_sends_the_duplicate_to_the_dlq():
    h = merge_into(INCOMING, {"whenMatched": "fail"}, seed=EXISTING)
    assert h.find("out", query={"a": "new"}) == [{"_id": 3, "a": "new"}]
    [dead] = h.find("dlq")
    assert dead["operatorName"] == "MergeOperator" and dead["doc"] == {"_id": 1, "a": "new"}
    assert "duplicate key" in dead["errInfo"]["reason"]
    stats = h.stats()
    assert (stats["outputMessageCount"], stats["dlqMessageCount"]) == (1, 1)


def test_merge_when_not_matched_discard_only_updates():
    h = merge_into(INCOMING, {"whenNotMatched": "discard"}, seed=EXISTING)
    assert [d["_id"] for d in h.find("out")] == [1, 2]


def test_merge_on_fields_keeps_one_document_per_key_and_needs_the_fields():
    docs = [{"dev": "a", "n": 1}, {"dev": "b", "n": 1}, {"dev": "a", "n": 2}, {"n": 9}]
    h = merge_into(docs, {"on": "dev", "whenMatched": "replace"})
    out = h.find("out")
    assert [(d["dev"], d["n"]) for d in out] == [("a", 2), ("b", 1)]
    assert all("_id" in d for d in out)  # generated ObjectIds, kept on replace
    assert [d["doc"] for d in h.find("dlq")] == [{"n": 9}]


def test_merge_without_id_inserts_with_a_generated_object_id():
    h = merge_into([{"v": 1}, {"v": 2}], {})
    ids = [d["_id"] for d in h.find("out")]
    assert len(set(ids)) == 2 and type(ids[0]).__name__ == "ObjectId"


def test_merge_into_a_collection_named_by_an_expression():
    h = merge_into([{"_id": 1, "kind": "x"}, {"_id": 2, "kind": "y"}, {"_id": 3}],
                   {"into": {"connectionName": "atlas", "db": "db", "coll": "$kind"}})
    assert [d["_id"] for d in h.find("x")] == [1] and [d["_id"] for d in h.find("y")] == [2]
    assert "non-empty strings" in h.find("dlq")[0]["errInfo"]["reason"]


def test_emit_to_kafka_topics_with_keys_and_topic_expressions():
    docs = [{"_id": i, "dev": f"d{i % 2}"} for i in range(4)]
    h = Harness([{"$source": {"documents": docs}},
                 {"$emit": {"connectionName": "kafka", "topic": {"$concat": ["t-", "$dev"]}, "config": {"key": "$_id"}}}])
    h.drain()
    servers = DEFAULT_CONNECTIONS["kafka"]["bootstrapServers"]
    t0 = h.store.topic_messages("g1", servers, "t-d0")
    assert [(m["offset"], m["key"], m["value"]["_id"]) for m in t0] == [(0, 0, 0), (1, 2, 2)]
    assert len(h.store.topic_messages("g1", servers, "t-d1")) == 2
    assert h.stats()["operatorStats"][-1]["name"] == "KafkaEmitOperator"


def test_test_log_keeps_lines_per_processor():
    pipe = [{"$source": {"documents": [{"v": 1}, {"v": 2}]}}, {"$emit": {"connectionName": "__testLog"}}]
    first = Harness(pipe)
    second = Harness(pipe, store=first.store)
    first.drain()
    assert [d["v"] for d in first.test_log()] == [1, 2] and second.test_log() == []
    assert first.stats()["operatorStats"][-1]["name"] == "LogSinkOperator"


def test_emit_to_an_unreachable_connection_type_is_a_counted_no_op():
    connections = {"s3": {"type": "S3", "aws": {"roleArn": "arn:x"}}}
    h = Harness([{"$source": {"documents": [{"v": 1}]}}, {"$emit": {"connectionName": "s3", "bucket": "b"}}],
                connections=connections)
    h.drain()
    stats = h.stats()
    assert stats["outputMessageCount"] == 1 and stats["operatorStats"][-1]["name"] == "NoOpSinkOperator"


def test_emit_to_an_atlas_time_series_collection_inserts():
    h = Harness([{"$source": {"documents": [{"v": 1}, {"v": 1}]}},
                 {"$emit": {"connectionName": "atlas", "db": "db", "coll": "ts", "timeseries": {"timeField": "_ts"}}}])
    h.drain()
    assert [d["v"] for d in h.find("ts")] == [1, 1]
