"""How fast is `invoke validate` on a 50-processor project? Target: <= 0.6 s wall, end to end.

Generates 50 realistic processors (filters, windows, $validate with DLQ, $https enrichment,
$lookup, Kafka $emit) and their connections in a temporary project with a copy of tasks.py,
then times `invoke validate` as a subprocess (median of 5, after one warm-up run that is also
reported) and the same work in-process. Also checks that the validate path imports none of
pandas, matplotlib, scipy, mongomock. Run: `python benchmarks/validate_speed.py`.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "matplotlib", "scipy", "mongomock")
TARGET_S = 0.6
SOURCE = {"$source": {"connectionName": "sample_stream_solar",
                      "timeField": {"$dateFromString": {"dateString": "$timestamp"}}}}
DLQ = {"dlq": {"connectionName": "solarCluster", "db": "solar", "coll": "dlq"}}


def merge(coll: str, **extra) -> dict:
    return {"$merge": {"into": {"connectionName": "solarCluster", "db": "solar", "coll": coll}, **extra}}


def pipeline(i: int) -> tuple[list, dict | None]:
    kind = i % 5
    if kind == 0:
        return [SOURCE, {"$match": {"obs.watts": {"$gt": 100 + i}}}, {"$project": {"_id": 0, "obs": 1}}, merge(f"f{i}")], None
    if kind == 1:
        group = {"$group": {"_id": "$group_id", "avg": {"$avg": "$obs.watts"}, "max": {"$max": "$obs.temp"}}}
        window = {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"}, "pipeline": [group]}}
        return [SOURCE, window, merge(f"w{i}", whenMatched="replace")], None
    if kind == 2:
        check = {"$validate": {"validator": {"$jsonSchema": {"required": ["device_id", "obs"]}}, "validationAction": "dlq"}}
        return [SOURCE, check, merge(f"v{i}")], DLQ
    if kind == 3:
        https = {"$https": {"connectionName": "weatherApi", "as": "weather", "payload": [{"$project": {"device_id": 1}}]}}
        return [SOURCE, https, merge(f"h{i}")], DLQ
    lookup = {"$lookup": {"from": {"connectionName": "solarCluster", "db": "solar", "coll": "devices"},
                          "localField": "device_id", "foreignField": "_id", "as": "device", "parallelism": 2}}
    emit = {"$emit": {"connectionName": "eventsKafka", "topic": f"solar-{i}", "config": {"acks": "all"}}}
    return [SOURCE, lookup, {"$unwind": "$device"}, emit], None


def make_project(root: Path, count: int = 50) -> None:
    for folder in ("processors", "connections"):
        (root / folder).mkdir(parents=True)
    shutil.copytree(REPO / "environments" / "local", root / "environments" / "local")
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    for conn in ("solarCluster", "eventsKafka"):
        shutil.copy(REPO / "connections" / f"{conn}.json", root / "connections")
    weather = {"name": "weatherApi", "type": "Https", "url": "https://api.example.com",
               "headers": {"Authorization": "Bearer ${KAFKA_PASSWORD}"}}
    (root / "connections" / "weatherApi.json").write_text(json.dumps(weather, indent=2))
    for i in range(count):
        stages, options = pipeline(i)
        doc = {"name": f"solar{i:02d}", "pipeline": stages, **({"options": options} if options else {})}
        (root / "processors" / f"solar{i:02d}.json").write_text(json.dumps(doc, indent=2))


def time_cli(root: Path, runs: int = 5) -> tuple[float, list[float]]:
    invoke = Path(sys.executable).parent / "invoke"
    command = [str(invoke), "validate", "--format", "json"]

    def once() -> float:
        start = time.perf_counter()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0 or json.loads(done.stdout)["errors"]:
            raise SystemExit(f"validate failed on the generated project:\n{done.stdout}{done.stderr}")
        return elapsed

    first = once()
    return first, [once() for _ in range(runs)]


def time_in_process(root: Path, runs: int = 5) -> list[float]:
    from sp_tasks.desired import load_project
    from sp_tasks.settings import load_settings
    from sp_tasks.validation import validate_project

    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        found = validate_project(load_project(load_settings("local", root)))
        timings.append(time.perf_counter() - start)
        assert not any(d.is_error for d in found), found
    return timings


def heavy_imports_on_cli_path(root: Path) -> list[str]:
    script = ("import sys\nfrom invoke import Program\nsys.path.insert(0, '.')\nimport tasks\n"
              "try:\n    Program(namespace=tasks.ns).run(['invoke', 'validate', '--format', 'json'])\n"
              "except SystemExit:\n    pass\n"
              f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True)
    return [m for m in done.stdout.splitlines()[-1].removeprefix("HEAVY:").split(",") if m]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root)
        first, cli = time_cli(root)
        in_process = time_in_process(root)
        heavy = heavy_imports_on_cli_path(root)
    median = statistics.median(cli)
    print("invoke validate, 50 processors + 3 connections (subprocess, wall):")
    print(f"  first run {first:.3f} s; median of {len(cli)} {median:.3f} s (min {min(cli):.3f}, max {max(cli):.3f})")
    print(f"in-process load+validate: first {in_process[0] * 1000:.0f} ms (imports jsonschema, compiles schemas), "
          f"then median {statistics.median(in_process[1:]) * 1000:.0f} ms")
    print(f"heavy modules imported on the validate path: {heavy or 'none'} (checked {', '.join(HEAVY)})")
    ok = median <= TARGET_S and not heavy
    print(f"{'PASS' if ok else 'FAIL'}: target <= {TARGET_S} s wall and no heavy imports")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
