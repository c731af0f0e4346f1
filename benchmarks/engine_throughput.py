"""Emulator engine throughput: documents per second through one processor, median of 5 runs.

Pipelines (emulator-engine.md §2): sample_stream_solar → ``$match`` → ``$addFields`` → ``$project``
→ ``$tumblingWindow{$group}`` → ``$merge``, and a stateless 4-stage variant (``$match $addFields
$set $project``) into ``$merge`` (every document written to SQLite) and into ``__noopSink``.
The engine runs synchronously (``Harness``) on a file-backed database, in micro-batches of the
engine's maximum size; the figure includes generation, stages, sizes/stats and the sink writes.

    python benchmarks/engine_throughput.py [--docs 20000] [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sp_tasks.emulator.db import Database  # noqa: E402
from sp_tasks.emulator.documents import DocumentStore  # noqa: E402
from sp_tasks.emulator.engine.harness import Harness  # noqa: E402
from sp_tasks.emulator.engine.processor import MAX_BATCH  # noqa: E402

SOURCE = {"$source": {"connectionName": "sample_stream_solar"}}
MATCH = {"$match": {"obs.watts": {"$gt": 100}, "event_type": {"$in": [0, 1]}}}
ADD_FIELDS = {"$addFields": {"eff": {"$multiply": [{"$divide": ["$obs.watts", "$max_watts"]}, 100]},
                             "temp_f": {"$add": [{"$multiply": ["$obs.temp", 1.8]}, 32]}}}
SET = {"$set": {"hot": {"$gt": ["$temp_f", 80]}}}
PROJECT = {"$project": {"device_id": 1, "group_id": 1, "eff": 1, "temp_f": 1, "hot": 1, "_ts": 1}}
WINDOW = {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"}, "pipeline": [
    {"$group": {"_id": "$device_id", "eff": {"$avg": "$eff"}, "temp_f": {"$avg": "$temp_f"}, "n": {"$sum": 1}}}]}}
MERGE = {"$merge": {"into": {"connectionName": "atlas", "db": "bench", "coll": "out"}}}
NOOP = {"$emit": {"connectionName": "__noopSink"}}

PIPELINES = {
    "windowed: $match $addFields $project $tumblingWindow{$group} -> $merge": [SOURCE, MATCH, ADD_FIELDS, PROJECT,
                                                                             WINDOW, MERGE],
    "stateless: $match $addFields $set $project -> $merge": [SOURCE, MATCH, ADD_FIELDS, SET, PROJECT, MERGE],
    "stateless: $match $addFields $set $project -> __noopSink": [SOURCE, MATCH, ADD_FIELDS, SET, PROJECT, NOOP],
}


def one_run(pipeline: list, docs: int, data_dir: str) -> float:
    rate = 20.0 * MAX_BATCH  # 0.05 s steps pull full micro-batches
    harness = Harness(pipeline, store=DocumentStore(Database(data_dir)), sample_rate=rate)
    harness.tick()
    started = time.perf_counter()
    while harness.engine.totals.counts["inputMessageCount"] < docs:
        harness.tick(0.05)
    elapsed = time.perf_counter() - started
    harness.store.db.close()
    return harness.engine.totals.counts["inputMessageCount"] / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000, help="documents per run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'pipeline':<72} {'median docs/s':>14} {'min':>9} {'max':>9}")
    for label, pipeline in PIPELINES.items():
        rates = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as data_dir:
                rates.append(one_run(pipeline, args.docs, data_dir))
        print(f"{label:<72} {statistics.median(rates):>14,.0f} {min(rates):>9,.0f} {max(rates):>9,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
