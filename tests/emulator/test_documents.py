"""DocumentStore: collections with filters, change log, topics, test logs, persistence; extended JSON."""
from __future__ import annotations

from datetime import datetime, timezone

from sp_tasks.emulator.db import Database
from sp_tasks.emulator.documents import DocumentStore, Retention
from sp_tasks.emulator.engine import extjson

T = datetime(2024, 8, 12, 21, 41, 1, 788000)


def test_find_filters_limits_and_counts():
    store = DocumentStore(Database(None))
    store.insert("g", "C0", "db", "c", [{"_id": i, "w": i * 10, "obs": {"t": i % 3}, "at": T} for i in range(10)])
    assert [d["_id"] for d in store.find("g", "C0", "db", "c", {"w": {"$gte": 50}, "obs.t": 0})] == [6, 9]
    assert [d["_id"] for d in store.find("g", "C0", "db", "c", limit=3)] == [0, 1, 2]
    assert store.find("g", "C0", "db", "c", {"_id": 4})[0]["at"] == T
    assert store.count("g", "C0", "db", "c") == 10 and store.count("g", "C0", "db", "c", {"w": {"$lt": 30}}) == 3
    assert store.find("g", "C1", "db", "c") == [] and store.find("other", "C0", "db", "c") == []


def test_collections_are_listed_per_group():
    store = DocumentStore(Database(None))
    store.insert("g", "C0", "db", "b", [{"x": 1}])
    store.insert("g", "C0", "db", "a", [{"x": 1}, {"x": 2}])
    store.insert("h", "C0", "db", "z", [{"x": 1}])
    assert store.collections("g") == [("C0", "db", "a", 2), ("C0", "db", "b", 1)]


def test_merge_keys_treat_equal_numbers_as_one_document():
    store = DocumentStore(Database(None))
    store.merge("g", "C0", "db", "c", [{"_id": 10, "v": 1}])
    store.merge("g", "C0", "db", "c", [{"_id": 10.0, "w": 2}])
    assert store.find("g", "C0", "db", "c") == [{"_id": 10, "v": 1, "w": 2}]


def test_change_log_orders_every_write_per_cluster():
    store = DocumentStore(Database(None))
    start = store.change_position("g", "C0")
    store.merge("g", "C0", "db", "a", [{"_id": 1, "v": 1}])
    store.merge("g", "C0", "db", "a", [{"_id": 1, "v": 2}], when_matched="replace")
    store.merge("g", "C1", "db", "a", [{"_id": 1}])
    store.merge("g", "C0", "db", "b", [{"_id": 2}])
    changes = store.changes("g", "C0", "db", ["a"], start, 10)
    assert [(c["op"], c["doc"]) for c in changes] == [("insert", {"_id": 1, "v": 1}), ("replace", {"_id": 1, "v": 2})]
    assert len(store.changes("g", "C0", None, [], start, 10)) == 3
    assert store.changes("g", "C0", "db", ["a"], changes[-1]["seq"], 10) == []


def test_topics_append_in_offset_order_and_normalise_servers():
    store = DocumentStore(Database(None))
    store.append_topic("g", "b:1,a:1", "t", [(None, {"n": 1}), ("k", {"n": 2, "at": T})])
    store.append_topic("g", "a:1, b:1", "t", [(None, {"n": 3})])
    messages = store.topic_messages("g", "a:1,b:1", "t")
    assert [(m["offset"], m["key"], m["value"]["n"]) for m in messages] == [(0, None, 1), (1, "k", 2), (2, None, 3)]
    assert messages[1]["value"]["at"] == T and isinstance(messages[0]["timestamp"], datetime)
    assert store.topic_end("g", "a:1,b:1", "t") == 3 and store.read_topic("g", "a:1,b:1", "t", 2) == messages[2:]
    assert store.topic_messages("g", "c:1", "t") == []


def test_everything_persists_in_the_data_dir_and_reset_clears_it(tmp_path):
    store = DocumentStore(Database(tmp_path))
    store.insert("g", "C0", "db", "c", [{"_id": "x", "at": T}])
    store.append_topic("g", "k:1", "t", [(None, {"n": 1})])
    store.append_test_log("p1", [{"line": 1}])
    store.db.close()
    reopened = DocumentStore(Database(tmp_path))
    assert reopened.find("g", "C0", "db", "c") == [{"_id": "x", "at": T}]
    assert [m["value"] for m in reopened.topic_messages("g", "k:1", "t")] == [{"n": 1}]
    assert reopened.test_log("p1") == [{"line": 1}] and reopened.test_log("p2") == []
    reopened.reset()
    assert reopened.collections("g") == [] and reopened.test_log("p1") == []


def test_extended_json_round_trips_dates_and_object_ids():
    oid = extjson.new_object_id()
    doc = {"_id": oid, "at": T, "aware": datetime(2024, 1, 1, 1, tzinfo=timezone.utc), "n": [1, 2.5, None]}
    text = extjson.dumps(doc)
    assert '"at":{"$date":"2024-08-12T21:41:01.788Z"}' in text and f'{{"$oid":"{oid}"}}' in text
    back = extjson.loads(text)
    assert back == {**doc, "aware": datetime(2024, 1, 1, 1)}
    assert extjson.decode({"d": {"$date": {"$numberLong": "0"}}, "x": {"$numberLong": "5"}}) == \
        {"d": datetime(1970, 1, 1), "x": 5}
    assert extjson.canonical_key({"a": 1.0}) == extjson.canonical_key({"a": 1}) != extjson.canonical_key({"a": 1.5})


def test_prune_keeps_the_newest_rows_of_every_collection_log_and_topic():
    store = DocumentStore(Database(None), Retention(documents=3, changes=2, messages=2, log_lines=2))
    for i in range(5):
        store.merge("g", "C0", "db", "c", [{"_id": i}])
        store.append_topic("g", "k:1", "t", [(None, {"n": i})])
        store.append_test_log("p", [{"n": i}])
    store.insert("g", "C0", "db", "small", [{"_id": "a"}, {"_id": "b"}])
    store.merge("g", "C0", "db", "c", [{"_id": 0, "again": True}])  # an update does not make it newer
    store.prune()
    assert [c["doc"]["_id"] for c in store.changes("g", "C0", None, [], 0, 10)] == ["b", 0]
    assert [m["value"]["n"] for m in store.topic_messages("g", "k:1", "t")] == [3, 4]
    assert store.topic_end("g", "k:1", "t") == 5  # offsets keep counting
    assert store.test_log("p") == [{"n": 3}, {"n": 4}]
    assert [d["_id"] for d in store.find("g", "C0", "db", "c")] == [2, 3, 4]  # capped: the oldest went first
    assert store.count("g", "C0", "db", "small") == 2
