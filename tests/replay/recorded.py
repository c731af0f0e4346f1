"""The recorded Atlas CLI sessions as data: each response file with the request that produced it.

``STEPS`` lists, in recorded order, the request the Atlas CLI sent (endpoint, path parameters,
body) for every response kept in ``recordings/``. Request bodies come from the CLI's own test
inputs (``recordings/requests``) and its source (workspace create/update flags), see NOTICE.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "recordings"
STREAMS_GROUP, CLUSTER_GROUP = "6a793f48c0eb9e7a17712c9a", "6a793f5ac0eb9e7a177143e3"
SECRET_VALUES = ("hunter2", "hunter3")  # the passwords the CLI's test inputs send


@dataclass(frozen=True)
class Recorded:
    status: int
    headers: dict[str, str]
    body: Any  # decoded JSON (None when empty)
    raw: bytes


@dataclass(frozen=True)
class Step:
    file: str  # relative to recordings/
    endpoint: str  # operationId (sp_tasks.atlas.paths)
    params: dict[str, str]
    body: Any = None

    @property
    def group(self) -> str:
        return CLUSTER_GROUP if self.file.startswith("streams_with_cluster") else STREAMS_GROUP

    def response(self) -> Recorded:
        return parse((HERE / self.file).read_bytes())


def parse(data: bytes) -> Recorded:
    head, _, raw = data.partition(b"\n\n")
    status_line, *lines = head.decode().splitlines()
    headers = dict(line.split(": ", 1) for line in lines)
    body = json.loads(raw) if raw.strip() else None
    return Recorded(int(status_line.split()[1]), headers, body, raw)


def request_body(name: str, **fields: Any) -> dict[str, Any]:
    body = json.loads((HERE / "requests" / name).read_text())
    return {**body, **fields}


def _connection(name: str, cluster: str | None = None) -> dict[str, Any]:
    body = request_body(name)
    if cluster:
        body["clusterName"] = cluster
    return body


WS = {"workspace": "instance-908"}
CONN = {**WS, "connection": "connection-290"}
REGION = {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}
CREATE_KAFKA = {**_connection("create_streams_connection_test.json"), "name": "connection-290"}
UPDATE_KAFKA = {**_connection("update_streams_connection_test.json"), "name": "connection-290"}
CREATE_CLUSTER = _connection("create_streams_connection_atlas_test.json", cluster="cluster-910")
STEPS: tuple[Step, ...] = (
    Step("streams/List_all_streams_in_the_e2e_project__GET_streams_1.snaphost", "listStreamWorkspaces", {}),
    Step("streams/Creating_a_streams_instance__POST_streams_1.snaphost", "createStreamWorkspace", {},
         {"name": "instance-908", "dataProcessRegion": REGION, "streamConfig": {"tier": "SP30"}}),
    Step("streams/List_all_streams_in_the_e2e_project_after_creating__GET_streams_1.snaphost",
         "listStreamWorkspaces", {}),
    Step("streams/Describing_a_streams_instance__GET_streams_instance-908_1.snaphost", "getStreamWorkspace", WS),
    Step("streams/Updating_a_streams_instance__PATCH_streams_instance-908_1.snaphost", "updateStreamWorkspace", WS,
         REGION),
    Step("streams/Creating_a_streams_connection__POST_streams_instance-908_connections_1.snaphost",
         "createStreamConnection", WS, CREATE_KAFKA),
    Step("streams/Describing_a_streams_connection__GET_streams_instance-908_connections_connection-290_1.snaphost",
         "getStreamConnection", CONN),
    Step("streams/Listing_streams_connections__GET_streams_instance-908_connections_1.snaphost",
         "listStreamConnections", WS),
    Step("streams/Updating_a_streams_connection__PATCH_streams_instance-908_connections_connection-290_1.snaphost",
         "updateStreamConnection", CONN, UPDATE_KAFKA),
    Step("streams/Deleting_a_streams_connection__DELETE_streams_instance-908_connections_connection-290_1.snaphost",
         "deleteStreamConnection", CONN),
    Step("streams/Deleting_a_streams_instance__DELETE_streams_instance-908_1.snaphost", "deleteStreamWorkspace", WS),
    Step("streams_with_cluster/Creating_a_streams_instance__POST_streams_1.snaphost", "createStreamWorkspace", {},
         {"name": "instance-508", "dataProcessRegion": REGION, "streamConfig": {"tier": "SP30"}}),
    Step("streams_with_cluster/Create_a_streams_connection_with_an_atlas_cluster__POST_streams_instance-508_"
         "connections_1.snaphost", "createStreamConnection", {"workspace": "instance-508"}, CREATE_CLUSTER),
    Step("streams_with_cluster/Deleting_a_streams_instance__DELETE_streams_instance-508_1.snaphost",
         "deleteStreamWorkspace", {"workspace": "instance-508"}),
)
# Connection files a user would keep in Git for the recorded connections: what produced each body.
CONNECTION_FILES = {
    "streams/Creating_a_streams_connection__POST_streams_instance-908_connections_1.snaphost": CREATE_KAFKA,
    "streams/Describing_a_streams_connection__GET_streams_instance-908_connections_connection-290_1.snaphost":
        CREATE_KAFKA,
    "streams/Updating_a_streams_connection__PATCH_streams_instance-908_connections_connection-290_1.snaphost":
        UPDATE_KAFKA,
    "streams_with_cluster/Create_a_streams_connection_with_an_atlas_cluster__POST_streams_instance-508_"
    "connections_1.snaphost": CREATE_CLUSTER,
}
