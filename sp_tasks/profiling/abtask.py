"""What ``invoke perf-ab`` calls: revisions → side-by-side rounds → verdicts → files → text and exit status.

Shell. Writes ``.sp/<env>/ab/``: ``runs.csv`` (the run records), ``run.json`` (revisions, options,
processors and notes, so ``--from-last-run`` can render again without measuring), ``comment.md``
(the PR comment) and ``ab.png`` (base vs head, :mod:`~sp_tasks.reporting.abchart`).

Exit status: 3 when a changed processor regressed; 1 when the A/A check failed (an unchanged
processor's identical copies measured apart: the run cannot be trusted — rerun, or give it more
``--runs``/``--duration``); else 0.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

from sp_tasks.errors import ConfigError, ExitStatus
from sp_tasks.profiling.ab import AbReport, Side, compare_ab
from sp_tasks.profiling.paths import paths_for
from sp_tasks.profiling.service import Outcome

RUNS, META, COMMENT, CHART = "runs.csv", "run.json", "comment.md", "ab.png"


def rounds_option(value: Any, default: int = 5) -> int:
    """``--runs``: a whole number of rounds, at least 3 (UsageError otherwise)."""
    from sp_tasks.options import whole_number

    return whole_number("--runs", value, default, least=3, why="the paired test needs them")


def check_ab_options(rounds: Any, duration: Any, interval: Any) -> None:
    from sp_tasks.profiling.record import check_options

    rounds_option(rounds)
    check_options(duration, interval)


def base_commit(settings: Any, base_ref: str) -> str:
    """``--base`` as a commit sha; UsageError naming the fix when Git does not know it."""
    from sp_tasks.errors import UsageError
    from sp_tasks.gitrev import resolve

    try:
        return resolve(settings.root, base_ref)
    except ConfigError:
        raise UsageError(f"--base {base_ref!r} is not a commit this checkout knows: give a branch, tag or sha, "
                         "e.g. --base origin/main (in CI, check out with fetch-depth: 0)") from None


def measure(settings: Any, runner: Any, *, base_ref: str, rounds: int, duration: float, interval: float,
            say: Callable[[str], None]) -> AbReport:
    """Run perf-ab against ``runner``'s workspace and return the report (verdicts with the default rule)."""
    from sp_tasks.desired import load_desired
    from sp_tasks.gitrev import current_sha, desired_at_ref, uncommitted
    from sp_tasks.profiling.abrun import perf_ab
    from sp_tasks.profiling.fingerprints import settings_environment

    base_sha = base_commit(settings, base_ref)
    head = load_desired(settings)  # invalid definitions stop here: nothing is sent
    base = desired_at_ref(settings, base_sha)
    head_sha, dirty = current_sha(settings.root), bool(uncommitted(settings.root, ("processors", "connections")))
    environment = settings_environment(settings)
    run = perf_ab(runner, base, head, rounds=rounds, duration=duration, interval=interval, environment=environment,
                  shas={"base": base_sha, "head": head_sha}, say=say)
    sides = tuple(Side(p.name, p.status, p.why) for p in run.pairings)
    return AbReport(settings.name, base_ref, base_sha, head_sha, dirty, rounds, duration, environment, sides,
                    run.runs, (), None, run.notes)  # type: ignore[arg-type] - judged below


def judge(report: AbReport, rule: Any) -> AbReport:
    from dataclasses import replace

    return replace(report, findings=tuple(compare_ab(report.runs, report.status, rule)), rule=rule)


def save(report: AbReport, directory: Path) -> None:
    from sp_tasks.profiling.datafiles import save_runs

    directory.mkdir(parents=True, exist_ok=True)
    save_runs(report.runs, directory / RUNS, append=False)
    meta = {"env": report.env, "base_ref": report.base_ref, "base_sha": report.base_sha, "head_sha": report.head_sha,
            "head_dirty": report.head_dirty, "rounds": report.rounds, "duration": report.duration,
            "environment": report.environment, "processors": [asdict(s) for s in report.processors],
            "notes": list(report.notes)}
    (directory / META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load(directory: Path) -> AbReport:
    """The last saved run (``--from-last-run``); ConfigError when there is none."""
    from sp_tasks.profiling.datafiles import load_runs
    from sp_tasks.profiling.decision import Rule

    if not (directory / META).is_file():
        raise ConfigError(f"{directory / META}: no earlier perf-ab run to render; run `invoke perf-ab` first")
    meta = json.loads((directory / META).read_text(encoding="utf-8"))
    meta["processors"] = tuple(Side(**s) for s in meta["processors"])
    meta["notes"] = tuple(meta["notes"])
    return AbReport(**meta, runs=load_runs(directory / RUNS), findings=(), rule=Rule())


def exit_status(report: AbReport) -> ExitStatus:
    if report.aa_failures:
        return ExitStatus.ERROR
    return ExitStatus.REGRESSION if report.regressions else ExitStatus.SUCCESS


def publish(report: AbReport, directory: Path, *, images: str | None) -> Outcome:
    """Write the comment and the chart; the text for the terminal."""
    from sp_tasks.reporting.abchart import build_ab_figure
    from sp_tasks.reporting.charts import save_figure
    from sp_tasks.reporting.prcomment import render_ab_markdown, render_ab_text

    chart = save_figure(build_ab_figure(report), directory / CHART)
    link = f"{images.rstrip('/')}/{CHART}" if images else None
    comment = directory / COMMENT
    comment.write_text(render_ab_markdown(report, image=link), encoding="utf-8")
    text = render_ab_text(report) + f"\nwrote {comment} and {chart}\n"
    return Outcome(text, exit_status(report), (comment, chart, directory / RUNS), report)


def run_perf_ab(settings: Any, *, base_ref: str = "HEAD", rounds: int = 5, duration: float = 10.0,
                interval: float = 1.0, accept: Sequence[str] = (), images: str | None = None,
                from_last_run: bool = False, runner: Any = None, say: Callable[[str], None] = print) -> Outcome:
    """The whole task (see the module docstring). ``runner`` defaults to one for ``settings``."""
    from sp_tasks.profiling.decision import rule_from_thresholds

    rule = rule_from_thresholds(settings.thresholds, accept=accept,
                                source=f"environments/{settings.name}/thresholds.json")
    directory = paths_for(settings).ab
    if from_last_run:
        return publish(judge(load(directory), rule), directory, images=images)
    check_ab_options(rounds, duration, interval)
    base_commit(settings, base_ref)  # a bad --base is refused before the emulator starts or Atlas is called
    if runner is None:
        runner = _runner(settings)
    report = judge(measure(settings, runner, base_ref=base_ref, rounds=rounds, duration=duration,
                           interval=interval, say=say), rule)
    save(report, directory)
    return publish(report, directory, images=images)


def clean(settings: Any, runner: Any = None) -> str:
    """``perf-ab --clean``: remove copies a killed run left behind."""
    from sp_tasks.profiling.abrun import remove_copies

    gone = remove_copies(runner or _runner(settings))
    return f"removed {len(gone)} perf-ab copies: {', '.join(gone)}" if gone else "no perf-ab copies to remove"


def _runner(settings: Any) -> Any:
    from sp_tasks.atlas.connect import open_client
    from sp_tasks.deploy.service import Runner

    return Runner(settings, open_client(settings), progress=lambda _line: None)
