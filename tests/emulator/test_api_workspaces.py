"""Workspaces and connections over real HTTP: bodies, status codes and Atlas error codes (§2–§4, §7)."""
import pytest

WS = {"name": "ws1", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
      "streamConfig": {"tier": "SP10"}}


def test_workspace_create_get_list_update_delete_round_trip(api):
    created = api.call("createStreamWorkspace", WS)
    assert created.status_code == 200  # creates answer 200, not 201
    doc = created.json()
    assert doc["name"] == "ws1" and doc["groupId"] == api.group_id and len(doc["_id"]) == 24
    assert doc["streamConfig"]["tier"] == "SP10" and doc["hostnames"]
    listed = api.ok("listStreamWorkspaces")
    assert listed["totalCount"] == 1 and listed["results"][0]["name"] == "ws1"
    updated = api.ok("updateStreamWorkspace", {"streamConfig": {"tier": "SP30"}}, workspace="ws1")
    assert updated["streamConfig"]["tier"] == "SP30"
    assert api.call("deleteStreamWorkspace", workspace="ws1").status_code == 202
    gone = api.call("getStreamWorkspace", workspace="ws1")
    assert gone.status_code == 404 and gone.json()["errorCode"] == "STREAM_TENANT_NOT_FOUND_FOR_NAME"


def test_with_sample_connections_adds_the_solar_source(api):
    api.ok("withStreamSampleConnections", WS)
    conns = api.ok("listStreamConnections", workspace="ws1")["results"]
    assert [(c["name"], c["type"]) for c in conns] == [("sample_stream_solar", "Sample")]
    got = api.ok("getStreamWorkspace", query={"includeConnections": "true"}, workspace="ws1")
    assert got["connections"][0]["name"] == "sample_stream_solar"


def test_duplicate_workspace_is_409(api):
    api.ok("createStreamWorkspace", WS)
    resp = api.call("createStreamWorkspace", WS)
    assert resp.status_code == 409 and resp.json()["error"] == 409


@pytest.mark.parametrize("body, code", [
    ({"name": "ws1", "bogus": 1}, "INVALID_ATTRIBUTE"),
    ({"name": "ws1", "streamConfig": {"tier": "SP7"}}, "INVALID_ENUM_VALUE"),  # recorded code
    ({"name": "ws1", "streamConfig": "SP10"}, "INVALID_JSON_ATTRIBUTE"),
    ({"name": "bad name!"}, "VALIDATION_ERROR"),
    ({"dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}}, "VALIDATION_ERROR"),
    ({"name": "ws1", "streamConfig": {"tier": "SP50", "maxTierSize": "SP10"}}, "VALIDATION_ERROR"),
])
def test_bad_workspace_bodies_get_atlas_shaped_400s(api, body, code):
    resp = api.call("createStreamWorkspace", body)
    assert resp.status_code == 400
    err = resp.json()
    assert err["errorCode"] == code and err["reason"] == "Bad Request" and err["detail"]


def test_connection_secrets_are_write_only(api):
    api.ok("createStreamWorkspace", WS)
    body = {"name": "kafka1", "type": "Kafka", "bootstrapServers": "b1:9092,b2:9092",
            "authentication": {"mechanism": "SCRAM-512", "username": "svc", "password": "s3cr3t-value"},
            "security": {"protocol": "SASL_SSL"}, "config": {"auto.offset.reset": "earliest"}}
    created = api.call("createStreamConnection", body, workspace="ws1")
    assert created.status_code == 200
    for resp in (created, api.call("getStreamConnection", workspace="ws1", connection="kafka1"),
                 api.call("listStreamConnections", workspace="ws1")):
        assert "s3cr3t-value" not in resp.text
    got = api.ok("getStreamConnection", workspace="ws1", connection="kafka1")
    assert got["authentication"] == {"mechanism": "SCRAM-512", "username": "svc"}
    assert got["id"] and got["state"] == "READY" and "_id" not in got


def test_connection_update_and_delete(api):
    api.ok("createStreamWorkspace", WS)
    api.ok("createStreamConnection", {"name": "c1", "type": "Cluster", "clusterName": "Cluster0"}, workspace="ws1")
    updated = api.ok("updateStreamConnection", {"clusterName": "Cluster1"}, workspace="ws1", connection="c1")
    assert updated["clusterName"] == "Cluster1" and updated["type"] == "Cluster"
    retyped = api.call("updateStreamConnection", {"type": "Kafka"}, workspace="ws1", connection="c1")
    assert retyped.status_code == 400
    assert api.call("deleteStreamConnection", workspace="ws1", connection="c1").status_code == 202
    missing = api.call("getStreamConnection", workspace="ws1", connection="c1")
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "STREAM_CONNECTION_NOT_FOUND_FOR_NAME"
    assert missing.json()["parameters"] == ["c1", api.group_id, "ws1"]


@pytest.mark.parametrize("body", [
    {"name": "x", "type": "Nope"},
    {"name": "x", "type": "Cluster", "clusterName": 5},
    {"name": "x", "type": "Https", "url": "https://h", "headers": {"a": 1}},
    {"name": "x", "type": "Kafka", "bootstrapServers": "b:1", "authentication": {"mechanism": "MD5"}},
    {"name": "x", "type": "Sample"},
])
def test_connection_types_are_checked(api, body):
    api.ok("createStreamWorkspace", WS)
    assert api.call("createStreamConnection", body, workspace="ws1").status_code == 400


def test_every_connection_type_is_accepted(api):
    api.ok("createStreamWorkspace", WS)
    bodies = [
        {"type": "Cluster", "clusterName": "C0", "dbRoleToExecute": {"role": "readWriteAnyDatabase", "type": "BUILT_IN"}},
        {"type": "Kafka", "bootstrapServers": "b:9092", "networking": {"access": {"type": "PUBLIC"}}},
        {"type": "Https", "url": "https://api.example.com", "headers": {"x-team": "data"}},
        {"type": "AWSLambda", "aws": {"roleArn": "arn:aws:iam::1:role/r"}},
        {"type": "S3", "aws": {"roleArn": "arn:aws:iam::1:role/r", "testBucket": "b"}},
        {"type": "AWSKinesisDataStreams", "aws": {"roleArn": "arn:aws:iam::1:role/r"}},
        {"type": "SchemaRegistry", "provider": "CONFLUENT", "schemaRegistryUrls": ["https://sr"],
         "schemaRegistryAuthentication": {"type": "USER_INFO", "username": "u", "password": "p"}},
        {"type": "AzureBlobStorage", "azure": {"servicePrincipalId": "sp", "storageAccountName": "acct"}},
        {"type": "GCPPubSub", "gcp": {"serviceAccountId": "sa"}},
    ]
    for index, body in enumerate(bodies):
        api.ok("createStreamConnection", {"name": f"c{index}", **body}, workspace="ws1")
    listed = api.ok("listStreamConnections", workspace="ws1")
    assert listed["totalCount"] == len(bodies)
    registry = next(c for c in listed["results"] if c["type"] == "SchemaRegistry")
    assert "password" not in registry["schemaRegistryAuthentication"]


def test_sub_resources_of_a_missing_workspace_are_404(api):
    resp = api.call("listStreamConnections", workspace="nope")
    assert resp.status_code == 404 and resp.json()["errorCode"] == "STREAM_TENANT_NOT_FOUND_FOR_NAME"


def test_pagination_returns_every_item_once(api):
    for index in range(7):
        api.ok("createStreamWorkspace", {"name": f"ws{index}"})
    seen = []
    for page in (1, 2, 3):
        body = api.ok("listStreamWorkspaces", query={"itemsPerPage": 3, "pageNum": page})
        assert body["totalCount"] == 7
        seen += [w["name"] for w in body["results"]]
    assert seen == [f"ws{i}" for i in range(7)]
    no_count = api.ok("listStreamWorkspaces", query={"includeCount": "false"})
    assert "totalCount" not in no_count
    assert api.call("listStreamWorkspaces", query={"itemsPerPage": 501}).status_code == 400
