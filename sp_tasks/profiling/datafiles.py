"""The profiling CSV files: raw samples and run records (history / current runs), read strictly.

Formats (header line first, UTF-8, ``,``-separated, one observation per line):

* samples  ``timestamp,processor,metric,value``: ``timestamp`` ISO-8601 UTC with milliseconds,
  ``metric`` one of :data:`~sp_tasks.profiling.metrics.SAMPLE_METRICS`.
* runs     ``run_id,timestamp,git_sha,processor,metric,value,definition,environment,flags``: one
  run summary value per processor × metric; ``metric`` one of
  :data:`~sp_tasks.profiling.metrics.RUN_METRICS` (gated and informational); ``definition`` the
  processor's definition fingerprint and ``environment`` the run's environment fingerprint
  (:mod:`~sp_tasks.profiling.fingerprints`); ``flags`` space-separated marks (``dirty``: recorded
  from a working tree with uncommitted changes). The history and the current-run file share it.
  Files written before fingerprints existed (the first six columns only) are read with the three
  left empty, and are upgraded in place the next time a run is appended.

Readers reject a missing column, a non-numeric or non-finite value, an unknown metric, a bad
timestamp or an empty name with a :class:`~sp_tasks.errors.DataFileError` naming file, line and
fix. Writers produce the same bytes for the same data. :func:`read_runs` is the one reader of
the run format and needs no pandas (tier advice uses it through
:func:`sp_tasks.tiers.load_latest_profiles`, and ``tiers`` is imported by validation);
:func:`load_runs` makes a frame of its rows.
"""
from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from sp_tasks import inputfiles
from sp_tasks.errors import DataFileError
from sp_tasks.profiling.metrics import RUN_METRICS, SAMPLE_METRICS

if TYPE_CHECKING:
    import pandas as pd

    from sp_tasks.profiling.collect import Sample

SAMPLE_COLUMNS = ["timestamp", "processor", "metric", "value"]
RUN_COLUMNS = ["run_id", "timestamp", "git_sha", "processor", "metric", "value", "definition", "environment", "flags"]
LEGACY_RUN_COLUMNS = RUN_COLUMNS[:6]  # before fingerprints: still read, upgraded on append
_TEXT_COLUMNS = ("run_id", "processor")  # must not be empty


def format_timestamp(ts: datetime, *, millis: bool = False) -> str:
    utc = ts.astimezone(timezone.utc)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{utc.microsecond // 1000:03d}Z" if millis else "Z")


def _parse_row(path: Path, line: int, row: dict[str, str], known: Sequence[str]) -> dict:
    def fail(what: str) -> DataFileError:
        return DataFileError(f"{path}: line {line}: {what}")

    out: dict = dict(row)
    for col in _TEXT_COLUMNS:
        if col in row and not row[col].strip():
            raise fail(f"empty {col}; every row needs one")
    if row["metric"] not in known:
        raise fail(f"unknown metric {row['metric']!r}; use one of: {', '.join(known)}")
    try:
        out["value"] = float(row["value"])
    except ValueError:
        raise fail(f"value {row['value']!r} is not a number") from None
    if not math.isfinite(out["value"]):
        raise fail(f"value {row['value']!r} is not a finite number")
    try:
        stamp = datetime.fromisoformat(row["timestamp"])
    except ValueError:
        raise fail(f"timestamp {row['timestamp']!r} is not ISO-8601 (e.g. 2025-01-31T12:00:00Z)") from None
    out["timestamp"] = stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
    return out


def _read(path: Path, columns: list[str], known: Sequence[str]) -> list[dict]:
    # A directory, unreadable or non-UTF-8 file is a DataFileError naming it, never a traceback.
    reader = csv.DictReader(io.StringIO(inputfiles.read_text(path, what="CSV file"), newline=""))
    try:
        header = reader.fieldnames or []
        if not header:
            return []  # an empty file is an empty history, not an error
        legacy = columns == RUN_COLUMNS and not set(RUN_COLUMNS[6:]) & set(header)
        missing = [c for c in (LEGACY_RUN_COLUMNS if legacy else columns) if c not in header]
        if missing:
            raise DataFileError(
                f"{path}: line 1: missing column(s) {', '.join(missing)}; the header must be {','.join(columns)}"
            )
        rows = []
        for row in reader:
            if None in row or any(row.get(c, "") is None for c in columns):
                raise DataFileError(f"{path}: line {reader.line_num}: expected {len(header)} fields")
            if legacy:
                row.update(definition="", environment="", flags="")
            rows.append(_parse_row(path, reader.line_num, row, known))
        return rows
    except csv.Error as err:  # a NUL byte, a quote left open
        raise DataFileError(f"{path}: line {reader.line_num}: not CSV ({err})") from None


def _frame(rows: list[dict], columns: list[str]) -> "pd.DataFrame":
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[ns, UTC]")
    frame["value"] = frame["value"].astype("float64")
    for col in columns:
        if col not in ("timestamp", "value"):
            frame[col] = frame[col].astype(str)
    return frame


def read_runs(path: str | Path, *, missing_ok: bool = False) -> list[dict]:
    """The validated rows of a run file (history or current runs), without pandas: one dict per
    line with :data:`RUN_COLUMNS` keys, ``timestamp`` an aware datetime, ``value`` a float.

    Raises:
        DataFileError: the file is missing (unless ``missing_ok``) or malformed.
    """
    path = Path(path)
    if not path.exists():
        if missing_ok:
            return []
        raise DataFileError(f"{path}: no such file; run `invoke profile` first or pass another path")
    return _read(path, RUN_COLUMNS, RUN_METRICS)


def load_runs(path: str | Path, *, missing_ok: bool = False) -> "pd.DataFrame":
    """:func:`read_runs` as a frame with :data:`RUN_COLUMNS`. Raises DataFileError."""
    return _frame(read_runs(path, missing_ok=missing_ok), RUN_COLUMNS)


def load_samples(path: str | Path) -> "pd.DataFrame":
    """Read a samples file into a frame with :data:`SAMPLE_COLUMNS`. Raises DataFileError."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    return _frame(_read(path, SAMPLE_COLUMNS, SAMPLE_METRICS), SAMPLE_COLUMNS)


def _number(value: float) -> str:
    return repr(float(value))


def _write(path: Path, columns: list[str], rows: Iterable[list[str]], *, append: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not append or not path.exists() or path.stat().st_size == 0
    if not fresh:
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        if columns == RUN_COLUMNS and header == LEGACY_RUN_COLUMNS:  # a file from before fingerprints
            _write(path, columns, [*_run_rows(read_runs(path)), *rows], append=False)  # upgrade in place
            return
        if header != columns:
            raise DataFileError(f"{path}: line 1: header {','.join(header)} differs from {','.join(columns)}")
    with path.open("w" if fresh else "a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        if fresh:
            writer.writerow(columns)
        writer.writerows(rows)


def save_samples(samples: Iterable["Sample"], path: str | Path) -> None:
    rows = ([format_timestamp(s.timestamp, millis=True), s.processor, s.metric, _number(s.value)] for s in samples)
    _write(Path(path), SAMPLE_COLUMNS, rows, append=False)


def save_runs(runs: "pd.DataFrame", path: str | Path, *, append: bool) -> None:
    """Write (or append) run records; ``runs`` has :data:`RUN_COLUMNS`. Raises DataFileError
    when appending to a file whose header differs."""
    _write(Path(path), RUN_COLUMNS, _run_rows(runs[RUN_COLUMNS].to_dict("records")), append=append)


def _run_rows(records: Iterable[dict]) -> Iterable[list[str]]:
    for r in records:
        yield [r["run_id"], format_timestamp(r["timestamp"]), r["git_sha"], r["processor"], r["metric"],
               _number(r["value"]), r["definition"], r["environment"], r["flags"]]
