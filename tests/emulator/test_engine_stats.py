"""The verbose stats object: fields and order of reference §6, sizes, latency with window wait."""
from __future__ import annotations

from sp_tasks.emulator.engine import extjson
from sp_tasks.emulator.engine.harness import Harness

TOP_LEVEL = ["name", "processorId", "status", "scaleFactor", "ok", "inputMessageCount", "inputMessageSize",
             "outputMessageCount", "outputMessageSize", "dlqMessageCount", "dlqMessageSize", "stateSize",
             "memoryTrackerBytes"]
OPERATOR = ["name", "inputMessageCount", "inputMessageSize", "outputMessageCount", "outputMessageSize",
            "dlqMessageCount", "dlqMessageSize", "stateSize", "maxMemoryUsage", "executionTimeSecs", "timeSpentMillis"]
SOLAR = {"$source": {"connectionName": "sample_stream_solar"}}
TEST_LOG = {"$emit": {"connectionName": "__testLog"}}


def test_fields_order_and_sizes_of_a_stateless_processor():
    h = Harness([SOLAR, {"$project": {"device_id": 1, "obs": 1}}, TEST_LOG], name="solar", sample_rate=100)
    assert "watermark" not in h.stats() and h.stats()["latency"]["count"] == 0
    h.run(1.0)
    stats = h.stats()
    assert list(stats)[:len(TOP_LEVEL)] == TOP_LEVEL
    assert list(stats)[-2:] == ["latency", "operatorStats"] and "watermark" in stats
    assert (stats["name"], stats["processorId"], stats["scaleFactor"], stats["ok"]) == ("solar", h.spec.processor_id, 1, 1)
    lines = h.test_log()
    assert stats["outputMessageCount"] == stats["inputMessageCount"] == len(lines) > 0
    assert stats["outputMessageSize"] == sum(extjson.json_size(d) for d in lines)
    assert stats["inputMessageSize"] > stats["outputMessageSize"]  # $project dropped fields
    assert [op["name"] for op in stats["operatorStats"]] == ["SampleDataSourceOperator", "ProjectOperator",
                                                             "LogSinkOperator"]
    assert all(list(op) == OPERATOR for op in stats["operatorStats"])
    assert stats["stateSize"] == 0 and "minOpenWindowStartTime" not in stats


def test_latency_includes_the_window_wait_and_counts_outputs():
    window = {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"}, "allowedLateness": 0,
                                  "pipeline": [{"$group": {"_id": None, "n": {"$sum": 1}}}]}}
    h = Harness([SOLAR, window, TEST_LOG], sample_rate=100, start=1_700_000_000.0)
    h.run(3.5)
    latency = h.stats()["latency"]
    assert latency["unit"] == "microseconds" and latency["count"] == len(h.test_log()) >= 2
    second = 999_000  # one window, within float error of the simulated clock
    assert latency["p50"] >= second and latency["p99"] >= latency["p50"]  # the first document waited a window
    assert latency["sum"] >= latency["count"] * 0.9 * second
    assert extjson.parse_iso(latency["start"]) <= extjson.parse_iso(latency["end"])


def test_counters_are_cumulative_across_restarts():
    h = Harness([SOLAR, TEST_LOG], sample_rate=100)
    h.run(0.5)
    h.tick()
    h.restart()
    first = h.stats()
    h.run(0.5)
    second = h.stats()
    assert second["inputMessageCount"] > first["inputMessageCount"] > 0
    assert second["operatorStats"][0]["inputMessageCount"] == second["inputMessageCount"]
