"""Benchmark: emulator API latency for list and get with 100 processors (half of them running).

The emulator runs in its own process, as users run it. Reports median and p95 over N requests on
one keep-alive Digest session. Run: python benchmarks/emulator_api.py [--processors 100] [--requests 200]
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time

import requests
from requests.auth import HTTPDigestAuth

GID = "0123456789abcdef01234567"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processors", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-m", "sp_tasks.emulator", "--port", "0", "--data-dir", tmp,
                                 "--sample-rate", "5"], stdout=subprocess.PIPE, text=True)
        try:
            url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
            measure(url, args.processors, args.requests)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def measure(url: str, n: int, count: int) -> None:
    session = requests.Session()
    session.auth = HTTPDigestAuth("local", "local")
    base = f"{url}/api/atlas/v2/groups/{GID}/streams"
    ws_h = {"Accept": "application/vnd.atlas.2023-02-01+json"}
    sp_h = {"Accept": "application/vnd.atlas.2024-05-30+json"}
    session.post(f"{base}:withSampleConnections", json={"name": "bench"},
                 headers={"Accept": "application/vnd.atlas.2024-08-05+json"}).raise_for_status()
    for i in range(n):
        body = {"name": f"p{i:03d}", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                                  {"$match": {"obs.watts": {"$gt": 100}}},
                                                  {"$emit": {"connectionName": "__testLog"}}]}
        session.post(f"{base}/bench/processor", json=body, headers=sp_h).raise_for_status()
        if i % 2 == 0:
            session.post(f"{base}/bench/processor/p{i:03d}:start", headers=sp_h).raise_for_status()
    cases = {"list 100 processors (1 page)": f"{base}/bench/processors?itemsPerPage=500",
             "get one processor (running, with stats)": f"{base}/bench/processor/p000",
             "get workspace": f"{base}/bench"}
    print(f"{n} processors ({(n + 1) // 2} running at 5 docs/s), {count} requests each, keep-alive Digest session")
    for label, target in cases.items():
        headers = ws_h if target.endswith("/bench") else sp_h
        times = []
        for _ in range(count):
            started = time.perf_counter()
            session.get(target, headers=headers).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(f"  {label:<42} median {statistics.median(times):6.2f} ms   p95 {times[int(0.95 * len(times))]:6.2f} ms")


if __name__ == "__main__":
    main()
