"""A real stats body without processor-level ``latency`` (recordings/processors/stats_2024.json, see
NOTICE.md): our client reads it, and every reader of stats takes latency as missing ("-" or null,
never 0) while the counters the health gate needs are read as they are."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sp_tasks.atlas import fields, paths
from sp_tasks.atlas.auth import ApiKeyAuth
from sp_tasks.atlas.client import AtlasClient
from sp_tasks.cli import views
from sp_tasks.deploy.health import HealthPolicy, judge_health
from sp_tasks.profiling.collect import samples_from_docs
from tests.replay.recorded import HERE, Recorded
from tests.replay.test_replay import replayer  # noqa: F401 - the replaying server fixture

STATS = json.loads((HERE / "processors" / "stats_2024.json").read_text())
PIPELINE = [{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "__testLog"}}]
DOC = {"_id": STATS["processorId"], "name": STATS["name"], "pipeline": PIPELINE, "state": "STARTED", "stats": STATS}
LATER = {**DOC, "stats": {**STATS, "inputMessageCount": 40, "outputMessageCount": 40}}


def _serve(server, operation: str, body) -> None:
    raw = json.dumps(body).encode()
    version = paths.endpoint(operation).accept.split("+")[0].rsplit(".", 1)[-1]
    server.recorded = Recorded(200, {"Content-Type": f"application/vnd.atlas.{version}+json;charset=utf-8",
                                     "Ratelimit-Limit": "1200", "Ratelimit-Remaining": "1100"}, body, raw)


def test_the_fixture_is_the_older_shape():
    assert "latency" not in STATS
    assert {"executionTimeSecs", "timeSpentMillis"} <= set(STATS["operatorStats"][0])


def test_our_client_reads_a_processor_and_a_list_whose_stats_have_no_latency(replayer):  # noqa: F811
    with AtlasClient(f"http://127.0.0.1:{replayer.server_port}", "6a793f48c0eb9e7a17712c9a", "ws",
                     ApiKeyAuth("a", "b")) as client:
        _serve(replayer, "getStreamProcessor", DOC)
        assert client.get_processor(DOC["name"]) == DOC
        _serve(replayer, "getStreamProcessors", {"results": [DOC], "totalCount": 1})
        assert client.list_processors() == [DOC]


def test_doctor_misses_nothing_it_relies_on_and_knows_every_field():
    assert fields.STATS.problems(STATS) == ([], [])
    assert fields.PROCESSOR.problems(DOC) == ([], [])


def test_profile_samples_have_no_latency_rather_than_a_zero_one():
    got = {s.metric: s.value for s in samples_from_docs([DOC], datetime.now(timezone.utc))}
    assert got["input_count"] == 12 and got["output_count"] == 12 and got["dlq_count"] == 0
    assert "latency_p50_ms" not in got and "latency_p99_ms" not in got


def test_sp_stats_shows_latency_as_a_dash_and_null():
    metrics = {s.metric: s.value for s in samples_from_docs([DOC], datetime.now(timezone.utc))}
    record = views.stats_record(DOC, metrics, verbose=True)
    assert record["latency_p50_ms"] is None and record["latency_p99_ms"] is None and record["input_count"] == 12
    header, row = views.stats_table([record]).splitlines()
    cells = dict(zip(header.replace("P50 MS", "P50").replace("P99 MS", "P99").split(), row.split()))
    assert (cells["P50"], cells["P99"], cells["INPUT"]) == ("-", "-", "12")
    assert "LogSinkOperator" in views.operators_table(record)


def test_the_health_gate_judges_it_on_its_counters():
    verdict = judge_health(DOC["name"], [DOC, LATER], HealthPolicy())
    assert verdict.healthy, verdict.reasons
