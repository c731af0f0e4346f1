"""``invoke profile``: sample, summarize, fingerprint, keep the current runs, record on request.

Shell: the API call (``fetch``), time (``clock``) and progress are injected; files are written
here. Before sampling, one list call checks that every ``--processor`` exists and reads each
processor's definition for its fingerprint (:mod:`~sp_tasks.profiling.fingerprints`); a bad
option or a recording from an unclean tree is refused before any time is spent.

``.sp/<env>/current.csv`` holds the runs of one *key* — the environment plus each measured
processor's definition fingerprint. A run with the same key is appended (three runs of one
definition are three samples of it, whatever commit they were made from); a run with another
key, or ``reset``, starts the file afresh, and the text says why. A run that measured nothing
leaves it alone. While the file holds fewer runs than the rule is calibrated for
(:data:`~sp_tasks.profiling.decision.CURRENT_RUNS`), the run's notes say how many more to take;
``--runs N`` (:func:`profile_runs`) takes them back to back. ``record`` appends the run to the history too, but not from a tree with
uncommitted changes to definitions, environments or the tool itself (``uncommitted``) unless
``allow_dirty``, which marks the rows ``dirty``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from sp_tasks.clock import Clock
from sp_tasks.errors import ConfigError, ExitStatus, UsageError
from sp_tasks.profiling.paths import ProfilePaths, profile_paths
from sp_tasks.profiling.service import Outcome, ProfileRun

if TYPE_CHECKING:
    import pandas as pd

DIRTY = "dirty"


def check_options(duration: float, interval: float) -> None:
    """Refuse sampling options that cannot give a run (before any request is sent)."""
    for name, value in (("--duration", duration), ("--interval", interval)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise UsageError(f"{name} must be a number of seconds above 0, got {value!r}")
    if interval > duration:
        raise UsageError(f"--interval ({interval:g} s) is longer than --duration ({duration:g} s): a run needs at "
                          "least two samples; lower --interval or raise --duration")


def definitions_to_profile(docs: Sequence[dict[str, Any]], wanted: Sequence[str] | None) -> dict[str, str]:
    """processor -> definition fingerprint for the processors to sample; ConfigError names an
    unknown ``wanted`` processor (and the ones that exist) or an empty workspace."""
    from sp_tasks.profiling.fingerprints import fingerprint_of_doc

    listed = {d["name"]: fingerprint_of_doc(d) for d in docs if isinstance(d, dict) and isinstance(d.get("name"), str)}
    if not listed:
        raise ConfigError("the workspace has no stream processors to profile: deploy first (`invoke deploy`)")
    unknown = sorted(set(wanted or ()) - set(listed))
    if unknown:
        raise ConfigError(f"no processor named {', '.join(unknown)} in the workspace; it has: {', '.join(sorted(listed))}")
    return {n: f for n, f in listed.items() if not wanted or n in wanted}


def refuse_dirty_record(uncommitted: Sequence[str]) -> None:
    shown = ", ".join(uncommitted[:5]) + (f" and {len(uncommitted) - 5} more" if len(uncommitted) > 5 else "")
    raise ConfigError(f"refusing to record a run from a working tree with uncommitted changes ({shown}): the "
                      "history would attribute it to a commit that did not run; commit first, or pass "
                      "--allow-dirty to record it marked dirty")


def _key(runs: "pd.DataFrame") -> set[tuple[str, str, str]]:
    return set(zip(runs["processor"], runs["definition"], runs["environment"]))


def keep_current(runs: "pd.DataFrame", path: Path, existing: "pd.DataFrame", *, reset: bool) -> tuple[str, int]:
    """Append ``runs`` to the current-run file (whose rows are ``existing``) when it holds the same
    key, else start it afresh; returns a note saying what happened (empty when the run was
    appended) and how many runs the file holds now."""
    from sp_tasks.profiling import datafiles

    ours = runs["run_id"].nunique()
    if reset or existing.empty:
        datafiles.save_runs(runs, path, append=False)
        return ("current runs reset (--reset)" if reset and not existing.empty else ""), ours
    if _key(existing) == _key(runs):
        datafiles.save_runs(runs, path, append=True)
        return "", existing["run_id"].nunique() + ours
    datafiles.save_runs(runs, path, append=False)
    changed = sorted({p for p, *_ in _key(existing) ^ _key(runs)})
    return (f"current runs restarted: {', '.join(changed)} differ(s) from the {existing['run_id'].nunique()} "
            "run(s) kept before (another definition, environment or processor set)"), ours


def current_runs_note(path: Path, held: int) -> str:
    """How many runs the current-run file holds, when that is fewer than the rule is calibrated for."""
    from sp_tasks.profiling.decision import CURRENT_RUNS

    if held >= CURRENT_RUNS:
        return ""
    return (f"{path.name} holds {held} run(s) of these definitions; compare-baseline's rule is calibrated for "
            f"{CURRENT_RUNS} (fewer miss more small regressions): profile {CURRENT_RUNS - held} more time(s), "
            f"or take them at once with --runs {CURRENT_RUNS}")


def profile_runs(runs: int, run_one: Callable[[int], Outcome], say: Callable[[str], None]) -> Outcome:
    """``--runs N``: ``run_one(0)`` … ``run_one(N-1)`` back to back, one line said per finished run
    but the last, whose full text is the result's. Exit status: the worst run's."""
    done: list[Outcome] = []
    for i in range(runs):
        done.append(run_one(i))
        if i < runs - 1:
            run = done[-1].data
            breaches = f"{len(run.breaches)} threshold breach(es)" if run.breaches else "thresholds: all within limits"
            say(f"profile run {run.run_id} ({i + 1} of {runs}): {breaches}")
    last = done[-1]
    paths = tuple(dict.fromkeys(p for o in done for p in o.paths))
    return Outcome(last.text, max(o.exit_status for o in done), paths, last.data)


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
    paths: ProfilePaths | None = None,
    environment: str = "",
    uncommitted: Sequence[str] = (),
    allow_dirty: bool = False,
    reset: bool = False,
) -> Outcome:
    """profile: check → sample → samples CSV → summary → thresholds → current file (+ history).

    Exit status 3 when a threshold is breached (an outcome, not an error: the files are written
    and the text shows the run either way).

    Raises:
        ConfigError: bad ``duration``/``interval``, an unknown processor, nothing to profile, or
            ``record`` from an unclean tree without ``allow_dirty`` — all before sampling.
    """
    from sp_tasks.profiling import collect, datafiles, frames
    from sp_tasks.profiling.thresholds import check_thresholds
    from sp_tasks.reporting.text import render_profile_text

    check_options(duration, interval)
    if record and uncommitted and not allow_dirty:
        refuse_dirty_record(uncommitted)
    paths = paths or profile_paths(env, root)
    definitions = definitions_to_profile(fetch(), processors)
    notes: list[str] = []

    def note(message: str) -> None:
        notes.append(message)
        if on_note is not None:
            on_note(message)

    started = clock.now()
    samples = collect.collect_samples(fetch, duration=duration, interval=interval, clock=clock,
                                      processors=sorted(definitions), progress=progress, on_note=note)
    samples_path = Path(output) if output else paths.samples
    datafiles.save_samples(samples, samples_path)
    summary = frames.compute_summary(frames.samples_frame(samples))
    existing = datafiles.load_runs(paths.current, missing_ok=True)  # read once: run ids taken, then kept
    taken = [*existing["run_id"], *(datafiles.load_runs(paths.history, missing_ok=True)["run_id"] if record else ())]
    run_id = frames.make_run_id(started, git_sha, taken)
    flags = DIRTY if record and uncommitted else ""
    runs = frames.summary_runs(summary, run_id=run_id, timestamp=started, git_sha=git_sha, definitions=definitions,
                               environment=environment, flags=flags)
    written: list[tuple[str, Path]] = [("samples", samples_path)]
    if len(runs):
        kept, held = keep_current(runs, paths.current, existing, reset=reset)
        notes += [n for n in (kept, current_runs_note(paths.current, held)) if n]
        written.append(("run summary", paths.current))
        if record:
            datafiles.save_runs(runs, paths.history, append=True)
    else:
        notes.append(f"nothing measured: {paths.current.name} and the history are left as they were")
    breaches = check_thresholds(summary.values, thresholds or {}, source=thresholds_source)
    all_notes = (*notes, *summary.notes)
    recorded_to = str(paths.history) + (" (marked dirty)" if flags else "") if record and len(runs) else None
    text = render_profile_text(summary.values, all_notes, breaches, run_id=run_id, recorded_to=recorded_to,
                               written=[(what, str(p)) for what, p in written])
    status = ExitStatus.REGRESSION if breaches else ExitStatus.SUCCESS
    files = (*(p for _, p in written), *((paths.history,) if recorded_to else ()))
    return Outcome(text, status, files, ProfileRun(run_id, summary.values, all_notes, breaches))
