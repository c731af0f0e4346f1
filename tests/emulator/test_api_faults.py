"""Fault injection and request accounting (the emulator's admin endpoints)."""
import time


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


def test_delay_rule_adds_latency_until_cleared(api):
    api.emulator.faults({"path": "/streams$", "delay_ms": 150})
    started = time.monotonic()
    assert api.call("listStreamWorkspaces").status_code == 200
    slowed = time.monotonic() - started
    api.emulator.admin("DELETE", "faults")
    started = time.monotonic()
    api.call("listStreamWorkspaces")
    # relative, not absolute: the injected delay must dominate the undelayed call
    assert slowed > 0.15 and slowed > (time.monotonic() - started)


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
    import requests

    resp = requests.post(f"{emulator.url}/_emulator/faults", json=[{"path": "(", "status": 500}], timeout=5)
    assert resp.status_code == 400
    resp = requests.post(f"{emulator.url}/_emulator/faults", json=[{"paht": "x"}], timeout=5)
    assert resp.status_code == 400
