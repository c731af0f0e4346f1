"""Strict reading of history/current/sample CSV files; errors name the file and the line."""
from __future__ import annotations

from datetime import timedelta

import pandas.testing as pdt
import pytest

from sp_tasks.clock import EPOCH_2025
from sp_tasks.errors import DataFileError
from sp_tasks.profiling.collect import Sample
from sp_tasks.profiling.datafiles import RUN_COLUMNS, load_runs, load_samples, save_runs, save_samples

HEADER = "run_id,timestamp,git_sha,processor,metric,value\n"
GOOD = "r1,2025-01-01T00:00:00Z,abc,p,memory_mb,12.5\n"


def write(tmp_path, text, name="history.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("body, message", [
    ("r1,2025-01-01T00:00:00Z,abc,p,memory_mb,lots\n", "line 3: value 'lots' is not a number"),
    ("r1,2025-01-01T00:00:00Z,abc,p,memory_mb,nan\n", "line 3: value 'nan' is not a finite number"),
    ("r1,2025-01-01T00:00:00Z,abc,p,heap_mb,1\n", "line 3: unknown metric 'heap_mb'; use one of: input_rate"),
    ("r1,yesterday,abc,p,memory_mb,1\n", "line 3: timestamp 'yesterday' is not ISO-8601"),
    (",2025-01-01T00:00:00Z,abc,p,memory_mb,1\n", "line 3: empty run_id"),
    ("r1,2025-01-01T00:00:00Z,abc,p,memory_mb\n", "line 3: expected 6 fields"),
    ("r1,2025-01-01T00:00:00Z,abc,p,memory_mb,1,extra\n", "line 3: expected 6 fields"),
])
def test_malformed_rows_name_file_and_line(tmp_path, body, message):
    path = write(tmp_path, HEADER + GOOD + body)
    with pytest.raises(DataFileError) as err:
        load_runs(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_missing_columns_are_named(tmp_path):
    path = write(tmp_path, "run_id,timestamp,processor,metric,val\nr1,2025-01-01T00:00:00Z,p,memory_mb,1\n")
    with pytest.raises(DataFileError, match=r"line 1: missing column\(s\) git_sha, value; the header must be run_id,"):
        load_runs(path)


def test_empty_and_missing_files(tmp_path):
    assert load_runs(write(tmp_path, "")).empty
    assert load_runs(write(tmp_path, HEADER, "h2.csv")).columns.tolist() == RUN_COLUMNS
    assert load_runs(tmp_path / "nope.csv", missing_ok=True).empty
    with pytest.raises(DataFileError, match="nope.csv: no such file"):
        load_runs(tmp_path / "nope.csv")


def test_runs_round_trip_and_append(tmp_path):
    first = load_runs(write(tmp_path, HEADER + GOOD, "src.csv"))
    out = tmp_path / "deep" / "history.csv"
    save_runs(first, out, append=True)  # creates the file with a header
    save_runs(first.assign(run_id="r2"), out, append=True)
    again = load_runs(out)
    assert again["run_id"].tolist() == ["r1", "r2"]
    pdt.assert_frame_equal(again.iloc[:1], first)
    assert out.read_text().splitlines()[1] == "r1,2025-01-01T00:00:00Z,abc,p,memory_mb,12.5,,,"


def test_fingerprint_columns_round_trip_with_quoting(tmp_path):
    env = "emulator; Intel(R) Xeon(R), 2.1GHz; x86_64; 2 CPUs; Python 3.11; sp-tasks 0.1.0"
    first = load_runs(write(tmp_path, HEADER + GOOD, "src.csv")).assign(definition="0123456789ab", environment=env,
                                                                        flags="dirty")
    out = tmp_path / "history.csv"
    save_runs(first, out, append=False)
    assert out.read_text().splitlines()[0] == ",".join(RUN_COLUMNS)
    pdt.assert_frame_equal(load_runs(out), first)


def test_a_file_from_before_fingerprints_is_read_and_upgraded_on_append(tmp_path):
    legacy = write(tmp_path, HEADER + GOOD)
    old = load_runs(legacy)
    assert old[["definition", "environment", "flags"]].values.tolist() == [["", "", ""]]
    save_runs(old.assign(run_id="r2", definition="0123456789ab"), legacy, append=True)
    lines = legacy.read_text().splitlines()
    assert lines == [",".join(RUN_COLUMNS), GOOD.strip() + ",,,",
                     "r2,2025-01-01T00:00:00Z,abc,p,memory_mb,12.5,0123456789ab,,"]


def test_half_the_fingerprint_columns_is_an_error_not_a_legacy_file(tmp_path):
    path = write(tmp_path, HEADER.strip() + ",definition\n" + GOOD.strip() + ",x\n")
    with pytest.raises(DataFileError, match=r"missing column\(s\) environment, flags"):
        load_runs(path)


def test_append_refuses_a_different_header(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataFileError, match="line 1: header a,b differs"):
        save_runs(load_runs(write(tmp_path, HEADER + GOOD, "src.csv")), path, append=True)


def test_samples_round_trip_with_milliseconds(tmp_path):
    samples = [Sample(EPOCH_2025 + timedelta(seconds=1.25), "p", "input_count", 42.0),
               Sample(EPOCH_2025, "p", "state", 1.0)]
    path = tmp_path / "samples.csv"
    save_samples(samples, path)
    assert path.read_text().splitlines() == ["timestamp,processor,metric,value",
                                             "2025-01-01T00:00:01.250Z,p,input_count,42.0",
                                             "2025-01-01T00:00:00.000Z,p,state,1.0"]
    frame = load_samples(path)
    assert frame["value"].tolist() == [42.0, 1.0]


def test_samples_reject_vocabulary_metrics(tmp_path):
    path = write(tmp_path, "timestamp,processor,metric,value\n2025-01-01T00:00:00Z,p,input_rate,1\n", "s.csv")
    with pytest.raises(DataFileError, match="line 2: unknown metric 'input_rate'"):
        load_samples(path)


def test_bandwidth_metrics_are_part_of_the_run_and_sample_vocabularies(tmp_path):
    runs = load_runs(write(tmp_path, HEADER + GOOD + "r1,2025-01-01T00:00:00Z,abc,p,input_mbps,1.5\n"))
    assert runs["metric"].tolist() == ["memory_mb", "input_mbps"]
    samples = write(tmp_path, "timestamp,processor,metric,value\n2025-01-01T00:00:00Z,p,input_bytes,4096\n", "s.csv")
    assert load_samples(samples)["metric"].tolist() == ["input_bytes"]
