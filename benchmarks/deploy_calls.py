"""Benchmark: API calls and wall time of deploys of 50 processors against the emulator.

Reports, for a project of N processors (default 50):
  1. first deploy (create + start all): calls, wall time;
  2. no-op deploy: calls (target: <= 4 plus pages) and wall time;
  (each with the Digest challenges it cost: 401s answered before the real call, not in "calls")
  3. deploy of N changed processors with D ms of injected API latency (default 20 ms): wall time
     for the apply, compared with the critical path (the longest chain of dependent calls times
     the latency) and with the parallel bound (all calls times the latency / max_parallel).
The emulator settles every transition at once (``--no-delays``) so the figures count the engine's
own calls; ``--lifecycle`` keeps its realistic delays and so counts the polling they cost too.
With --lifecycle (median of 3, shared machine under load), parallel waits sharing one list read
per poll (deploy/states.py) instead of a GET per processor: first deploy 555 -> 200 calls (0.36x),
changed apply 583 -> 248 calls (0.43x); wall time unchanged within noise (19.6 -> 20.1 s,
22.1 -> 24.5 s: the delays themselves dominate).
Run: python benchmarks/deploy_calls.py [--processors 50] [--latency-ms 20] [--repeats 3] [--lifecycle]

Measured 2026-11-30 on the shared 2-core machine under load (load average 7–11), 50 processors,
medians of 5: first deploy 222 calls, 1 Digest challenge (the workers share one handshake; each
did its own before, 10 per deploy), 3.14 s; no-op deploy 3 calls, 0 challenges, 0.67 s; 50
changed processors with 20 ms latency: 250 calls, 0 challenges, apply 2.79 s = 4.5× the
parallel bound (0.63 s), 28× the critical path (0.10 s).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sp_tasks.atlas.connect import open_client  # noqa: E402
from sp_tasks.clock import SystemClock  # noqa: E402
from sp_tasks.deploy import service  # noqa: E402
from sp_tasks.deploy.executor import Executor  # noqa: E402
from sp_tasks.desired import load_desired  # noqa: E402
from sp_tasks.settings import load_settings  # noqa: E402

ENVIRON = {"MONGODB_ATLAS_PUBLIC_API_KEY": "local", "MONGODB_ATLAS_PRIVATE_API_KEY": "local"}


def write_project(root: Path, url: str, n: int, threshold: int) -> None:
    env = root / "environments" / "bench"
    env.mkdir(parents=True, exist_ok=True)
    (env / "config.env").write_text(f"ATLAS_BASE_URL={url}\nPROJECT_ID=0123456789abcdef01234567\n"
                                    "WORKSPACE_NAME=bench\nDEFAULT_TIER=SP10\nALLOW_CREATE_WORKSPACE=true\n")
    (env / "thresholds.json").write_text(json.dumps({"health": {"samples": 2, "interval_s": 0.5,
                                                                "started_timeout_s": 30}}))
    (root / "connections").mkdir(exist_ok=True)
    (root / "connections" / "cluster.json").write_text(json.dumps(
        {"name": "cluster", "type": "Cluster", "clusterName": "C0"}))
    (root / "processors").mkdir(exist_ok=True)
    for i in range(n):
        doc = {"name": f"p{i:03d}", "pipeline": [
            {"$source": {"connectionName": "sample_stream_solar"}},
            {"$match": {"obs.watts": {"$gt": threshold}}},
            {"$merge": {"into": {"connectionName": "cluster", "db": "bench", "coll": f"c{i:03d}"}}}]}
        (root / "processors" / f"p{i:03d}.json").write_text(json.dumps(doc))


def admin(url: str, method: str, name: str, body=None):
    headers = {"X-SP-Emulator": "1", "Content-Type": "application/json"}  # admin writes need both
    resp = requests.request(method, f"{url}/_emulator/{name}", json=body, headers=headers, timeout=10)
    return resp.json() if resp.content else None


class EmulatorProcess:
    """The emulator in its own process, as users run it (in-process it would share our GIL)."""

    def __init__(self, data_dir: Path, lifecycle: bool = False):
        delays = [] if lifecycle else ["--no-delays"]
        self.proc = subprocess.Popen([sys.executable, "-m", "sp_tasks.emulator", "--port", "0", "--data-dir",
                                      str(data_dir), "--sample-rate", "20", *delays], stdout=subprocess.PIPE, text=True)
        self.url = re.search(r"http://\S+", self.proc.stdout.readline()).group(0)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run(n: int, latency_ms: float, lifecycle: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmulatorProcess(Path(tmp) / "emu", lifecycle)
        root = Path(tmp) / "project"
        try:
            write_project(root, server.url, n, 100)
            settings = load_settings("bench", root, ENVIRON)
            runner = service.Runner(settings, open_client(settings), SystemClock(), lambda _: None)
            admin(server.url, "DELETE", "requests")
            started = time.perf_counter()
            service.deploy(runner, load_desired(settings))
            counts = admin(server.url, "GET", "requests")
            first = (time.perf_counter() - started, counts["total"], counts["unauthenticated"])

            admin(server.url, "DELETE", "requests")
            started = time.perf_counter()
            outcome = service.deploy(runner, load_desired(settings))
            assert not outcome.plan.has_changes()
            counts = admin(server.url, "GET", "requests")
            noop = (time.perf_counter() - started, counts["total"], counts["unauthenticated"])

            write_project(root, server.url, n, 200)
            desired = load_desired(settings)
            live = runner.live()
            plan = runner.plan(desired, live)
            steps = service.build_steps(plan, strategy="in-place", live=live)
            apply_steps = [s for s in steps if s.kind.value != "verify_health"]
            admin(server.url, "POST", "faults", [{"path": "/api/atlas", "delay_ms": latency_ms}])
            admin(server.url, "DELETE", "requests")
            executor = Executor(runner.client, desired, clock=SystemClock(), policy=runner_policy(settings))
            started = time.perf_counter()
            result = executor.apply(apply_steps)
            apply_wall = time.perf_counter() - started
            counts = admin(server.url, "GET", "requests")
            calls = counts["total"]
            assert result.ok, result.failure
            chain_calls = calls / n  # every processor's chain has the same shape here
            return {"first_deploy_s": first[0], "first_deploy_calls": first[1], "first_deploy_challenges": first[2],
                    "noop_s": noop[0], "noop_calls": noop[1], "noop_challenges": noop[2],
                    "changed_apply_s": apply_wall, "changed_calls": calls,
                    "changed_challenges": counts["unauthenticated"],
                    "critical_path_s": chain_calls * latency_ms / 1000,
                    "parallel_bound_s": calls * latency_ms / 1000 / executor.max_parallel}
        finally:
            server.stop()


def runner_policy(settings):
    from sp_tasks.deploy.health import HealthPolicy

    return HealthPolicy.from_thresholds(settings.thresholds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processors", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lifecycle", action="store_true", help="keep the emulator's realistic transition delays")
    args = parser.parse_args()
    runs = [run(args.processors, args.latency_ms, args.lifecycle) for _ in range(args.repeats)]
    print(f"{args.processors} processors, {args.latency_ms:g} ms injected latency, median of {args.repeats} runs")
    for key in runs[0]:
        values = [r[key] for r in runs]
        unit = "" if key.endswith(("calls", "challenges")) else " s"
        print(f"  {key:<20} {statistics.median(values):10.3f}{unit}   (runs: {', '.join(f'{v:.3f}' for v in values)})")
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"  apply / critical path  {med['changed_apply_s'] / med['critical_path_s']:.1f}x ; "
          f"apply / parallel bound {med['changed_apply_s'] / med['parallel_bound_s']:.2f}x")


if __name__ == "__main__":
    main()
