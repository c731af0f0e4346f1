"""Fault injection and request accounting (the emulator's admin endpoints)."""
import time

import requests

ADMIN_HEADERS = {"X-SP-Emulator": "1", "Content-Type": "application/json"}
PROCESSOR = {"name": "p", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                       {"$emit": {"connectionName": "__testLog"}}]}


def test_status_rule_answers_count_times_then_clears(api):
    api.emulator.faults({"method": "GET", "path": "/streams$", "status": 429,
                         "headers": {"Retry-After": "1"}, "count": 2})
    first, second, third = (api.call("listStreamWorkspaces") for _ in range(3))
    assert first.status_code == second.status_code == 429
    assert first.headers["Retry-After"] == "1" and first.json()["errorCode"] == "RATE_LIMITED"
    assert third.status_code == 200
    assert api.emulator.admin("GET", "faults")["rules"] == []


def test_after_lets_requests_through_first(api):
    api.emulator.faults({"path": "/streams$", "status": 500, "after": 1, "count": 1})
    assert api.call("listStreamWorkspaces").status_code == 200
    failed = api.call("listStreamWorkspaces")
    assert failed.status_code == 500 and failed.json()["errorCode"] == "UNEXPECTED_ERROR"
    assert api.call("listStreamWorkspaces").status_code == 200


def test_delay_rule_applies_to_matching_requests_until_cleared(api):
    api.emulator.faults({"path": "/streams$", "delay_ms": 150})
    [rule] = api.emulator.admin("GET", "faults")["rules"]
    assert rule["delay_ms"] == 150 and rule["status"] is None and rule["count"] is None  # forever
    started = time.monotonic()
    assert api.call("listStreamWorkspaces").status_code == 200
    assert time.monotonic() - started >= 0.15  # a lower bound: load only makes it slower
    assert api.emulator.admin("GET", "faults")["rules"] == [rule]  # a delay without count stays
    api.emulator.admin("DELETE", "faults")
    assert api.emulator.admin("GET", "faults")["rules"] == []
    assert api.call("listStreamWorkspaces").status_code == 200
    assert api.emulator.requests_served()["by_method"] == {"GET": 2}


def test_after_handler_lets_the_write_land_and_loses_its_answer(api):
    api.ok("withStreamSampleConnections", {"name": "ws1"})
    api.emulator.faults({"method": "POST", "path": "/processor$", "status": 500, "after_handler": True, "count": 1})
    lost = api.call("createStreamProcessor", PROCESSOR, workspace="ws1")
    assert lost.status_code == 500 and lost.json()["errorCode"] == "UNEXPECTED_ERROR"
    assert api.ok("getStreamProcessor", workspace="ws1", processor="p")["state"] == "CREATED"  # it landed
    retried = api.call("createStreamProcessor", PROCESSOR, workspace="ws1")  # the rule is used up
    assert retried.status_code == 409


def test_after_handler_replaces_an_error_answer_too(api):
    api.emulator.faults({"method": "GET", "path": "/streams/nope$", "status": 503, "after_handler": True})
    assert api.call("getStreamWorkspace", workspace="nope").status_code == 503


def test_requests_are_counted_by_method_and_template(api):
    api.ok("createStreamWorkspace", {"name": "w"})
    api.ok("getStreamWorkspace", workspace="w")
    api.ok("getStreamWorkspace", workspace="w")
    counts = api.emulator.requests_served()
    assert counts["by_endpoint"]["GET /api/atlas/v2/groups/{group_id}/streams/{workspace}"] == 2
    assert counts["by_method"] == {"GET": 2, "POST": 1} and counts["total"] == 3
    api.emulator.admin("DELETE", "requests")
    assert api.emulator.requests_served()["total"] == 0


def test_bad_fault_rules_are_refused(emulator):
    for bad in ({"path": "(", "status": 500}, {"paht": "x"}, {"path": "x", "after_handler": True}):
        resp = requests.post(f"{emulator.url}/_emulator/faults", json=[bad], headers=ADMIN_HEADERS, timeout=5)
        assert resp.status_code == 400, bad


def test_slow_rules_need_a_processor_and_a_slowdown_not_a_speedup(emulator):
    for bad in ({"slow_factor": 1.1}, {"processor": "p", "slow_factor": 0.5}, {"processor": "p", "slow_ms": -1}):
        resp = requests.post(f"{emulator.url}/_emulator/faults", json=[bad], headers=ADMIN_HEADERS, timeout=5)
        assert resp.status_code == 400, bad
    emulator.faults({"processor": "p", "slow_factor": 1.1})
    [rule] = emulator.admin("GET", "faults")["rules"]
    assert (rule["processor"], rule["slow_factor"], rule["slow_ms"]) == ("p", 1.1, 0.0)
