"""Sources: sample_stream_solar, documents + timeField, change-stream and Kafka chaining between processors."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from sp_tasks.emulator.engine import extjson
from sp_tasks.emulator.engine.harness import CLUSTER, DEFAULT_CONNECTIONS, Harness
from sp_tasks.emulator.engine.sources import solar_doc

TEST_LOG = {"$emit": {"connectionName": "__testLog"}}
SOLAR = {"$source": {"connectionName": "sample_stream_solar"}}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


def test_solar_documents_have_the_reference_shape():
    h = Harness([SOLAR, TEST_LOG], sample_rate=100, start=1_700_000_000.0)
    h.tick()  # starts the schedule
    h.run(1.0)
    docs = h.test_log()
    assert len(docs) == 100  # exactly the rate: the schedule is a function of time
    for doc in docs:
        assert list(doc) == ["device_id", "group_id", "timestamp", "max_watts", "event_type", "obs", "_ts", "_stream_meta"]
        assert re.fullmatch(r"device_\d+", doc["device_id"]) and isinstance(doc["group_id"], int)
        assert ISO.match(doc["timestamp"]) and extjson.parse_iso(doc["timestamp"]) == doc["_ts"]
        assert doc["max_watts"] in (250, 450) and doc["event_type"] in (0, 1)
        assert list(doc["obs"]) == ["watts", "temp"] and 0 <= doc["obs"]["watts"] <= doc["max_watts"]
        assert doc["_stream_meta"] == {"source": {"type": "generated"}}
    assert len({d["device_id"] for d in docs}) > 5 and {d["max_watts"] for d in docs} == {250, 450}
    assert h.stats()["operatorStats"][0]["name"] == "SampleDataSourceOperator"


def test_solar_content_is_a_pure_function_of_the_sequence_number():
    assert solar_doc(41, 0) == solar_doc(41, 0) and solar_doc(41, 0) != solar_doc(42, 0)
    a = Harness([SOLAR, TEST_LOG], sample_rate=50, start=1_700_000_000.0)
    b = Harness([SOLAR, TEST_LOG], sample_rate=50, start=1_700_000_000.0)
    a.run(1.0)
    b.run(1.0)
    assert a.test_log() == b.test_log()


def test_sample_rate_changes_apply_to_a_running_engine():
    h = Harness([SOLAR, TEST_LOG], sample_rate=100)
    h.tick()
    h.run(1.0)
    h.engine.set_sample_rate(400)
    h.run(1.0)
    assert h.stats()["inputMessageCount"] == 500


def test_a_stopped_generator_does_not_burst_out_the_time_it_was_stopped():
    h = Harness([SOLAR, TEST_LOG], sample_rate=100)
    h.tick()
    h.run(0.5)
    h.restart()
    h.now += 60.0  # the processor was stopped for a minute
    h.tick()
    h.run(0.5)
    assert h.stats()["inputMessageCount"] == 100


def test_time_field_sets_event_time_and_a_failing_one_goes_to_the_dlq():
    docs = [{"v": 1, "when": "2024-05-01T10:00:00Z"}, {"v": 2, "when": 12}, {"v": 3, "when": "not a date"}]
    h = Harness([{"$source": {"documents": docs, "timeField": {"$dateFromString": {"dateString": "$when"}},
                              "tsFieldName": "eventTime"}}, TEST_LOG],
                options={"dlq": {"connectionName": "atlas", "db": "db", "coll": "dlq"}})
    h.drain()
    [ok] = h.test_log()
    assert ok["eventTime"] == datetime(2024, 5, 1, 10) and "_ts" not in ok
    assert [d["operatorName"] for d in h.find("dlq")] == ["DocumentsSourceOperator"] * 2
    assert h.stats()["watermark"] == "2024-05-01T09:59:57.000Z"  # max event time − 3 s


def change_reader(store, config: dict | None = None, cluster_conn: str = "atlas") -> Harness:
    source = {"connectionName": cluster_conn, "db": "db", "coll": "out", **({"config": config} if config else {})}
    return Harness([{"$source": source}, TEST_LOG], store=store, name="reader")


def writer(store, docs: list[dict], merge: dict | None = None) -> Harness:
    into = {"into": {"connectionName": "atlas", "db": "db", "coll": "out"}, **(merge or {})}
    return Harness([{"$source": {"documents": docs}}, {"$project": {"_ts": 0, "_stream_meta": 0}}, {"$merge": into}],
                   store=store, name="writer")


def test_change_stream_chaining_a_merge_into_b_source():
    a = writer(None, [{"_id": 1, "v": 1}, {"_id": 2, "v": 2}])
    b = change_reader(a.store)
    b.tick()  # B opens its stream before A writes: it sees what comes after
    a.drain()
    b.tick()
    events = b.test_log()
    assert [e["operationType"] for e in events] == ["insert", "insert"]
    first = events[0]
    assert first["fullDocument"] == {"_id": 1, "v": 1} and first["documentKey"] == {"_id": 1}
    assert first["ns"] == {"db": "db", "coll": "out"} and set(first["_id"]) == {"_data"}
    assert first["_stream_meta"] == {"source": {"type": "atlas"}} and isinstance(first["_ts"], datetime)
    assert b.stats()["changeStreamState"] == events[-1]["_id"]

    writer(a.store, [{"_id": 1, "v": 10}]).drain()
    b.tick()
    update = b.test_log()[-1]
    assert update["operationType"] == "update" and "fullDocument" not in update
    assert update["updateDescription"]["updatedFields"] == {"v": 10}

    writer(a.store, [{"_id": 2}], {"whenMatched": "delete"}).drain()
    b.tick()
    delete = b.test_log()[-1]
    assert delete["operationType"] == "delete" and delete["documentKey"] == {"_id": 2} and "fullDocument" not in delete


def test_change_stream_full_document_options_other_clusters_and_resume():
    a = writer(None, [])
    lookup = change_reader(a.store, {"fullDocument": "updateLookup", "fullDocumentOnly": True})
    other_conns = {"elsewhere": {"type": "Cluster", "clusterName": "Cluster1"}}
    other = Harness([{"$source": {"connectionName": "elsewhere", "db": "db", "coll": "out"}}, TEST_LOG],
                    store=a.store, connections=other_conns)
    lookup.tick()
    other.tick()
    writer(a.store, [{"_id": 1, "v": 1}]).drain()
    writer(a.store, [{"_id": 1, "v": 2}]).drain()
    lookup.tick()
    lookup.restart()
    writer(a.store, [{"_id": 2, "v": 3}]).drain()
    lookup.tick()
    other.tick()
    assert lookup.test_log() == [{"_id": 1, "v": 1, **meta(lookup, 0)}, {"_id": 1, "v": 2, **meta(lookup, 1)},
                                 {"_id": 2, "v": 3, **meta(lookup, 2)}]
    assert other.test_log() == []


def meta(h: Harness, i: int) -> dict:
    line = h.test_log()[i]
    return {"_ts": line["_ts"], "_stream_meta": line["_stream_meta"]}


def kafka_reader(store, servers: str, offset_reset: str | None = None) -> Harness:
    config = {"config": {"auto_offset_reset": offset_reset}} if offset_reset else {}
    connections = {"k": {"type": "Kafka", "bootstrapServers": servers}}
    return Harness([{"$source": {"connectionName": "k", "topic": ["t1", "t2"], **config}}, TEST_LOG],
                   store=store, connections=connections)


def test_kafka_topic_chaining_with_offsets_and_resume():
    servers = DEFAULT_CONNECTIONS["kafka"]["bootstrapServers"]
    emit = Harness([{"$source": {"documents": [{"n": i, "topic": f"t{1 + i % 2}"} for i in range(4)]}},
                    {"$emit": {"connectionName": "kafka", "topic": "$topic"}}])
    latest = kafka_reader(emit.store, servers)
    same_cluster = kafka_reader(emit.store, f" {servers} ", "earliest")
    wrong_cluster = kafka_reader(emit.store, "other:9092", "earliest")
    latest.tick()
    emit.drain()  # before `earliest` readers first poll, after `latest` opened
    for reader in (latest, same_cluster, wrong_cluster):
        reader.tick()
    assert sorted(m["n"] for m in latest.test_log()) == [0, 1, 2, 3]
    assert sorted(m["n"] for m in same_cluster.test_log()) == [0, 1, 2, 3]
    assert wrong_cluster.test_log() == []
    line = latest.test_log()[0]
    assert line["_stream_meta"]["source"]["type"] == "kafka" and line["_stream_meta"]["source"]["partition"] == 0
    late_joiner = kafka_reader(emit.store, servers)
    late_joiner.tick()
    assert late_joiner.test_log() == []  # latest: only what comes next
    latest.restart()
    emit.store.append_topic("g1", servers, "t2", [(None, {"n": 99})])
    latest.tick()
    assert [m["n"] for m in latest.test_log()][-1] == 99 and len(latest.test_log()) == 5
    partitions = {p["topic"]: p for p in latest.stats()["kafkaPartitions"]}
    assert partitions["t2"]["currentOffset"] == 3 and partitions["t1"]["currentOffset"] == 2


def test_a_missing_source_connection_names_it():
    with pytest.raises(Exception, match="connection named nope does not exist"):
        Harness([{"$source": {"connectionName": "nope", "topic": "x"}}, TEST_LOG])


def test_sinks_use_the_cluster_name_not_the_connection_name():
    connections = {"main": {"type": "Cluster", "clusterName": CLUSTER}}
    h = Harness([{"$source": {"documents": [{"_id": 1}]}},
                 {"$merge": {"into": {"connectionName": "main", "db": "db", "coll": "x"}}}], connections=connections)
    h.drain()
    assert h.store.collections("g1") == [(CLUSTER, "db", "x", 1)]
