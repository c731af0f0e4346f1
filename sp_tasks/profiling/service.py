"""The profiling shell the tasks call: profile, compare-baseline, charts and report.

Each function reads files, calls the pure core (frames, regression, changepoints, thresholds,
markdown, charts) and writes files; nothing here decides anything. Environment settings come in
as plain arguments (env name, project root, thresholds dict) so this module does not depend on
how settings are loaded. Default paths below the project root:

* ``baselines/<env>/history.csv`` — committed run history (append-only, ``--record``);
* ``.sp/<env>/current.csv``       — the current commit's runs (profile appends while the
  git sha stays the same and starts afresh for a new one); compare/report use it when present,
  else the newest history run is compared with the runs before it;
* ``.sp/<env>/samples.csv``       — raw samples of the last profile run (``profile --output
  FILE`` writes them to FILE instead);
* ``reports/<env>/charts/``, ``reports/<env>/latest.md`` — committed charts and report.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from sp_tasks.clock import Clock
from sp_tasks.errors import ExitStatus

if TYPE_CHECKING:
    import pandas as pd

    from sp_tasks.profiling.changepoints import ChangePoint
    from sp_tasks.profiling.regression import Finding, Rule
    from sp_tasks.profiling.thresholds import Breach


@dataclass(frozen=True)
class ProfilePaths:
    history: Path
    current: Path
    samples: Path
    charts: Path
    report: Path


def profile_paths(env: str, root: str | Path) -> ProfilePaths:
    root = Path(root)
    return ProfilePaths(
        history=root / "baselines" / env / "history.csv",
        current=root / ".sp" / env / "current.csv",
        samples=root / ".sp" / env / "samples.csv",
        charts=root / "reports" / env / "charts",
        report=root / "reports" / env / "latest.md",
    )


@dataclass(frozen=True)
class Comparison:
    """Everything compare/charts/report show, computed once."""

    history: "pd.DataFrame"  # history without the current runs
    current: "pd.DataFrame"
    findings: list["Finding"]
    changepoints: dict[tuple[str, str], list["ChangePoint"]]
    rule: "Rule"
    baseline: str
    current_desc: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    text: str
    exit_status: ExitStatus
    paths: tuple[Path, ...] = ()
    data: Any = None  # the structured result (findings, breaches, …) for callers and tests


def _history_changepoints(history: "pd.DataFrame") -> dict[tuple[str, str], list["ChangePoint"]]:
    from sp_tasks.profiling.changepoints import detect_changepoints
    from sp_tasks.profiling.metrics import METRIC_NAMES

    out = {}
    gated = history[history["metric"].isin(METRIC_NAMES)]  # the report shows gated metrics only
    ordered = gated.sort_values(["timestamp", "run_id"], kind="stable")
    for (processor, metric), group in ordered.groupby(["processor", "metric"], sort=True):
        found = detect_changepoints(group["value"].to_numpy(), group["run_id"].tolist())
        if found:
            out[(str(processor), str(metric))] = found
    return out


def _describe(history: "pd.DataFrame", current: "pd.DataFrame", rule: "Rule") -> tuple[str, str]:
    runs = history["run_id"].nunique()
    if runs:
        first, last = history["timestamp"].min(), history["timestamp"].max()
        which = f"last {rule.window} of {runs}" if runs > rule.window else f"all {runs}"
        baseline = f"{which} recorded runs ({first:%Y-%m-%d}…{last:%Y-%m-%d})"
    else:
        baseline = "no recorded runs"
    shas = sorted({s[:7] for s in current["git_sha"]})
    return baseline, f"{current['run_id'].nunique()} run(s) of {', '.join(f'`{s}`' for s in shas) or 'unknown commit'}"


def load_comparison(
    env: str,
    root: str | Path,
    *,
    history: str | Path | None = None,
    current: str | Path | None = None,
    rule: "Rule | None" = None,
) -> Comparison:
    """Read history and current runs and compute verdicts and history change points.

    Raises:
        DataFileError: a malformed file, or an explicitly named file that does not exist.
    """
    from sp_tasks.profiling.datafiles import load_runs
    from sp_tasks.profiling.regression import Rule, compare_runs

    rule = rule or Rule()
    paths = profile_paths(env, root)
    hist = load_runs(history or paths.history, missing_ok=history is None)
    notes: list[str] = []
    if current is not None or paths.current.exists():
        cur = load_runs(current or paths.current)
    else:
        newest = hist.sort_values(["timestamp", "run_id"], kind="stable")["run_id"].iloc[-1:] if len(hist) else []
        cur = hist[hist["run_id"].isin(list(newest))]
        notes.append("no current-run file: the newest recorded run is compared with the runs before it" if len(hist)
                     else "no recorded runs and no current-run file: run `invoke profile` first")
    base = hist[~hist["run_id"].isin(set(cur["run_id"]))]
    findings = compare_runs(base, cur, rule)
    baseline, current_desc = _describe(base, cur, rule)
    return Comparison(base, cur, findings, _history_changepoints(base), rule, baseline, current_desc, tuple(notes))


def run_compare_baseline(
    env: str,
    root: str | Path,
    *,
    history: str | Path | None = None,
    current: str | Path | None = None,
    fmt: str = "text",
    rule: "Rule | None" = None,
) -> Outcome:
    """compare-baseline: verdicts as text, Markdown or JSON; exit status 3 on any regression."""
    from sp_tasks.profiling.regression import Verdict, findings_json

    cmp = load_comparison(env, root, history=history, current=current, rule=rule)
    if fmt == "json":
        text = json.dumps(findings_json(cmp.findings), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "markdown":
        text = _markdown(cmp, env, links={}, overview=None)
    elif fmt == "text":
        from sp_tasks.reporting.text import render_findings_text

        text = render_findings_text(cmp.findings, rule=cmp.rule, notes=cmp.notes)
    else:
        raise ValueError(f"unknown format {fmt!r}; use text, markdown or json")
    regressed = any(f.verdict is Verdict.REGRESSION for f in cmp.findings)
    return Outcome(text, ExitStatus.REGRESSION if regressed else ExitStatus.SUCCESS, data=cmp.findings)


def _markdown(
    cmp: Comparison, env: str, *, links: Mapping[str, str], overview: str | None, sections: Sequence[str] = ()
) -> str:
    from sp_tasks.reporting.markdown import ReportContext, render_report

    ctx = ReportContext(env, cmp.baseline, cmp.current_desc, dict(links), overview, cmp.notes)
    return render_report(cmp.findings, context=ctx, rule=cmp.rule, changepoints=cmp.changepoints, sections=sections)


def _write_charts(cmp: Comparison, out: Path) -> dict[str, Path]:
    from sp_tasks.reporting import charts

    written: dict[str, Path] = {}
    for processor in sorted({f.processor for f in cmp.findings}):
        fig = charts.build_processor_figure(
            processor, cmp.history, cmp.current, cmp.findings, cmp.changepoints, cmp.rule
        )
        written[processor] = charts.save_figure(fig, out / charts.chart_filename(processor))
    written[""] = charts.save_figure(charts.build_overview_figure(cmp.findings, cmp.rule), out / charts.OVERVIEW_FILE)
    for stale in out.glob("trends-*.png"):  # charts of processors that are gone
        if stale not in written.values():
            stale.unlink()
    return written


def run_charts(
    env: str, root: str | Path, *, out: str | Path | None = None, history=None, current=None, rule=None
) -> Outcome:
    """charts: one PNG per processor plus ``overview.png`` in ``out`` (default reports/<env>/charts)."""
    cmp = load_comparison(env, root, history=history, current=current, rule=rule)
    written = _write_charts(cmp, Path(out) if out else profile_paths(env, root).charts)
    paths = tuple(written[k] for k in sorted(written))
    return Outcome("\n".join(f"wrote {p}" for p in paths) + "\n", ExitStatus.SUCCESS, paths, cmp.findings)


def run_report(
    env: str,
    root: str | Path,
    *,
    out: str | Path | None = None,
    charts: str | Path | None = None,
    sections: Sequence[str] = (),
    history=None,
    current=None,
    rule=None,
) -> Outcome:
    """report: charts plus one Markdown file (default reports/<env>/latest.md) linking them."""
    paths = profile_paths(env, root)
    report = Path(out) if out else paths.report
    cmp = load_comparison(env, root, history=history, current=current, rule=rule)
    written = _write_charts(cmp, Path(charts) if charts else paths.charts)
    rel = {k: Path(os.path.relpath(p, report.parent)).as_posix() for k, p in written.items()}
    text = _markdown(cmp, env, links={k: v for k, v in rel.items() if k}, overview=rel.get(""), sections=sections)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text, encoding="utf-8")
    return Outcome(text, ExitStatus.SUCCESS, (report, *written.values()), cmp.findings)


@dataclass(frozen=True)
class ProfileRun:
    run_id: str
    summary: "pd.DataFrame"
    notes: tuple[str, ...]
    breaches: list["Breach"] = field(default_factory=list)


def run_profile(
    fetch: Callable[[], list[dict[str, Any]]],
    clock: Clock,
    *,
    env: str,
    root: str | Path,
    git_sha: str,
    duration: float = 60.0,
    interval: float = 5.0,
    processors: Sequence[str] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    thresholds_source: str = "thresholds.json",
    record: bool = False,
    output: str | Path | None = None,
    progress: Callable[[float, float], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Outcome:
    """profile: sample → samples CSV → run summary → thresholds → current file (+ history).

    Exit status 3 when a threshold is breached (an outcome, not an error: the files are written
    and the text shows the run either way). The raw samples go to ``output`` (default
    ``.sp/<env>/samples.csv``); the run summary to ``.sp/<env>/current.csv`` always, and to the
    history only with ``record``. The text names each file written.
    """
    from sp_tasks.profiling import collect, datafiles, frames
    from sp_tasks.profiling.thresholds import check_thresholds
    from sp_tasks.reporting.text import render_profile_text

    paths = profile_paths(env, root)
    notes: list[str] = []

    def note(message: str) -> None:
        notes.append(message)
        if on_note is not None:
            on_note(message)

    started = clock.now()
    samples = collect.collect_samples(
        fetch, duration=duration, interval=interval, clock=clock, processors=processors, progress=progress, on_note=note
    )
    samples_path = Path(output) if output else paths.samples
    datafiles.save_samples(samples, samples_path)
    summary = frames.compute_summary(frames.samples_frame(samples))
    run_id = frames.make_run_id(started, git_sha)
    runs = frames.summary_runs(summary, run_id=run_id, timestamp=started, git_sha=git_sha)
    existing = datafiles.load_runs(paths.current, missing_ok=True)
    datafiles.save_runs(runs, paths.current, append=bool(len(existing)) and set(existing["git_sha"]) == {git_sha})
    if record:
        datafiles.save_runs(runs, paths.history, append=True)
    breaches = check_thresholds(summary.values, thresholds or {}, source=thresholds_source)
    all_notes = (*notes, *summary.notes)
    recorded_to = str(paths.history) if record else None
    text = render_profile_text(summary.values, all_notes, breaches, run_id=run_id, recorded_to=recorded_to,
                               written=(("samples", str(samples_path)), ("run summary", str(paths.current))))
    status = ExitStatus.REGRESSION if breaches else ExitStatus.SUCCESS
    written = (samples_path, paths.current, *((paths.history,) if record else ()))
    return Outcome(text, status, written, ProfileRun(run_id, summary.values, all_notes, breaches))
