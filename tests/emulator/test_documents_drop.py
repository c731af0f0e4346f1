"""DELETE /_emulator/documents (emulator only): drop a database with its change log, one collection,
a topic or a processor's test log — exactly that, nothing of its neighbours; never without the
admin headers, never without a name."""
from __future__ import annotations

import requests

G = "0123456789abcdef01234567"


def _fill(store):
    store.insert(G, "C0", "feat", "a", [{"x": 1}, {"x": 2}])
    store.insert(G, "C0", "feat", "b", [{"x": 3}])
    store.insert(G, "C0", "base", "a", [{"x": 4}])  # same cluster, another database
    store.insert(G, "C1", "feat", "a", [{"x": 5}])  # same database name, another cluster
    store.append_topic(G, "k1:9092,k2:9092", "t_feat", [(None, {"v": 1})])
    store.append_topic(G, "k1:9092,k2:9092", "t", [(None, {"v": 2})])
    store.append_test_log("proc-1", [{"line": 1}])
    store.append_test_log("proc-2", [{"line": 2}])


def _changes(store, cluster, db):
    return [c for c in store.changes(G, cluster, db, [], 0, 1000)]


def test_each_kind_is_dropped_alone(emulator):
    store = emulator.backend.runtime.documents
    _fill(store)
    assert emulator.admin("DELETE", "documents", group=G, cluster="C0", db="feat", coll="b") == {"deleted": 2}
    assert store.collections(G) == [("C0", "base", "a", 1), ("C0", "feat", "a", 2), ("C1", "feat", "a", 1)]
    assert emulator.admin("DELETE", "documents", group=G, cluster="C0", db="feat") == {"deleted": 4}  # docs + changes
    assert store.collections(G) == [("C0", "base", "a", 1), ("C1", "feat", "a", 1)]
    assert _changes(store, "C0", "feat") == [] and len(_changes(store, "C0", "base")) == 1
    emulator.admin("DELETE", "documents", group=G, bootstrapServers="k2:9092, k1:9092", topic="t_feat")
    assert store.topic_messages(G, "k1:9092,k2:9092", "t_feat") == []
    assert len(store.topic_messages(G, "k1:9092,k2:9092", "t")) == 1
    emulator.admin("DELETE", "documents", processorId="proc-1")
    assert store.test_log("proc-1") == [] and store.test_log("proc-2") == [{"line": 2}]


def test_a_delete_naming_nothing_is_refused_and_admin_headers_are_required(emulator):
    store = emulator.backend.runtime.documents
    _fill(store)
    refused = emulator.admin_raw("DELETE", "documents", group=G)
    assert refused.status_code == 400 and "name a database" in refused.json()["detail"]
    anonymous = requests.delete(f"{emulator.url}/_emulator/documents", params={"group": G, "cluster": "C0", "db": "feat"},
                                timeout=5)
    assert anonymous.status_code == 401
    assert len(store.collections(G)) == 4
