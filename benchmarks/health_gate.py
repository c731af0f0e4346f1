"""Benchmark: seconds a deploy of the 4 example processors spends in the health gate on the emulator.

The emulator runs in its own process at its default sample rate, as `invoke deploy --env local`
starts it; the project is a copy of this repository's processors/, connections/ and
environments/local (its thresholds.json, so the default health policy). Each run deploys the 4
examples (create + start), then deploys again after adding a stage to every processor, so the
second deploy is stop → modify → start of all four. Reported: the medians of the time spent in
the verify_health step of each deploy and of the whole deploy.
``--fixed-window`` times the gate as it was before it became adaptive: every processor sampled
for the whole ``window_s`` (4 s), as the canary comparison still does (``early=False``), so the
before/after ratio comes from one machine in one sitting.
Run: python benchmarks/health_gate.py [--repeats 5] [--fixed-window]

Measured 2026-11-30 on the shared 2-core machine under load (load average 7–11), medians of 5,
every processor healthy: time in the health gate, creating the 4 examples 0.43 s adaptive vs
4.12 s with the fixed window (0.10×), updating all four 0.33 s vs 4.13 s (0.08×); the whole
deploy 4.16 s vs 8.04 s (0.52×) and 4.65 s vs 8.33 s (0.56×). Done-when "< 2 s in the health
gate (from ~4 s)": met in every run (slowest 0.88 s).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENVIRON = {"MONGODB_ATLAS_PUBLIC_API_KEY": "local", "MONGODB_ATLAS_PRIVATE_API_KEY": "local",
           "KAFKA_PASSWORD": "local-only"}


def copy_project(root: Path, url: str) -> None:
    for folder in ("processors", "connections"):
        shutil.copytree(ROOT / folder, root / folder)
    env = root / "environments" / "local"
    shutil.copytree(ROOT / "environments" / "local", env)
    config = (env / "config.env").read_text()
    (env / "config.env").write_text(re.sub(r"(?m)^ATLAS_BASE_URL=.*$", f"ATLAS_BASE_URL={url}", config))


def edit_processors(root: Path) -> None:
    """Change every processor so the next deploy stops, modifies and restarts all four."""
    for path in (root / "processors").glob("*.json"):
        doc = json.loads(path.read_text())
        doc["pipeline"].insert(1, {"$addFields": {"bench": 1}})
        path.write_text(json.dumps(doc))


class EmulatorProcess:
    def __init__(self, data_dir: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "sp_tasks.emulator", "--port", "0", "--data-dir",
                                      str(data_dir)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.url = re.search(r"http://\S+", self.proc.stdout.readline()).group(0)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def gate_seconds(outcome) -> float:
    return sum(r.seconds for r in outcome.applied.results if r.step.kind.value == "verify_health")


def run_once(fixed_window: bool = False) -> dict[str, float]:
    import functools

    from sp_tasks.atlas.connect import open_client
    from sp_tasks.deploy import executor, health
    from sp_tasks.deploy import service
    from sp_tasks.desired import load_desired
    from sp_tasks.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        server = EmulatorProcess(Path(tmp) / "emu")
        try:
            root = Path(tmp) / "project"
            copy_project(root, server.url)
            settings = load_settings("local", root, ENVIRON)
            runner = service.Runner(settings, open_client(settings), progress=lambda _: None)
            if fixed_window:
                executor.run_health_gate = functools.partial(health.run_health_gate, early=False)
            started = time.perf_counter()
            first = service.deploy(runner, load_desired(settings))
            first_total = time.perf_counter() - started
            edit_processors(root)
            started = time.perf_counter()
            second = service.deploy(runner, load_desired(settings))
            second_total = time.perf_counter() - started
            return {"create_gate_s": gate_seconds(first), "create_deploy_s": first_total,
                    "update_gate_s": gate_seconds(second), "update_deploy_s": second_total}
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fixed-window", action="store_true", help="the gate before it was adaptive")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    runs = [run_once(args.fixed_window) for _ in range(args.repeats)]
    gate = "fixed 4 s window" if args.fixed_window else "adaptive gate"
    print(f"4 example processors on the emulator (default sample rate, {gate}), median of {args.repeats} runs")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:<16} {statistics.median(values):7.3f} s   (runs: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
