"""A client no one here wrote, as the official MCP server behaves: one dated Accept (2025-03-12) for
every streams endpoint, polling until each transition settles. No call may answer 406."""
import requests
from requests.auth import HTTPDigestAuth

from tests.polling import wait_for

ACCEPT = "application/vnd.atlas.2025-03-12+json"
SOLAR = {"$source": {"connectionName": "sample_stream_solar"}}
MERGE = {"$merge": {"into": {"connectionName": "cluster", "db": "solar", "coll": "hot"}}}


class Outsider:
    def __init__(self, emulator):
        self.base = f"{emulator.url}/api/atlas/v2/groups/0123456789abcdef01234567/streams"
        self.session = requests.Session()
        self.session.auth = HTTPDigestAuth("local", "local")
        self.statuses: list[int] = []
        self.versions: set[str] = set()

    def __call__(self, method: str, path: str = "", body=None, expect: int = 200):
        resp = self.session.request(method, self.base + path, json=body, timeout=10,
                                    headers={"Accept": ACCEPT, "Content-Type": "application/json"})
        self.statuses.append(resp.status_code)
        if resp.status_code < 300 and resp.content:
            self.versions.add(resp.headers["Content-Type"].split(";")[0])
        assert resp.status_code == expect, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def processor(self, name: str) -> dict:
        return self("GET", f"/ws/processor/{name}")


def test_a_full_lifecycle_with_the_mcp_servers_accept_header_never_meets_a_406(emulator):
    emulator.admin("POST", "config", {"lifecycle": {"processor_create": 0.2, "processor_start": 0.2,
                                                    "processor_stop": 0.2}})
    call = Outsider(emulator)
    call("POST", "", {"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
                      "streamConfig": {"tier": "SP10"}})
    call("POST", "/ws/connections", {"name": "sample_stream_solar", "type": "Sample"})
    call("POST", "/ws/connections", {"name": "cluster", "type": "Cluster", "clusterName": "Cluster0",
                                     "dbRoleToExecute": {"role": "readWriteAnyDatabase", "type": "BUILT_IN"}})
    call("POST", "/ws/processor", {"name": "hot", "pipeline": [SOLAR, {"$match": {"obs.watts": {"$gt": 100}}}, MERGE]})
    wait_for(lambda: call.processor("hot")["state"] == "CREATED")
    call("POST", "/ws/processor/hot:start")
    stats = wait_for(lambda: (call.processor("hot").get("stats") or {}).get("inputMessageCount", 0) > 0
                     and call.processor("hot")["stats"])
    assert stats["outputMessageCount"] >= 0
    call("POST", "/ws/processor/hot:stop")
    wait_for(lambda: call.processor("hot")["state"] == "STOPPED")
    edited = [SOLAR, {"$match": {"obs.watts": {"$gt": 200}}}, MERGE]
    assert call("PATCH", "/ws/processor/hot", {"pipeline": edited})["pipeline"] == edited
    call("PATCH", "/ws/processor/hot", {"name": "hotter"})
    call("GET", "/ws/processor/hot", expect=404)
    listed = call("GET", "/ws/processors")
    assert [p["name"] for p in listed["results"]] == ["hotter"]
    call("POST", "/ws/processor/hotter:startWith", {"resumeFromCheckpoint": False})
    wait_for(lambda: call.processor("hotter")["state"] == "STARTED")
    call("POST", "/ws/processor/hotter:stop")
    wait_for(lambda: call.processor("hotter")["state"] == "STOPPED")
    call("DELETE", "/ws/processor/hotter", expect=204)
    for name in ("cluster", "sample_stream_solar"):
        call("DELETE", f"/ws/connections/{name}", expect=202)
    call("DELETE", "/ws", expect=202)
    call("GET", "/ws", expect=404)
    assert 406 not in call.statuses
    assert call.versions == {"application/vnd.atlas.2023-02-01+json", "application/vnd.atlas.2024-05-30+json"}
