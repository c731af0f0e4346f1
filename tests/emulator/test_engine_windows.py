"""Window stages on the engine: results computed independently, lateness, sessions, timers, restarts."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from sp_tasks.emulator.engine import extjson
from sp_tasks.emulator.engine.harness import Harness

BASE = datetime(2024, 1, 1)
TIME_FIELD = {"$toDate": "$t"}
DLQ = {"dlq": {"connectionName": "atlas", "db": "db", "coll": "dlq"}}


def at(seconds: float) -> dict:
    return {"$date": extjson.iso(BASE + timedelta(seconds=seconds))}


def readings(n: int = 240) -> list[dict]:
    """Deterministic readings spread over ~12 s, slightly out of order (within 1 s)."""
    return [{"device": f"d{i % 4}", "t": at(i * 0.05 + (0.7 if i % 9 == 0 else 0.0)), "w": (i * 37) % 101,
             **({"temp": i % 13} if i % 5 else {})} for i in range(n)]


def pipeline(window: dict, docs: list[dict], sink: dict | None = None) -> list[dict]:
    return [{"$source": {"documents": docs, "timeField": TIME_FIELD}}, window,
            sink or {"$emit": {"connectionName": "__testLog"}}]


GROUP = {"$group": {"_id": {"device": "$device", "start": {"$meta": "stream.window.start"}}, "n": {"$sum": 1},
                    "w": {"$sum": "$w"}, "avg": {"$avg": "$temp"}, "mn": {"$min": "$temp"}, "mx": {"$max": "$w"},
                    "first": {"$first": "$w"}, "last": {"$last": "$w"}, "c": {"$count": {}}}}


def expected_groups(docs: list[dict], size: float, hop: float) -> dict[tuple, dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for doc in docs:
        t = (extjson.decode(doc["t"]) - BASE).total_seconds()
        k = int(t // hop)
        while k * hop > t - size:
            if k * hop <= t:
                groups[(doc["device"], BASE + timedelta(seconds=k * hop))].append(doc)
            k -= 1
    out = {}
    for key, members in groups.items():
        temps = [m["temp"] for m in members if "temp" in m]
        out[key] = {"n": len(members), "w": sum(m["w"] for m in members),
                    "avg": sum(temps) / len(temps) if temps else None, "mn": min(temps) if temps else None,
                    "mx": max(m["w"] for m in members), "first": members[0]["w"], "last": members[-1]["w"],
                    "c": len(members)}
    return out


def rounded(groups: dict[tuple, dict]) -> dict[tuple, dict]:
    return {k: {f: round(v, 9) if isinstance(v, float) else v for f, v in row.items()} for k, row in groups.items()}


def results(h: Harness) -> dict[tuple, dict]:
    out = {}
    for doc in h.test_log():
        key = (doc["_id"]["device"], doc["_id"]["start"])
        assert key not in out, "each window and group is emitted once"
        assert doc["_stream_meta"]["window"]["start"] == doc["_id"]["start"]
        out[key] = {k: doc[k] for k in ("n", "w", "avg", "mn", "mx", "first", "last", "c")}
    return out


@pytest.mark.parametrize("inner", [[GROUP], [{"$match": {"w": {"$gte": 0}}}, GROUP]], ids=["incremental", "buffered"])
def test_tumbling_window_group_matches_an_independent_computation(inner):
    docs = readings()
    h = Harness(pipeline({"$tumblingWindow": {"interval": {"size": 2, "unit": "second"}, "pipeline": inner}}, docs))
    h.drain()
    assert rounded(results(h)) == rounded(expected_groups(docs, 2, 2))
    stats = h.stats()
    assert stats["inputMessageCount"] == len(docs) and stats["dlqMessageCount"] == 0
    assert stats["outputMessageCount"] == len(h.test_log())
    assert [op["name"] for op in stats["operatorStats"]][:3] == ["DocumentsSourceOperator", "TumblingWindowOperator",
                                                                "GroupOperator" if len(inner) == 1 else "MatchOperator"]


def test_hopping_window_fans_out_each_document_to_every_window_containing_it():
    docs = readings(200)
    window = {"$hoppingWindow": {"interval": {"size": 3, "unit": "second"}, "hopSize": {"size": 1, "unit": "second"},
                                 "pipeline": [GROUP]}}
    h = Harness(pipeline(window, docs))
    h.drain()
    got = results(h)
    assert rounded(got) == rounded(expected_groups(docs, 3, 1))
    assert sum(g["n"] for g in got.values()) == pytest.approx(3 * len(docs), abs=3 * 4 * 3)  # edges hold fewer


def test_session_windows_per_partition_and_gap():
    times = {"a": [0, 1, 2.5, 10, 11], "b": [0.5, 5, 20]}
    docs = sorted(({"user": u, "t": at(t), "v": 1} for u, ts in times.items() for t in ts), key=lambda d: d["t"]["$date"])
    window = {"$sessionWindow": {"partitionBy": "$user", "gap": {"size": 3, "unit": "second"},
                                 "pipeline": [{"$group": {"_id": "$user", "n": {"$sum": "$v"}, "vs": {"$push": "$v"}}}]}}
    h = Harness(pipeline(window, docs))
    h.drain()
    sessions = sorted((d["_id"], d["_stream_meta"]["window"]["start"], d["_stream_meta"]["window"]["end"], d["n"])
                      for d in h.test_log())
    sec = lambda s: BASE + timedelta(seconds=s)  # noqa: E731
    assert sessions == [("a", sec(0), sec(5.5), 3), ("a", sec(10), sec(14), 2),
                        ("b", sec(0.5), sec(3.5), 1), ("b", sec(5), sec(8), 1), ("b", sec(20), sec(23), 1)]


def test_late_documents_go_to_the_dlq_and_others_still_count():
    docs = [{"t": at(s), "w": 1} for s in (0, 1, 2, 3, 6, 1.5, 7, 2.5)]
    window = {"$tumblingWindow": {"interval": {"size": 2, "unit": "second"}, "allowedLateness": 0,
                                  "pipeline": [{"$group": {"_id": None, "n": {"$sum": 1}}}]}}
    h = Harness(pipeline(window, docs, {"$merge": {"into": {"connectionName": "atlas", "db": "db", "coll": "out"},
                                                    "on": ["_stream_meta.window.start"]}}), options=DLQ)
    h.drain()
    late = h.find("dlq")
    assert [extjson.to_ms(d["doc"]["t"]) - extjson.to_ms(BASE) for d in late] == [1500, 2500]
    assert {d["operatorName"] for d in late} == {"TumblingWindowOperator"}
    assert all("late" in d["errInfo"]["reason"] for d in late)
    counts = {d["_stream_meta"]["window"]["start"]: d["n"] for d in h.find("out")}
    assert counts == {BASE: 2, BASE + timedelta(seconds=2): 2, BASE + timedelta(seconds=6): 2}
    assert h.stats()["dlqMessageCount"] == 2


def test_default_allowed_lateness_of_three_seconds_keeps_a_slightly_late_document():
    docs = [{"t": at(s), "w": 1} for s in (0, 1, 4, 1.5, 9)]
    window = {"$tumblingWindow": {"interval": {"size": 2, "unit": "second"},
                                  "pipeline": [{"$group": {"_id": None, "n": {"$sum": 1}}}]}}
    h = Harness(pipeline(window, docs), options=DLQ)
    h.drain()
    assert [d["n"] for d in h.test_log()][0] == 3 and h.find("dlq") == []


def test_meta_window_bounds_are_usable_inside_the_window_pipeline():
    docs = [{"t": at(s), "w": s} for s in (0.5, 1.5, 2.5)]
    window = {"$tumblingWindow": {"interval": {"size": 2, "unit": "second"}, "pipeline": [
        {"$group": {"_id": {"$meta": "stream.window.start"}, "n": {"$sum": 1}}},
        {"$project": {"n": 1, "end": {"$meta": "stream.window.end"}}}]}}
    h = Harness(pipeline(window, docs))
    h.drain()
    rows = [(d["_id"], d["end"], d["n"]) for d in h.test_log()]
    assert rows == [(BASE, BASE + timedelta(seconds=2), 2), (BASE + timedelta(seconds=2), BASE + timedelta(seconds=4), 1)]


def test_idle_timeout_closes_windows_when_input_stops():
    window = {"$tumblingWindow": {"interval": {"size": 1, "unit": "hour"}, "idleTimeout": {"size": 2, "unit": "second"},
                                  "pipeline": [{"$group": {"_id": None, "n": {"$sum": 1}}}]}}
    h = Harness([{"$source": {"connectionName": "sample_stream_solar"}}, window,
                 {"$emit": {"connectionName": "__testLog"}}], sample_rate=100)
    h.run(1.0)
    entered = h.stats()["inputMessageCount"]
    h.engine.set_sample_rate(0)
    h.run(1.0)
    assert h.test_log() == [] and h.stats()["minOpenWindowStartTime"]
    h.run(1.5)
    assert [d["n"] for d in h.test_log()] == [entered]
    assert "minOpenWindowStartTime" not in h.stats()


def test_processing_time_windows_close_on_the_clock():
    window = {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"}, "boundary": "processingTime",
                                  "pipeline": [{"$group": {"_id": None, "n": {"$sum": 1}}}]}}
    h = Harness([{"$source": {"connectionName": "sample_stream_solar"}}, window,
                 {"$emit": {"connectionName": "__testLog"}}], sample_rate=200, start=1_700_000_000.0)
    h.run(4.0, step=0.1)
    counts = [d["n"] for d in h.test_log()]
    assert len(counts) == 3 and counts[1:] == [200, 200]
    assert all(d["_stream_meta"]["window"]["start"].microsecond == 0 for d in h.test_log())


def test_state_size_grows_with_open_windows_and_buffered_documents():
    window = {"$tumblingWindow": {"interval": {"size": 1, "unit": "hour"},
                                  "pipeline": [{"$group": {"_id": "$device_id", "all": {"$push": "$obs"}}}]}}
    h = Harness([{"$source": {"connectionName": "sample_stream_solar"}}, window,
                 {"$emit": {"connectionName": "__testLog"}}], sample_rate=100)
    h.run(0.5)
    first = h.stats()
    h.run(0.5)
    second = h.stats()
    assert 0 < first["stateSize"] < second["stateSize"]
    assert second["memoryTrackerBytes"] >= second["stateSize"]
    assert second["minOpenWindowStartTime"] == second["maxOpenWindowStartTime"]


def test_open_windows_survive_a_restart_from_the_checkpoint():
    window = {"$tumblingWindow": {"interval": {"size": 2, "unit": "second"},
                                  "pipeline": [{"$group": {"_id": "$group_id", "n": {"$sum": 1}, "w": {"$sum": "$obs.watts"}}}]}}
    pipe = [{"$source": {"connectionName": "sample_stream_solar"}}, window, {"$emit": {"connectionName": "__testLog"}}]
    steady = Harness(pipe, sample_rate=100, start=1_700_000_000.0)
    steady.run(6.0)
    restarted = Harness(pipe, sample_rate=100, start=1_700_000_000.0)
    restarted.run(3.0)
    before = restarted.stats()["inputMessageCount"]
    restarted.tick()  # the tick that writes the checkpoint
    restarted.restart()
    assert restarted.stats()["inputMessageCount"] >= before
    restarted.run(3.0 - 0.05)

    def strip(rows):
        return [(r["_id"], r["n"], r["w"], r["_stream_meta"]["window"]["start"]) for r in rows]

    assert strip(restarted.test_log()) == strip(steady.test_log())
    assert restarted.stats()["inputMessageCount"] == steady.stats()["inputMessageCount"]
