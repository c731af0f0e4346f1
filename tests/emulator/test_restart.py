"""Everything survives an emulator restart: resources, states, counters, sink documents."""

from requests.auth import HTTPDigestAuth
import requests

from sp_tasks.atlas import paths
from sp_tasks.emulator.backend import Backend
from sp_tasks.emulator.lifecycle import ZERO_DELAYS
from sp_tasks.emulator.server import EmulatorServer
from tests.polling import wait_for

GID = "0123456789abcdef01234567"


class Client:
    def __init__(self, url):
        self.url, self.session = url, requests.Session()
        self.session.auth = HTTPDigestAuth("local", "local")

    def __call__(self, name, body=None, **params):
        ep = paths.endpoint(name)
        resp = self.session.request(ep.method, self.url + ep.path(group_id=GID, **params), json=body,
                                    headers={"Accept": ep.accept}, timeout=10)
        assert resp.status_code < 300, resp.text
        return resp.json() if resp.content else None

def test_state_counters_and_documents_survive_a_restart(tmp_path):
    server = EmulatorServer(Backend(tmp_path, sample_rate=500.0, delays=ZERO_DELAYS)).start()
    api = Client(server.url)
    api("withStreamSampleConnections", {"name": "ws"})
    api("createStreamConnection", {"name": "c", "type": "Cluster", "clusterName": "C0"}, workspace="ws")
    merge = {"$merge": {"into": {"connectionName": "c", "db": "d", "coll": "out"}}}
    for name in ("running", "stopped"):
        api("createStreamProcessor", {"name": name, "pipeline": [
            {"$source": {"connectionName": "sample_stream_solar"}}, merge]}, workspace="ws")
        api("startStreamProcessor", workspace="ws", processor=name)
    api("stopStreamProcessor", workspace="ws", processor="stopped")
    before = wait_for(lambda: (s := api("getStreamProcessor", workspace="ws", processor="running").get("stats"))
                   and s["outputMessageCount"] > 100 and s)
    server.stop()

    server = EmulatorServer(Backend(tmp_path, sample_rate=500.0, delays=ZERO_DELAYS)).start()
    try:
        api = Client(server.url)
        assert [c["name"] for c in api("listStreamConnections", workspace="ws")["results"]] == [
            "sample_stream_solar", "c"]
        states = {p["name"]: p["state"] for p in api("getStreamProcessors", workspace="ws")["results"]}
        assert states == {"running": "STARTED", "stopped": "STOPPED"}
        after = wait_for(lambda: (s := api("getStreamProcessor", workspace="ws", processor="running")["stats"])
                      ["inputMessageCount"] > before["inputMessageCount"] and s)
        assert after["outputMessageCount"] >= before["outputMessageCount"]  # continued, not reset
        docs = requests.get(f"{server.url}/_emulator/documents", timeout=5,
                            params={"group": GID, "cluster": "C0", "db": "d", "coll": "out", "limit": "5"}).json()
        assert len(docs["results"]) == 5 and "$date" in str(docs["results"][0]["_ts"])
    finally:
        server.stop()
