"""The emulator answers as the real Atlas recordings and CI logs show (recorded-atlas/README.md)."""
import re

import pytest
import requests

KAFKA = {"name": "k1", "type": "Kafka", "bootstrapServers": "example.com:8080,fraud.example.com:8000",
         "authentication": {"mechanism": "SCRAM-256", "username": "admin", "password": "never-returned"},
         "security": {"protocol": "PLAINTEXT"}, "config": {"auto.offset.reset": "earliest"}}
WS = {"name": "ws1", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}}


@pytest.fixture
def ws(api):
    api.ok("createStreamWorkspace", WS)
    return api


def test_workspace_body_has_the_recorded_shape(api):
    created = api.ok("createStreamWorkspace", WS)
    assert list(created) == ["_id", "dataProcessRegion", "failoverRegions", "groupId", "hostnames", "name",
                             "streamConfig"]  # recorded: no links on objects
    assert created["failoverRegions"] == [] and created["streamConfig"] == {"tier": "SP30"}  # no maxTierSize
    [hostname] = created["hostnames"]
    assert re.fullmatch(rf"atlas-stream-{created['_id']}-[a-z]{{6}}\.virginia-usa\.a\.query\.mongodb\.net", hostname)
    asked = api.ok("createStreamWorkspace", {"name": "ws2", "streamConfig": {"tier": "SP10", "maxTierSize": "SP30"}})
    assert asked["streamConfig"] == {"tier": "SP10", "maxTierSize": "SP30"}


def test_kafka_connection_gets_region_and_public_networking_filled_in(ws):
    created = ws.ok("createStreamConnection", KAFKA, workspace="ws1")
    assert created["region"] == "VIRGINIA_USA" and created["networking"] == {"access": {"type": "PUBLIC"}}
    assert created["authentication"] == {"mechanism": "SCRAM-256", "username": "admin"}
    assert created["state"] == "READY" and len(created["id"]) == 24 and "_id" not in created
    patched = ws.ok("updateStreamConnection", {"authentication": {"mechanism": "SCRAM-512", "username": "admin"}},
                    workspace="ws1", connection="k1")
    assert patched["authentication"]["mechanism"] == "SCRAM-512" and patched["region"] == "VIRGINIA_USA"


def test_docs_spelling_of_scram_and_other_bad_enums_are_invalid_enum_value(ws):
    bad = ws.call("createStreamConnection", {**KAFKA, "authentication": {"mechanism": "SCRAM-SHA-256"}},
                  workspace="ws1")
    assert bad.status_code == 400 and bad.json()["errorCode"] == "INVALID_ENUM_VALUE"
    assert "SCRAM-SHA-256" in bad.json()["detail"]
    typo = ws.call("createStreamConnection", {"name": "x", "type": "Kafak"}, workspace="ws1")
    assert typo.status_code == 400 and typo.json()["errorCode"] == "INVALID_ENUM_VALUE"


def test_duplicate_connection_and_networking_change_use_the_recorded_codes(ws):
    ws.ok("createStreamConnection", KAFKA, workspace="ws1")
    dup = ws.call("createStreamConnection", KAFKA, workspace="ws1")
    assert dup.status_code == 409 and dup.json()["errorCode"] == "STREAM_CONNECTION_NAME_ALREADY_EXISTS"
    assert dup.json()["detail"] == "A Stream connection with the name k1 already exists."
    vpc = {"networking": {"access": {"type": "VPC", "connectionId": "x"}}}
    moved = ws.call("updateStreamConnection", vpc, workspace="ws1", connection="k1")
    assert moved.status_code == 400 and moved.json()["errorCode"] == "STREAM_NETWORKING_ACCESS_TYPE_CANNOT_BE_MODIFIED"


def test_deletes_answer_202_with_an_empty_object(ws):
    ws.ok("createStreamConnection", KAFKA, workspace="ws1")
    for resp in (ws.call("deleteStreamConnection", workspace="ws1", connection="k1"),
                 ws.call("deleteStreamWorkspace", workspace="ws1")):
        assert resp.status_code == 202 and resp.content == b"{}"
        assert resp.headers["Content-Type"] == "application/vnd.atlas.2023-02-01+json;charset=utf-8"


def test_a_workspace_with_processors_cannot_be_deleted_whatever_their_state(ws):
    ws.ok("createStreamConnection", {"name": "sample_stream_solar", "type": "Sample"}, workspace="ws1")
    ws.ok("createStreamProcessor", {"name": "p", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                                             {"$emit": {"connectionName": "__testLog"}}]},
          workspace="ws1")
    refused = ws.call("deleteStreamWorkspace", workspace="ws1")  # p is CREATED, never started
    assert refused.status_code == 403
    assert refused.json()["errorCode"] == "STREAM_TENANT_HAS_STREAM_PROCESSORS"
    assert refused.json()["detail"] == "Stream workspace with name ws1 has active processors, and cannot be changed."
    assert ws.call("deleteStreamProcessor", workspace="ws1", processor="p").status_code == 204
    assert ws.call("deleteStreamWorkspace", workspace="ws1").status_code == 202


def test_every_answer_carries_a_falling_rate_limit_budget_and_429_when_spent(api):
    remaining = []
    for _ in range(3):
        resp = api.call("listStreamWorkspaces")
        assert resp.headers["Ratelimit-Limit"] == "1200"
        remaining.append(int(resp.headers["Ratelimit-Remaining"]))
    assert remaining[0] > remaining[1] > remaining[2] and remaining[0] <= 1199
    api.emulator.admin("POST", "config", {"rate_limit": 2, "rate_window_s": 2.0})
    codes = [api.call("listStreamWorkspaces") for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    refused = codes[-1]
    assert refused.json()["errorCode"] == "RATE_LIMITED_TOKEN_BUCKET" and refused.headers["Retry-After"] == "2"
    assert refused.headers["Ratelimit-Remaining"] == "0"
    assert api.emulator.requests_served()["rate_limited"] == 1


def test_oauth_revoke_ends_a_token(emulator):
    token_url = emulator.url + "/api/oauth/token"
    token = requests.post(token_url, auth=("local", "local"), data={"grant_type": "client_credentials"},
                          timeout=5).json()["access_token"]
    url = emulator.url + "/api/atlas/v2/groups/0123456789abcdef01234567/streams"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.atlas.2025-03-12+json"}
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    revoked = requests.post(emulator.url + "/api/oauth/revoke", auth=("local", "local"),
                            data={"token": token, "token_type_hint": "access_token"}, timeout=5)
    assert revoked.status_code == 200
    assert requests.get(url, headers=headers, timeout=5).status_code == 401


def test_stats_latency_can_be_left_out_as_in_older_responses(ws):
    ws.ok("createStreamConnection", {"name": "sample_stream_solar", "type": "Sample"}, workspace="ws1")
    ws.ok("createStreamProcessor", {"name": "p", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                                             {"$emit": {"connectionName": "__testLog"}}]},
          workspace="ws1")
    ws.ok("startStreamProcessor", workspace="ws1", processor="p")
    stats = ws.ok("getStreamProcessor", workspace="ws1", processor="p")["stats"]
    assert "latency" in stats
    operator = stats["operatorStats"][0]
    assert {"executionTimeSecs", "timeSpentMillis"} <= set(operator) and "executionTimeMillis" not in operator
    ws.emulator.admin("POST", "config", {"stats_latency": False})
    assert "latency" not in ws.ok("getStreamProcessor", workspace="ws1", processor="p")["stats"]
