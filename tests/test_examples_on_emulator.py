"""The repository's example processors are accepted by the emulator and really run there."""
from __future__ import annotations

from pathlib import Path

from sp_tasks.desired import load_desired
from sp_tasks.settings import load_settings
from tests.polling import wait_for

REPO = Path(__file__).resolve().parents[1]

def test_examples_create_start_and_flow_on_the_emulator(api):
    desired = load_desired(load_settings("local", REPO, environ={}))
    api.ok("createStreamWorkspace", {"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
                                     "streamConfig": {"tier": "SP10", "maxTierSize": "SP50"}})
    for conn in desired.connections:
        api.ok("createStreamConnection", conn.body, workspace="ws")
    for proc in desired.processors:
        body = {"name": proc.name, "pipeline": proc.pipeline, **({"options": proc.options} if proc.options else {})}
        api.ok("createStreamProcessor", body, workspace="ws")
        api.ok("startStreamProcessor", workspace="ws", processor=proc.name)

    windowed = {"solarGroupStats"}  # emits only when a 10 s event-time window closes: inputs suffice

    def all_flowing():
        found = api.ok("getStreamProcessors", workspace="ws")["results"]
        stats = {p["name"]: (p["state"], p.get("stats", {})) for p in found}
        return stats if all(state == "STARTED" and s.get("inputMessageCount", 0) > 0 and
                            (name in windowed or s.get("outputMessageCount", 0) > 0)
                            for name, (state, s) in stats.items()) else None

    assert set(wait_for(all_flowing)) == {p.name for p in desired.processors}
    for proc in desired.processors:
        api.ok("stopStreamProcessor", workspace="ws", processor=proc.name)
