"""The profiling shell end to end on files: profile -> current/history -> compare -> charts/report."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sp_tasks.clock import FakeClock
from sp_tasks.errors import ConfigError, DataFileError, ExitStatus
from sp_tasks.profiling.datafiles import load_runs
from sp_tasks.profiling.regression import Verdict
from sp_tasks.profiling.record import run_profile
from sp_tasks.profiling.service import profile_paths, run_charts, run_compare_baseline, run_report

DATA = Path(__file__).parents[1] / "reporting" / "data"


PIPELINE = [{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "__testLog"}}]


def fake_fetch(clock, *, memory_mb=100.0, rate=50.0, message_bytes=None, pipeline=PIPELINE):
    def fetch():
        t = clock.monotonic()
        sizes = {} if message_bytes is None else {"scaleFactor": 1, "inputMessageSize": int(rate * t) * message_bytes,
                                                  "outputMessageSize": int(rate * t) * message_bytes / 2}
        return [{"name": "solar", "state": "STARTED", "pipeline": pipeline,
                 "stats": {"inputMessageCount": int(rate * t), "outputMessageCount": int(rate * t),
                           "dlqMessageCount": 0, "memoryTrackerBytes": memory_mb * 1024 * 1024, "stateSize": 0,
                           "latency": {"p50": 2000, "p99": 8000, "unit": "microseconds"}, **sizes}}]
    return fetch


def profile(root, *, sha="1" * 40, record=False, thresholds=None, **fetch_kw):
    clock = FakeClock()
    return run_profile(fake_fetch(clock, **fetch_kw), clock, env="local", root=root, git_sha=sha, duration=20,
                       interval=2, thresholds=thresholds, record=record)


def test_profile_writes_samples_and_current_run_and_records_on_request(tmp_path):
    paths = profile_paths("local", tmp_path)
    outcome = profile(tmp_path)
    assert outcome.exit_status is ExitStatus.SUCCESS
    assert paths.samples.read_text().startswith("timestamp,processor,metric,value\n")
    current = load_runs(paths.current)
    values = dict(zip(current["metric"], current["value"]))
    assert values["input_rate"] == pytest.approx(50.0) and values["memory_mb"] == 100.0
    assert values["latency_p99_ms"] == 8.0 and not paths.history.exists()
    assert "not recorded in the history" in outcome.text

    profile(tmp_path, record=True)
    assert load_runs(paths.current)["run_id"].nunique() == 2  # same second and sha: its own id (.2), not merged
    assert load_runs(paths.history)["processor"].unique().tolist() == ["solar"]


def test_profile_records_bandwidth_in_summary_and_history_but_compare_ignores_it(tmp_path):
    paths = profile_paths("local", tmp_path)
    outcome = profile(tmp_path, record=True, message_bytes=500)  # 50 msg/s × 500 B = 0.2 Mbps in
    summary = dict(zip(outcome.data.summary["metric"], outcome.data.summary["value"]))
    assert summary["input_mbps"] == pytest.approx(0.2) and summary["output_mbps"] == pytest.approx(0.1)
    assert ["solar", "input_mbps", "0.2", "Mbps"] in [line.split() for line in outcome.text.splitlines()]
    history = load_runs(paths.history)
    assert set(history["metric"]) >= {"input_mbps", "output_mbps", "input_rate"}
    compared = run_compare_baseline("local", tmp_path, fmt="json")
    assert "input_mbps" not in {f["metric"] for f in json.loads(compared.text)["findings"]}


def test_current_runs_are_kept_per_definition_not_per_commit(tmp_path):
    paths = profile_paths("local", tmp_path)
    other = [*PIPELINE[:1], {"$match": {"obs.watts": {"$gt": 100}}}, *PIPELINE[1:]]

    def run(sha, pipeline=PIPELINE, **kw):
        clock = FakeClock()
        clock.advance(3600 * len(load_runs(paths.current, missing_ok=True)))  # distinct run ids
        return run_profile(fake_fetch(clock, pipeline=pipeline), clock, env="local", root=tmp_path, git_sha=sha,
                           duration=4, interval=2, environment="emulator; test", **kw)

    run("1" * 40)
    run("2" * 40)  # a new commit that did not touch the definition: one more sample of it
    assert load_runs(paths.current)["run_id"].nunique() == 2
    changed = run("3" * 40, other)
    assert load_runs(paths.current)["git_sha"].unique().tolist() == ["3" * 40]
    assert "current runs restarted: solar differ(s) from the 2 run(s) kept before" in changed.text
    run("3" * 40, other, reset=False)
    assert load_runs(paths.current)["run_id"].nunique() == 2
    reset = run("3" * 40, other, reset=True)
    assert load_runs(paths.current)["run_id"].nunique() == 1 and "current runs reset (--reset)" in reset.text
    current = load_runs(paths.current)
    assert set(current["environment"]) == {"emulator; test"} and current["definition"].str.len().eq(12).all()


def test_record_refuses_a_dirty_tree_before_sampling_and_marks_an_allowed_one(tmp_path):
    paths = profile_paths("local", tmp_path)
    clock = FakeClock()
    polls = []

    def fetch():
        polls.append(clock.monotonic())
        return fake_fetch(clock)()

    with pytest.raises(ConfigError, match=r"uncommitted changes \(processors/solar.json\).*--allow-dirty"):
        run_profile(fetch, clock, env="local", root=tmp_path, git_sha="1" * 40, duration=4, interval=2, record=True,
                    uncommitted=["processors/solar.json"])
    assert polls == [] and not paths.current.exists()
    outcome = run_profile(fetch, clock, env="local", root=tmp_path, git_sha="1" * 40, duration=4, interval=2,
                          record=True, uncommitted=["processors/solar.json"], allow_dirty=True)
    assert set(load_runs(paths.history)["flags"]) == {"dirty"} and "(marked dirty)" in outcome.text


@pytest.mark.parametrize("kw, message", [
    ({"processors": ["nosuch"]}, "no processor named nosuch in the workspace; it has: solar"),
    ({"duration": 0}, "--duration must be a number of seconds above 0"),
    ({"interval": -1}, "--interval must be a number of seconds above 0"),
    ({"interval": 30}, "--interval (30 s) is longer than --duration (20 s)"),
])
def test_options_that_cannot_give_a_run_are_refused_before_sampling(tmp_path, kw, message):
    clock = FakeClock()
    with pytest.raises(ConfigError, match=re.escape(message)):
        run_profile(fake_fetch(clock), clock, env="local", root=tmp_path, git_sha="1" * 40,
                    **{"duration": 20, "interval": 2, **kw})
    assert clock.monotonic() == 0 and not (tmp_path / ".sp").exists()


def test_a_run_that_measured_nothing_leaves_the_current_runs_alone(tmp_path):
    paths = profile_paths("local", tmp_path)
    profile(tmp_path)
    clock = FakeClock()
    stopped = lambda: [{**doc, "state": "STOPPED"} for doc in fake_fetch(clock)()]  # noqa: E731
    outcome = run_profile(stopped, clock, env="local", root=tmp_path, git_sha="1" * 40, duration=4, interval=2)
    assert "nothing measured: current.csv and the history are left as they were" in outcome.text
    assert load_runs(paths.current)["run_id"].nunique() == 1


def test_threshold_breach_exits_3_with_the_reason(tmp_path):
    outcome = profile(tmp_path, thresholds={"memory_mb": 64, "throughput_min": 10}, memory_mb=100.0)
    assert outcome.exit_status is ExitStatus.REGRESSION
    assert [b.reason for b in outcome.data.breaches] == ["memory_mb 100 MiB > max 64 MiB (global limit)"]
    assert "1 threshold breach(es):" in outcome.text


def test_a_breach_is_an_outcome_with_its_files_written_not_an_error_class(tmp_path):
    import sp_tasks.errors

    outcome = profile(tmp_path, thresholds={"memory_mb": 64}, memory_mb=100.0)
    assert outcome.exit_status is ExitStatus.REGRESSION and all(p.exists() for p in outcome.paths)
    assert "profile run " in outcome.text  # the whole run is shown, not only an error line
    assert not hasattr(sp_tasks.errors, "ThresholdBreach")  # exit 3 comes from the outcome; no dead error class


def test_output_is_where_the_samples_go_as_the_help_says(tmp_path):
    import tasks

    assert tasks.profile.help["output"].startswith("write the raw samples CSV here instead of .sp/<env>/samples.csv")
    paths = profile_paths("local", tmp_path)
    out = tmp_path / "artifacts" / "samples.csv"
    clock = FakeClock()
    outcome = run_profile(fake_fetch(clock), clock, env="local", root=tmp_path, git_sha="1" * 40, duration=6,
                          interval=2, output=out)
    assert out.read_text().startswith("timestamp,processor,metric,value\n") and not paths.samples.exists()
    assert load_runs(paths.current)["processor"].unique().tolist() == ["solar"]
    assert outcome.paths[:2] == (out, paths.current)
    assert f"samples: {out}\nrun summary: {paths.current}\n" in outcome.text


def test_compare_json_and_exit_status(tmp_path):
    outcome = run_compare_baseline("ci", tmp_path, history=DATA / "history.csv", current=DATA / "current.csv",
                                   fmt="json")
    doc = json.loads(outcome.text)
    assert outcome.exit_status is ExitStatus.REGRESSION and doc["regressions"] == 2
    assert {f["verdict"] for f in doc["findings"]} == {v.value for v in Verdict} - {"accepted"}


def test_empty_history_gives_insufficient_data_not_a_crash(tmp_path):
    outcome = run_compare_baseline("ci", tmp_path, current=DATA / "current.csv", fmt="text")
    assert outcome.exit_status is ExitStatus.SUCCESS
    assert {f.verdict for f in outcome.data} == {Verdict.INSUFFICIENT}


def test_the_first_run_says_why_nothing_is_comparable_and_what_to_do(tmp_path):
    """A fresh clone: local runs go to .sp/ (PERF_ARTIFACTS=.sp) and the committed history is CI's."""
    committed = profile_paths("local", tmp_path).history
    committed.parent.mkdir(parents=True)
    shutil.copy(DATA / "history.csv", committed)
    local = profile_paths("local", tmp_path, in_repo=False)
    profile(tmp_path)
    text = run_compare_baseline("local", tmp_path, paths=local).text
    assert "no run history yet in .sp/local/history.csv (baselines/local/history.csv is CI's record" in text
    assert "`invoke perf-ab -e local --base HEAD`" in text and "`invoke profile -e local --record --runs 5` from a clean tree" in text
    text = run_compare_baseline("local", tmp_path).text  # CI's history, recorded elsewhere: all skipped
    assert "no run in baselines/local/history.csv is comparable with this one" in text
    for sha, record in (("2" * 40, True), ("3" * 40, False)):  # one comparable run recorded here, then another
        clock = FakeClock()
        run_profile(fake_fetch(clock), clock, env="local", root=tmp_path, git_sha=sha, duration=20, interval=2,
                    record=record, paths=local, reset=True)
    text = run_compare_baseline("local", tmp_path, paths=local).text
    assert "1 baseline run(s), 5 needed" in text and "To judge an edit now" not in text


def test_malformed_current_file_names_file_and_line(tmp_path):
    bad = tmp_path / "current.csv"
    bad.write_text("run_id,timestamp,git_sha,processor,metric,value\nr,2025-01-01T00:00:00Z,s,p,memory_mb,12 MB\n")
    with pytest.raises(DataFileError, match=r"current.csv: line 2: value '12 MB' is not a number"):
        run_compare_baseline("ci", tmp_path, current=bad)


def test_without_a_current_file_the_newest_recorded_run_is_compared(tmp_path):
    paths = profile_paths("ci", tmp_path)
    paths.history.parent.mkdir(parents=True)
    shutil.copy(DATA / "history.csv", paths.history)
    outcome = run_compare_baseline("ci", tmp_path, fmt="markdown")
    assert "3 run(s)" not in outcome.text and "1 run(s) of `23fffff`" in outcome.text
    assert "no current-run file: the newest recorded run is compared with the runs before it" in outcome.text
    assert "1 current run(s); the rule is calibrated for 4" in outcome.text
    assert "`invoke profile --runs 4` takes them" in outcome.text  # nothing is kept yet: all four are to take


def test_charts_draw_what_changed_and_report_links_them_without_drawing(tmp_path):
    from sp_tasks.reporting.chartcache import stored_digest

    paths = profile_paths("ci", tmp_path)
    paths.history.parent.mkdir(parents=True)
    shutil.copy(DATA / "history.csv", paths.history)
    paths.current.parent.mkdir(parents=True)
    shutil.copy(DATA / "current.csv", paths.current)
    stale = paths.charts / "trends-gone.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")

    early = run_report("ci", tmp_path)  # no charts yet: nothing linked, and it says how to get them
    assert "![" not in early.text and "4 missing; run `invoke charts --env ci` before `invoke report`" in early.text
    assert not (paths.charts / "overview.png").exists()

    drawn = run_charts("ci", tmp_path)
    names = ["overview.png", "trends-new_processor.png", "trends-orders_enrich.png", "trends-solar_windows.png"]
    assert sorted(p.name for p in paths.charts.iterdir()) == names  # the gone processor's chart removed
    assert drawn.text.count("drew ") == 4 and all(stored_digest(p) for p in drawn.paths)
    before = {p.name: p.read_bytes() for p in drawn.paths}
    again = run_charts("ci", tmp_path)
    assert again.text == f"kept 4 unchanged chart(s) in {paths.charts}\n"
    assert {p.name: p.read_bytes() for p in again.paths} == before

    lines = paths.current.read_text().splitlines()
    lines[1:] = [l.replace(",latency_p99_ms,", ",latency_p99_ms,") for l in lines[1:]]
    row = next(i for i, l in enumerate(lines) if l.split(",")[3] == "orders_enrich")
    cells = lines[row].split(",")
    cells[5] = repr(float(cells[5]) * 3)
    lines[row] = ",".join(cells)
    paths.current.write_text("\n".join(lines) + "\n")
    stale_report = run_report("ci", tmp_path)
    assert "2 chart(s) drawn from other numbers" in stale_report.text  # orders_enrich's and the overview
    redrawn = run_charts("ci", tmp_path)
    assert sorted(line.rsplit("/", 1)[1] for line in redrawn.text.splitlines() if line.startswith("drew ")) == [
        "overview.png", "trends-orders_enrich.png"]

    outcome = run_report("ci", tmp_path)
    text = paths.report.read_text()
    assert "![overview](charts/overview.png)" in text and "drawn from other numbers" not in text
    assert "![solar_windows trends](charts/trends-solar_windows.png)" in text
    assert outcome.exit_status is ExitStatus.SUCCESS and outcome.paths == (paths.report,)
    charts = run_charts("ci", tmp_path, out=tmp_path / "elsewhere")
    assert len(charts.paths) == 4 and all(p.parent == tmp_path / "elsewhere" for p in charts.paths)
