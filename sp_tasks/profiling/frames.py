"""Samples as one tidy DataFrame, and the run summary: one value per processor × metric.

Pure. Rates come from cumulative counters: the increments between consecutive polls at which the
processor was STARTED, summed and divided by the summed elapsed time of those intervals, after
the warm-up share of the run is dropped (message counts give msg/s; byte counters the same way,
times the metric's ``scale``, give Mbps). A counter that goes down was reset (restart without
checkpoint, 45-day discard): its new value counts as the increment, as Prometheus' ``increase()``
does. Latency and memory are the median of the STARTED steady-state polls (the API's latency is
a 30-s rolling window, so a median of polls is robust and run-level, regression.md §6.2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable, Mapping

from sp_tasks.profiling.datafiles import RUN_COLUMNS, SAMPLE_COLUMNS
from sp_tasks.profiling.metrics import METRICS, STATE_SAMPLE

if TYPE_CHECKING:
    import pandas as pd

    from sp_tasks.profiling.collect import Sample

SUMMARY_COLUMNS = ["processor", "metric", "value"]
WARMUP_FRACTION = 0.2  # share of the run's time span dropped at the start


@dataclass(frozen=True)
class RunSummary:
    values: "pd.DataFrame"  # SUMMARY_COLUMNS, sorted by processor then vocabulary order
    notes: tuple[str, ...] = field(default=())  # what could not be measured, and why


def samples_frame(samples: Iterable["Sample"]) -> "pd.DataFrame":
    """Records -> one DataFrame with :data:`SAMPLE_COLUMNS` (timestamp is UTC datetime64)."""
    import pandas as pd

    rows = [(s.timestamp, s.processor, s.metric, float(s.value)) for s in samples]
    frame = pd.DataFrame.from_records(rows, columns=SAMPLE_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[ns, UTC]")
    frame["value"] = frame["value"].astype("float64")
    return frame


def _rate(wide: "pd.DataFrame", counter: str, running: "pd.Series") -> tuple[float | None, int]:
    """(counter units per second over STARTED intervals, number of resets seen)."""
    values = wide[counter]
    seconds = wide.index.to_series().diff().dt.total_seconds()
    increment = values.diff()
    resets = increment < 0
    increment = increment.where(~resets, values)  # after a reset the counter restarted at 0
    usable = running & running.shift(1, fill_value=False) & values.notna() & values.shift(1).notna()
    elapsed = float(seconds[usable].sum())
    if elapsed <= 0:
        return None, 0
    return float(increment[usable].sum()) / elapsed, int((resets & usable).sum())


def _processor_summary(name: str, wide: "pd.DataFrame", start, notes: list[str]) -> list[tuple]:
    import pandas as pd

    wide = wide[wide.index >= start]
    # Without state samples (an older samples file) every poll counts as running.
    running = (wide[STATE_SAMPLE] == 1.0) if STATE_SAMPLE in wide else pd.Series(True, index=wide.index)
    if not running.any():
        notes.append(f"{name}: not STARTED in any steady-state poll; nothing measured")
        return []
    if not running.all():
        notes.append(f"{name}: STARTED in {int(running.sum())} of {len(running)} steady-state polls")
    rows = []
    for metric in METRICS.values():
        if metric.source not in wide:
            notes.append(f"{name}: no {metric.source} in the stats; {metric.name} not measured")
            continue
        if metric.kind == "rate":
            value, resets = _rate(wide, metric.source, running)
            value = None if value is None else value * metric.scale
            if resets:
                notes.append(f"{name}: {metric.source} was reset {resets} time(s); counted from zero")
        else:
            kept = wide.loc[running, metric.source].dropna()
            value = float(kept.median()) if len(kept) else None
        if value is None:
            notes.append(f"{name}: too few steady-state polls for {metric.name}")
        else:
            rows.append((name, metric.name, value))
    return rows


def compute_summary(samples: "pd.DataFrame", *, warmup_fraction: float = WARMUP_FRACTION) -> RunSummary:
    """Samples (:data:`SAMPLE_COLUMNS`) -> one value per processor × metric, plus notes.

    The warm-up is the first ``warmup_fraction`` of the run's whole time span (the same cut for
    every processor). Metrics that cannot be measured are left out and explained in ``notes``.
    """
    import pandas as pd

    notes: list[str] = []
    rows: list[tuple] = []
    if len(samples):
        first, last = samples["timestamp"].min(), samples["timestamp"].max()
        start = first + (last - first) * warmup_fraction
        for name, group in samples.groupby("processor", sort=True):
            wide = group.pivot_table(index="timestamp", columns="metric", values="value", aggfunc="last")
            rows.extend(_processor_summary(str(name), wide.sort_index(), start, notes))
    else:
        notes.append("no samples were collected")
    return RunSummary(pd.DataFrame.from_records(rows, columns=SUMMARY_COLUMNS), tuple(notes))


def make_run_id(timestamp: datetime, git_sha: str, taken: Iterable[str] = ()) -> str:
    """``20250131T120000Z-1a2b3c4``: sortable, unique per second and commit; a second run in the
    same second (short ``--runs``) gets ``.2``, ``.3``… rather than the ``taken`` id of another run."""
    base = f"{timestamp.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{(git_sha or 'unknown')[:7]}"
    used, run_id, n = set(taken), base, 1
    while run_id in used:
        n += 1
        run_id = f"{base}.{n}"
    return run_id


def summary_runs(summary: RunSummary, *, run_id: str, timestamp: datetime, git_sha: str,
                 definitions: Mapping[str, str] | None = None, environment: str = "", flags: str = "") -> "pd.DataFrame":
    """The summary as run records (:data:`RUN_COLUMNS`), ready to append to a history file.
    ``definitions`` maps processor -> definition fingerprint (missing ones stay empty)."""
    import pandas as pd

    frame = summary.values.copy()
    frame.insert(0, "git_sha", git_sha)
    frame.insert(0, "timestamp", pd.Timestamp(timestamp.astimezone(timezone.utc)))
    frame.insert(0, "run_id", run_id)
    frame["definition"] = [str((definitions or {}).get(p, "")) for p in frame["processor"]]
    frame["environment"] = environment
    frame["flags"] = flags
    return frame[RUN_COLUMNS].reset_index(drop=True)
