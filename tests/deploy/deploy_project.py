"""A throwaway project (processors, connections, environment) deployed against the test emulator."""
from __future__ import annotations

import json
from pathlib import Path

from sp_tasks.clock import SystemClock
from sp_tasks.deploy.service import Runner

FILTER = {"name": "hot", "pipeline": [
    {"$source": {"connectionName": "sample_stream_solar"}},
    {"$match": {"obs.watts": {"$gt": 100}}},
    {"$merge": {"into": {"connectionName": "cluster", "db": "solar", "coll": "hot"}}}]}
WINDOW = {"name": "per_group", "pipeline": [
    {"$source": {"connectionName": "sample_stream_solar"}},
    {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
                         "pipeline": [{"$group": {"_id": "$group_id", "n": {"$sum": 1}}}]}},
    {"$merge": {"into": {"connectionName": "cluster", "db": "solar", "coll": "per_group"}}}]}
LOGGER = {"name": "logger", "pipeline": [
    {"$source": {"connectionName": "sample_stream_solar"}},
    {"$project": {"device_id": 1, "watts": "$obs.watts"}},
    {"$emit": {"connectionName": "__testLog"}}]}
CLUSTER = {"name": "cluster", "type": "Cluster", "clusterName": "Cluster0"}
# The gate ends as soon as each processor shows growth (a few tenths of a second at the test
# emulator's rate); the generous start timeout only matters on a machine under heavy load. The
# window bounds a gate without that evidence and is the whole of a canary comparison: 1 s holds
# many 50-ms ticks of the source, so growth shows in it even on a busy machine.
THRESHOLDS = {"health": {"window_s": 1.0, "interval_s": 0.25, "started_timeout_s": 30}}


class Project:
    def __init__(self, root: Path, emulator):
        self.root = root
        self.emulator = emulator
        self.environ = {"MONGODB_ATLAS_PUBLIC_API_KEY": "local", "MONGODB_ATLAS_PRIVATE_API_KEY": "local"}
        env = root / "environments" / "test"
        env.mkdir(parents=True)
        (env / "config.env").write_text(
            f"ATLAS_BASE_URL={emulator.url}\nPROJECT_ID=0123456789abcdef01234567\n"
            "WORKSPACE_NAME=ws-test\nDEFAULT_TIER=SP10\nALLOW_CREATE_WORKSPACE=true\n")
        (env / "thresholds.json").write_text(json.dumps(THRESHOLDS))
        for doc in (FILTER, WINDOW, LOGGER):
            self.write("processors", doc)
        self.write("connections", CLUSTER)

    def thresholds(self, **health) -> None:
        """Change the health-gate settings of thresholds.json for this project."""
        path = self.root / "environments" / "test" / "thresholds.json"
        doc = json.loads(path.read_text())
        doc["health"] = {**doc.get("health", {}), **health}
        path.write_text(json.dumps(doc))

    def write(self, folder: str, doc: dict) -> None:
        path = self.root / folder / f"{doc['name']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2))

    def remove(self, folder: str, name: str) -> None:
        (self.root / folder / f"{name}.json").unlink()

    def settings(self):
        from sp_tasks.settings import load_settings

        return load_settings("test", self.root, self.environ)

    def desired(self):
        from sp_tasks.desired import load_desired

        return load_desired(self.settings())

    def runner(self, lines: list | None = None) -> Runner:
        from sp_tasks.atlas.connect import open_client

        settings = self.settings()
        progress = (lines.append if lines is not None else (lambda _: None))
        return Runner(settings, open_client(settings), SystemClock(), progress)

    def live_processors(self) -> dict[str, dict]:
        return {p.name: p.__dict__ for p in self.runner().live().processors}


def exit_of(call) -> tuple[int, str]:
    """Run a task call; (exit code, the message invoke would print on stderr)."""
    from invoke import Exit

    try:
        call()
    except Exit as exc:
        return exc.code, str(exc.message or "")
    return 0, ""
