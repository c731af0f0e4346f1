#!/usr/bin/env python3
"""Time ``invoke charts`` and ``invoke report`` as a user runs them: fresh processes, 4 processors.

Input: the committed ``baselines/local/history.csv`` (4 processors × 20 runs) copied to a temporary
project, its newest 3 runs used as the current runs. Each step runs in a fresh interpreter (imports
included, as `invoke` pays them) and is timed from outside; the figure is the median of ``--repeat``.

Steps: ``charts`` on an empty charts directory (everything drawn), ``charts`` again with nothing
changed, ``report`` after ``charts``, and ``charts`` after one processor's current run changed.

    python benchmarks/charts_report.py                  # this checkout
    python benchmarks/charts_report.py --code /tmp/old  # another checkout's sp_tasks (before/after)

Measured on the shared 2-core machine under load (medians of 3; before = main at c537916's parent
without the chart cache, run twice): charts with nothing drawn yet 7.8–12.3 s before, 6.9 s after
(everything is drawn either way); charts again with nothing changed 8.7–10.5 s → 2.8 s (3–4×);
report after charts 7.5–9.3 s → 2.4 s (3–4×: it no longer draws); charts after one processor
changed 9.6–14.5 s → 3.7 s (≈3×: two of five charts redrawn).

Rerun 2026-11-30 08:55 UTC, heavier load (load average 8–10), medians of 3. The cache came with
1ea9e59, so "before" is 1ea9e59's parent (`git archive 1ea9e59^ | tar -x -C /tmp/old`; c537916's
parent already has the cache and times like "after"): charts with nothing drawn yet 28.2 s →
19.7 s (0.70×); charts again with nothing changed 25.0 s → 5.0 s (0.20×, 5×); report after
charts 23.2 s → 5.6 s (0.24×, 4×); charts after one processor changed 31.7 s → 11.7 s (0.37×).
"""
from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
CALL = """
import sys
sys.path.insert(0, sys.argv[1])
from sp_tasks.profiling import service
getattr(service, "run_" + sys.argv[3])("local", sys.argv[2])
"""


def project(root: Path) -> None:
    hist = root / "baselines" / "local" / "history.csv"
    hist.parent.mkdir(parents=True)
    shutil.copy(HERE / "baselines" / "local" / "history.csv", hist)
    with hist.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    runs = sorted({r["run_id"] for r in rows})[-3:]
    current = root / ".sp" / "local" / "current.csv"
    current.parent.mkdir(parents=True)
    with current.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(r for r in rows if r["run_id"] in runs)


def touch_one_processor(root: Path) -> None:
    current = root / ".sp" / "local" / "current.csv"
    text = current.read_text().splitlines()
    first = next(i for i, line in enumerate(text) if ",latency_p50_ms," in line)
    cells = text[first].split(",")
    cells[5] = repr(float(cells[5]) * 1.5)
    text[first] = ",".join(cells)
    current.write_text("\n".join(text) + "\n")


def timed(code: Path, root: Path, task: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", CALL, str(code), str(root), task], check=True, cwd=root,
                   capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", type=Path, default=HERE, help="checkout whose sp_tasks to time")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    steps: dict[str, list[float]] = {"charts, nothing drawn yet": [], "charts again, nothing changed": [],
                                     "report after charts": [], "charts after one processor changed": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            project(root)
            steps["charts, nothing drawn yet"].append(timed(args.code, root, "charts"))
            steps["charts again, nothing changed"].append(timed(args.code, root, "charts"))
            steps["report after charts"].append(timed(args.code, root, "report"))
            touch_one_processor(root)
            steps["charts after one processor changed"].append(timed(args.code, root, "charts"))
    print(f"code: {args.code}\n\n| step | median s | runs |\n|---|---|---|")
    for step, times in steps.items():
        print(f"| {step} | {statistics.median(times):.2f} | {', '.join(f'{t:.2f}' for t in times)} |")


if __name__ == "__main__":
    main()
