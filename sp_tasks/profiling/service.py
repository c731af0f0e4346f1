"""The profiling shell the tasks call for compare-baseline, charts and report (``profile`` is in record).

Each function reads files, calls the pure core (comparable, regression, changepoints, markdown,
charts) and writes files; nothing here decides anything. Paths come from
:mod:`~sp_tasks.profiling.paths` (history, current runs, charts, report). The baseline of each
processor is the comparable part of the history (same environment and definition fingerprint as
its current run, from an accepted change's ``since`` on: :mod:`~sp_tasks.profiling.comparable`);
what was skipped, and why, goes into the notes every rendering shows. Without a current-run file
the newest recorded run is compared with the runs before it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sp_tasks.errors import ExitStatus
from sp_tasks.profiling.paths import ProfilePaths, profile_paths  # noqa: F401 - re-exported for callers

if TYPE_CHECKING:
    import pandas as pd

    from sp_tasks.profiling.changepoints import ChangePoint
    from sp_tasks.profiling.regression import Finding, Rule
    from sp_tasks.profiling.thresholds import Breach


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
    paths: ProfilePaths | None = None,
) -> Comparison:
    """Read history and current runs; keep the comparable history; compute verdicts and change points.

    Raises:
        DataFileError: a malformed file, or an explicitly named file that does not exist.
    """
    from sp_tasks.profiling import comparable
    from sp_tasks.profiling.datafiles import load_runs
    from sp_tasks.profiling.metrics import METRIC_NAMES
    from sp_tasks.profiling.regression import Rule, compare_runs

    rule = rule or Rule()
    paths = paths or profile_paths(env, root)
    hist = load_runs(history or paths.history, missing_ok=history is None)
    notes: list[str] = []
    if current is not None or paths.current.exists():
        cur = load_runs(current or paths.current)
    else:
        newest = hist.sort_values(["timestamp", "run_id"], kind="stable")["run_id"].iloc[-1:] if len(hist) else []
        cur = hist[hist["run_id"].isin(list(newest))]
        notes.append("no current-run file: the newest recorded run is compared with the runs before it" if len(hist)
                     else "no recorded runs and no current-run file: run `invoke profile` first")
    base, skipped = comparable.comparable_history(hist[~hist["run_id"].isin(set(cur["run_id"]))],
                                                  comparable.reference_keys(cur))
    starts, since_notes = comparable.accepted_starts(rule.accepted, base, METRIC_NAMES)
    base, early = comparable.before_accepted(base, starts)
    notes += comparable.summarize([*skipped, *early]) + since_notes
    if len(cur) and not len(base):
        notes.append(_why_no_baseline(Path(root), Path(history or paths.history), env, bool(len(hist)),
                                      rule.min_history))
    notes += comparable.few_current_runs(cur, base, kept=current is not None or paths.current.exists())
    findings = compare_runs(base, cur, rule)
    baseline, current_desc = _describe(base, cur, rule)
    return Comparison(base, cur, findings, _history_changepoints(base), rule, baseline, current_desc, tuple(notes))


def _why_no_baseline(root: Path, history: Path, env: str, recorded: bool, needed: int) -> str:
    """The first run's note: why nothing could be compared, and what gives a verdict now."""
    committed = root / "baselines" / env / "history.csv"
    if recorded:
        why = (f"no run in {_shown(history, root)} is comparable with this one: each was recorded on another "
               "machine, emulator version or definition, or before fingerprints (the notes above)")
    else:
        why = f"no run history yet in {_shown(history, root)}"
        if committed.exists() and committed.resolve() != history.resolve():
            why += (f" ({_shown(committed, root)} is CI's record, measured on its runner: runs on another machine are "
                    "never compared, so it is not read here)")
    return (f"{why}. To judge an edit now: `invoke perf-ab -e {env} --base HEAD` measures the committed and the "
            f"edited definitions side by side, no history needed (what pull requests use); or build a baseline on "
            f"this machine: `invoke profile -e {env} --record --runs {needed}` from a clean tree.")


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def run_compare_baseline(
    env: str,
    root: str | Path,
    *,
    history: str | Path | None = None,
    current: str | Path | None = None,
    fmt: str = "text",
    rule: "Rule | None" = None,
    paths: ProfilePaths | None = None,
) -> Outcome:
    """compare-baseline: verdicts as text, Markdown or JSON; exit status 3 on any regression."""
    from sp_tasks.profiling.regression import Verdict, findings_json

    cmp = load_comparison(env, root, history=history, current=current, rule=rule, paths=paths)
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

    ctx = ReportContext(env, cmp.baseline, cmp.current_desc, dict(links), overview, cmp.notes, _trends(cmp))
    return render_report(cmp.findings, context=ctx, rule=cmp.rule, changepoints=cmp.changepoints, sections=sections)


def _trends(cmp: Comparison) -> dict[tuple[str, str], str]:
    """(processor, metric) -> the baseline window's runs ▸ the current runs, as one sparkline scale."""
    from sp_tasks.reporting.format import sparkline

    order = ["timestamp", "run_id"]
    base = {k: g["value"].tolist()[-cmp.rule.window:] for k, g in
            cmp.history.sort_values(order, kind="stable").groupby(["processor", "metric"], sort=False)}
    cur = {k: g["value"].tolist() for k, g in
           cmp.current.sort_values(order, kind="stable").groupby(["processor", "metric"], sort=False)}
    out = {}
    for key in {(f.processor, f.metric) for f in cmp.findings}:
        both = base.get(key, []) + cur.get(key, [])
        if both:
            lo, hi = min(both), max(both)
            out[key] = f"{sparkline(base.get(key, []), lo, hi)}▸{sparkline(cur.get(key, []), lo, hi)}"
    return out


def _chart_inputs(cmp: Comparison) -> dict[str, str]:
    """chart file name -> digest of what it shows (the processor's rows, verdicts, change points)."""
    from dataclasses import asdict

    from sp_tasks.reporting import charts, chartcache

    rule = (cmp.rule.describe(), cmp.rule.window)
    out = {}
    for processor in sorted({f.processor for f in cmp.findings}):
        rows = [frame[frame["processor"] == processor] for frame in (cmp.history, cmp.current)]
        mine = [f.to_dict() for f in cmp.findings if f.processor == processor]
        cps = {m: [asdict(c) for c in v] for (p, m), v in sorted(cmp.changepoints.items()) if p == processor}
        notes = [n for n in cmp.notes if n.startswith(f"{processor}:")]
        out[charts.chart_filename(processor)] = chartcache.digest(*rows, mine, cps, rule, notes)
    out[charts.OVERVIEW_FILE] = chartcache.digest([f.to_dict() for f in cmp.findings], rule)
    return out


def _write_charts(cmp: Comparison, out: Path) -> tuple[dict[str, Path], list[Path]]:
    """(every chart by processor, "" for the overview; the ones drawn now). A chart whose stored
    input digest matches is kept as it is (:mod:`~sp_tasks.reporting.chartcache`)."""
    from sp_tasks.reporting import charts, chartcache

    inputs = _chart_inputs(cmp)
    charts_by_key: dict[str, Path] = {}
    drawn: list[Path] = []
    for processor in sorted({f.processor for f in cmp.findings}):
        path = out / charts.chart_filename(processor)
        charts_by_key[processor] = path
        if not chartcache.up_to_date(path, inputs[path.name]):
            fig = charts.build_processor_figure(processor, cmp.history, cmp.current, cmp.findings,
                                                cmp.changepoints, cmp.rule, notes=cmp.notes)
            drawn.append(chartcache.save_with_digest(fig, path, inputs[path.name]))
    charts_by_key[""] = out / charts.OVERVIEW_FILE
    if not chartcache.up_to_date(charts_by_key[""], inputs[charts.OVERVIEW_FILE]):
        fig = charts.build_overview_figure(cmp.findings, cmp.rule)
        drawn.append(chartcache.save_with_digest(fig, charts_by_key[""], inputs[charts.OVERVIEW_FILE]))
    for stale in out.glob("trends-*.png"):  # charts of processors that are gone
        if stale not in charts_by_key.values():
            stale.unlink()
    return charts_by_key, drawn


def run_charts(env: str, root: str | Path, *, out: str | Path | None = None, history=None, current=None,
               rule=None, paths: ProfilePaths | None = None) -> Outcome:
    """charts: one PNG per processor plus ``overview.png`` in ``out`` (default: the paths' charts),
    drawing only those whose inputs changed."""
    paths = paths or profile_paths(env, root)
    cmp = load_comparison(env, root, history=history, current=current, rule=rule, paths=paths)
    charts_by_key, drawn = _write_charts(cmp, Path(out) if out else paths.charts)
    every = tuple(charts_by_key[k] for k in sorted(charts_by_key))
    kept = len(every) - len(drawn)
    text = "".join(f"drew {p}\n" for p in drawn) + (f"kept {kept} unchanged chart(s) in {every[0].parent}\n"
                                                      if kept else "")
    return Outcome(text, ExitStatus.SUCCESS, every, cmp.findings)


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
    paths: ProfilePaths | None = None,
) -> Outcome:
    """report: one Markdown file (default: the paths' report) linking the charts ``invoke charts``
    drew. It draws nothing: a missing chart is left unlinked, and charts drawn from other numbers
    than the report's are named in its notes."""
    from sp_tasks.reporting import chartcache

    paths = paths or profile_paths(env, root)
    report = Path(out) if out else paths.report
    chart_dir = Path(charts) if charts else paths.charts
    cmp = load_comparison(env, root, history=history, current=current, rule=rule, paths=paths)
    inputs = _chart_inputs(cmp)
    links, stale = {}, []
    for name, digest in inputs.items():
        path = chart_dir / name
        if path.exists():
            links[name] = Path(os.path.relpath(path, report.parent)).as_posix()
            stale += [] if chartcache.up_to_date(path, digest) else [name]
    if stale or len(links) < len(inputs):
        why = f"{len(stale)} chart(s) drawn from other numbers" if stale else f"{len(inputs) - len(links)} missing"
        cmp = replace(cmp, notes=(*cmp.notes, f"charts in {chart_dir}: {why}; run `invoke charts --env {env}` "
                                                "before `invoke report`"))
    from sp_tasks.reporting.charts import OVERVIEW_FILE, chart_filename

    by_processor = {p: links[chart_filename(p)] for p in {f.processor for f in cmp.findings}
                    if chart_filename(p) in links}
    text = _markdown(cmp, env, links=by_processor, overview=links.get(OVERVIEW_FILE), sections=sections)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text, encoding="utf-8")
    return Outcome(text, ExitStatus.SUCCESS, (report,), cmp.findings)


@dataclass(frozen=True)
class ProfileRun:
    run_id: str
    summary: "pd.DataFrame"
    notes: tuple[str, ...]
    breaches: list["Breach"] = field(default_factory=list)
