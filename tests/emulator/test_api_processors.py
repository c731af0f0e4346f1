"""Processors over real HTTP: state machine, validation answers, stats and what survives a restart."""
import subprocess

import pytest

from sp_tasks.atlas import paths, unconfirmed
from sp_tasks.planning.processors import reset_reason
from tests.polling import wait_for

SOLAR = {"$source": {"connectionName": "sample_stream_solar"}}
MERGE = {"$merge": {"into": {"connectionName": "c1", "db": "d", "coll": "out"}}}
PROC = {"name": "p1", "pipeline": [SOLAR, {"$match": {"obs.watts": {"$gt": 10}}}, MERGE]}
GROUP_BY_DEVICE = [{"$group": {"_id": "$device_id", "n": {"$sum": 1}}}]
TEN_SECONDS = {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"}, "pipeline": GROUP_BY_DEVICE}}
WINDOWED = {"name": "w1", "pipeline": [SOLAR, TEN_SECONDS, MERGE]}
ENGINE_STATUSES = {"created", "starting", "running", "error", "stopping"}  # reference §5.3 / §6
COUNTERS = ("inputMessageCount", "inputMessageSize", "outputMessageCount", "outputMessageSize",
            "dlqMessageCount", "dlqMessageSize")


@pytest.fixture
def ws(api):
    api.ok("withStreamSampleConnections", {"name": "ws1"})
    api.ok("createStreamConnection", {"name": "c1", "type": "Cluster", "clusterName": "C0"}, workspace="ws1")
    return api


def _stats(api, name="p1"):
    return api.ok("getStreamProcessor", workspace="ws1", processor=name).get("stats")

def test_create_start_stop_modify_delete_lifecycle(ws):
    created = ws.call("createStreamProcessor", PROC, workspace="ws1")
    assert created.status_code == 200
    body = created.json()
    assert body["state"] == "CREATED" and "stats" not in body and len(body["_id"]) == 24
    assert ws.call("startStreamProcessor", workspace="ws1", processor="p1").status_code == 200
    grown = wait_for(lambda: (_stats(ws) or {}).get("inputMessageCount", 0) > 50 and _stats(ws))
    assert grown["outputMessageCount"] > 0 and grown["status"] == "running"
    assert grown["processorId"] == body["_id"] and grown["latency"]["unit"] == "microseconds"
    refused = ws.call("updateStreamProcessor", {"pipeline": PROC["pipeline"]}, workspace="ws1", processor="p1")
    assert refused.status_code == 400 and refused.json()["errorCode"] == "STREAM_PROCESSOR_GENERIC_ERROR"
    assert ws.call("stopStreamProcessor", workspace="ws1", processor="p1").status_code == 200
    stopped = ws.ok("getStreamProcessor", workspace="ws1", processor="p1")
    assert stopped["state"] == "STOPPED" and stopped["stats"]["inputMessageCount"] >= grown["inputMessageCount"]
    assert stopped["stats"]["status"] == unconfirmed.STOPPED_STATS_STATUS and stopped["stats"]["status"] in ENGINE_STATUSES
    new_pipeline = [SOLAR, {"$match": {"obs.watts": {"$gt": 20}}}, MERGE]
    modified = ws.ok("updateStreamProcessor", {"pipeline": new_pipeline}, workspace="ws1", processor="p1")
    assert modified["pipeline"] == new_pipeline
    ws.ok("startStreamProcessor", workspace="ws1", processor="p1")
    resumed = wait_for(lambda: _stats(ws)["inputMessageCount"] > stopped["stats"]["inputMessageCount"] and _stats(ws))
    assert resumed["inputMessageCount"] > stopped["stats"]["inputMessageCount"]  # counters survive stop/start
    assert ws.call("deleteStreamProcessor", workspace="ws1", processor="p1").status_code == 400  # running
    ws.ok("stopStreamProcessor", workspace="ws1", processor="p1")
    assert ws.call("deleteStreamProcessor", workspace="ws1", processor="p1").status_code == 204
    assert ws.call("getStreamProcessor", workspace="ws1", processor="p1").status_code == 404


@pytest.mark.parametrize("pipeline, fragment", [
    ([{"$match": {}}, MERGE], "$source"),
    ([SOLAR, {"$match": {}}], "sink"),
    ([SOLAR, {"$group": {"_id": "$device_id"}}, MERGE], "$group"),
    ([SOLAR, {"$merge": {"into": {"connectionName": "missing", "db": "d", "coll": "c"}}}], "missing"),
    ([SOLAR, {"$addFields": {"t": "$$NOW"}}, MERGE], "$$NOW"),
])
def test_invalid_pipelines_get_the_generic_processor_error(ws, pipeline, fragment):
    resp = ws.call("createStreamProcessor", {"name": "bad", "pipeline": pipeline}, workspace="ws1")
    err = resp.json()
    assert resp.status_code == 400 and err["errorCode"] == "STREAM_PROCESSOR_GENERIC_ERROR"
    assert err["detail"].startswith("Streams Processor with this name (bad) had a problem occur: ")
    assert fragment in err["detail"] and err["parameters"][0] == "bad"


def test_source_change_needs_resume_from_checkpoint_false(ws):
    ws.ok("createStreamProcessor", PROC, workspace="ws1")
    ws.ok("startStreamProcessor", workspace="ws1", processor="p1")
    ws.ok("stopStreamProcessor", workspace="ws1", processor="p1")
    docs_source = {"$source": {"documents": [{"a": 1}]}}
    body = {"pipeline": [docs_source, MERGE]}
    assert ws.call("updateStreamProcessor", body, workspace="ws1", processor="p1").status_code == 400
    reset = {**body, "options": {"resumeFromCheckpoint": False}}
    assert ws.call("updateStreamProcessor", reset, workspace="ws1", processor="p1").status_code == 200


def _window(interval: dict) -> dict:
    return {"$tumblingWindow": {**TEN_SECONDS["$tumblingWindow"], "interval": interval}}


def _ran(ws, body: dict) -> None:
    ws.ok("createStreamProcessor", body, workspace="ws1")
    ws.ok("startStreamProcessor", workspace="ws1", processor=body["name"])
    ws.ok("stopStreamProcessor", workspace="ws1", processor=body["name"])


@pytest.mark.parametrize("interval", [{"size": 10.0, "unit": "second"}, {"unit": "second", "size": 10}])
@pytest.mark.parametrize("after_window", [[], [{"$match": {"n": {"$gt": 0}}}]])
def test_an_equal_window_interval_is_a_plain_update_as_the_planner_says(ws, interval, after_window):
    _ran(ws, WINDOWED)
    pipeline = [SOLAR, _window(interval), *after_window, MERGE]
    assert reset_reason(WINDOWED["pipeline"], pipeline, None) == ""  # the planner sends a plain update
    resp = ws.call("updateStreamProcessor", {"pipeline": pipeline}, workspace="ws1", processor="w1")
    assert resp.status_code == 200, resp.text


def test_source_key_order_and_a_resent_pipeline_need_no_reset(ws):
    body = {"name": "w1", "pipeline": [SOLAR, {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"},
                                                                  "pipeline": [{"$project": {"a": 1}}]}}, MERGE]}
    _ran(ws, body)
    same_pipeline = {"pipeline": body["pipeline"], "options": {"dlq": {"connectionName": "c1", "db": "d", "coll": "dlq"}}}
    assert ws.call("updateStreamProcessor", same_pipeline, workspace="ws1", processor="w1").status_code == 200
    ws.ok("createStreamProcessor", {"name": "cs", "pipeline": [
        {"$source": {"connectionName": "c1", "db": "d", "coll": "in"}}, MERGE]}, workspace="ws1")
    ws.ok("startStreamProcessor", workspace="ws1", processor="cs")
    ws.ok("stopStreamProcessor", workspace="ws1", processor="cs")
    reordered = {"pipeline": [{"$source": {"coll": "in", "db": "d", "connectionName": "c1"}}, MERGE]}
    assert ws.call("updateStreamProcessor", reordered, workspace="ws1", processor="cs").status_code == 200


def test_an_interval_change_still_needs_resume_from_checkpoint_false(ws):
    _ran(ws, WINDOWED)
    body = {"pipeline": [SOLAR, _window({"size": 20, "unit": "second"}), MERGE]}
    assert ws.call("updateStreamProcessor", body, workspace="ws1", processor="w1").status_code == 400


def test_reset_modify_and_start_fresh_keep_counters_and_restart_windows(ws):
    """Reference §5.2: resumeFromCheckpoint false drops window state; only summary stats retained."""
    ws.ok("createStreamProcessor", WINDOWED, workspace="ws1")
    ws.ok("startStreamProcessor", workspace="ws1", processor="w1")
    wait_for(lambda: (_stats(ws, "w1") or {}).get("stateSize", 0) > 0)
    ws.ok("stopStreamProcessor", workspace="ws1", processor="w1")
    stopped = _stats(ws, "w1")
    assert stopped["inputMessageCount"] > 0 and stopped["stateSize"] > 0 and "minOpenWindowStartTime" in stopped
    body = {"pipeline": [SOLAR, _window({"size": 20, "unit": "second"}), MERGE],
            "options": {"resumeFromCheckpoint": False}}
    kept = ws.ok("updateStreamProcessor", body, workspace="ws1", processor="w1")["stats"]
    assert {k: kept[k] for k in COUNTERS} == {k: stopped[k] for k in COUNTERS}
    assert kept["stateSize"] == 0 and "minOpenWindowStartTime" not in kept and "watermark" not in kept
    ws.ok("startStreamProcessorWith", {"resumeFromCheckpoint": False}, workspace="ws1", processor="w1")
    assert _stats(ws, "w1")["inputMessageCount"] >= stopped["inputMessageCount"]


def test_parallelism_beyond_the_tier_is_refused_with_the_minimum_tier(ws):
    merge = {"$merge": {**MERGE["$merge"], "parallelism": 4}}
    ws.ok("createStreamProcessor", {"name": "wide", "pipeline": [SOLAR, merge]}, workspace="ws1")
    resp = ws.call("startStreamProcessorWith", {"tier": "SP2"}, workspace="ws1", processor="wide")
    assert resp.status_code == 400 and "SP10" in resp.json()["detail"]
    assert ws.call("startStreamProcessorWith", {"tier": "SP10"}, workspace="ws1", processor="wide").status_code == 200
    assert ws.ok("getStreamProcessor", workspace="ws1", processor="wide")["tier"] == "SP10"


def test_duplicates_missing_and_already_started(ws):
    ws.ok("createStreamProcessor", PROC, workspace="ws1")
    assert ws.call("createStreamProcessor", PROC, workspace="ws1").status_code == 409
    missing = ws.call("getStreamProcessor", workspace="ws1", processor="nope")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "STREAM_PROCESSOR_NOT_FOUND"
    ws.ok("startStreamProcessor", workspace="ws1", processor="p1")
    assert ws.call("startStreamProcessor", workspace="ws1", processor="p1").status_code == 400
    listed = ws.ok("getStreamProcessors", workspace="ws1", query={"itemsPerPage": 1})
    assert listed["totalCount"] == 1 and listed["results"][0]["name"] == "p1"


def test_injected_failure_on_start_and_deleted_connection_fail_the_processor(ws):
    ws.ok("createStreamProcessor", PROC, workspace="ws1")
    ws.emulator.faults({"processor": "p1", "fail_on_start": True, "count": 1})
    ws.ok("startStreamProcessor", workspace="ws1", processor="p1")
    assert wait_for(lambda: ws.ok("getStreamProcessor", workspace="ws1", processor="p1")["state"] == "FAILED")
    ws.ok("startStreamProcessor", workspace="ws1", processor="p1")  # FAILED -> STARTED is allowed
    assert ws.ok("getStreamProcessor", workspace="ws1", processor="p1")["state"] == "STARTED"
    assert ws.call("deleteStreamConnection", workspace="ws1", connection="c1").status_code == 202
    assert ws.ok("getStreamProcessor", workspace="ws1", processor="p1")["state"] == "FAILED"


def test_curl_with_digest_can_drive_the_api(emulator):
    """A client no one here wrote: curl --digest."""
    base = f"{emulator.url}/api/atlas/v2/groups/0123456789abcdef01234567/streams"

    def curl(method, path, accept, body=None):
        cmd = ["curl", "-s", "-o", "/dev/stderr", "-w", "%{http_code}", "--digest", "-u", "local:local",
               "-X", method, "-H", f"Accept: {accept}", base + path]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "-d", body]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return int(done.stdout), done.stderr

    ws_v, proc_v = paths.endpoint("createStreamWorkspace").accept, paths.endpoint("createStreamProcessor").accept
    assert curl("POST", ":withSampleConnections", paths.endpoint("withStreamSampleConnections").accept,
                '{"name": "w"}')[0] == 200
    status, body = curl("POST", "/w/processor", proc_v,
                        '{"name": "p", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},'
                        ' {"$emit": {"connectionName": "__testLog"}}]}')
    assert status == 200 and '"CREATED"' in body
    assert curl("POST", "/w/processor/p:start", proc_v)[0] == 200
    assert curl("GET", "/w", "application/json")[0] == 406
    assert curl("GET", "/w/processor/p", proc_v)[0] == 200
    assert curl("DELETE", "/w", ws_v)[0] == 403  # it has a processor (recorded: STREAM_TENANT_HAS_STREAM_PROCESSORS)
