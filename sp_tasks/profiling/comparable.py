"""Which recorded runs may be compared with the current one, and an account of those that may not.

Pure. A history run of processor P is comparable with the current run(s) of P when both carry
the same environment fingerprint and the same definition fingerprint
(:mod:`~sp_tasks.profiling.fingerprints`): other machines, other emulator versions and other
definitions of P measure something else, and mixing them is how an untouched processor came out
"+255 % latency" on a fresh clone. The key is taken from the newest current run of P. Runs
recorded before fingerprints existed carry empty ones: they are comparable only with runs that
carry none either (old files keep working among themselves) and are skipped otherwise.

An accepted change (``regression.accept`` with ``since``, :mod:`~sp_tasks.profiling.decision`)
moves the start of P × metric's baseline to the first run at or after ``since``: the runs before
it are skipped as "before the accepted change".

Every skip is counted per processor and reason, so compare, charts and the report can say what
was left out and why; and fewer current runs than the rule is calibrated for get a note too.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import pandas as pd

KEY = ("environment", "definition")
OTHER_ENV, OTHER_DEF, NO_PRINT, ACCEPTED = (
    "another environment", "another definition", "no fingerprint (recorded before fingerprints)",
    "before the accepted change")


@dataclass(frozen=True)
class Skipped:
    processor: str
    reason: str
    runs: int
    example: str = ""  # e.g. the other environment's fingerprint

    def describe(self) -> str:
        runs = f"{self.runs} run{'s' if self.runs != 1 else ''}"
        return f"{self.processor}: {runs} skipped: {self.reason}" + (f" ({self.example})" if self.example else "")


def reference_keys(runs: "pd.DataFrame") -> dict[str, tuple[str, str]]:
    """processor -> (environment, definition) of its newest run in ``runs``."""
    if runs.empty:
        return {}
    newest = runs.sort_values(["timestamp", "run_id"], kind="stable").groupby("processor", sort=True).tail(1)
    return {str(r.processor): (str(r.environment), str(r.definition)) for r in newest.itertuples(index=False)}


def _reason(key: tuple[str, str], wanted: tuple[str, str]) -> tuple[str, str]:
    env, definition = key
    if not env and not definition and any(wanted):
        return NO_PRINT, ""
    if env != wanted[0]:
        return OTHER_ENV, env or "none recorded"
    return OTHER_DEF, definition or "none recorded"


def comparable_history(history: "pd.DataFrame", keys: dict[str, tuple[str, str]]
                       ) -> tuple["pd.DataFrame", list[Skipped]]:
    """(history rows of the processors in ``keys`` whose key matches, the runs left out per
    processor and reason). Processors not in ``keys`` are dropped without a note: nothing
    current to compare them with."""
    if history.empty:
        return history, []
    wanted = [keys.get(p) for p in history["processor"]]
    have = zip(history["environment"], history["definition"])
    keep = [w is not None and (str(e), str(d)) == w for (e, d), w in zip(have, wanted)]
    dropped = history[[w is not None and not k for w, k in zip(wanted, keep)]]
    skips: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for (processor, _run), rows in dropped.groupby(["processor", "run_id"], sort=True):
        first = rows.iloc[0]
        reason, example = _reason((str(first["environment"]), str(first["definition"])), keys[str(processor)])
        skips[(str(processor), reason)] += 1
        examples.setdefault((str(processor), reason), example if reason == OTHER_ENV else "")
    return history[keep], [Skipped(p, r, n, examples[(p, r)]) for (p, r), n in sorted(skips.items())]


def before_accepted(history: "pd.DataFrame", starts: dict[tuple[str, str], "pd.Timestamp"]
                    ) -> tuple["pd.DataFrame", list[Skipped]]:
    """Drop the (processor, metric) rows recorded before their accepted change's start."""
    if history.empty or not starts:
        return history, []
    key = list(zip(history["processor"], history["metric"]))
    early = [k in starts and t < starts[k] for k, t in zip(key, history["timestamp"])]
    late = [not e for e in early]
    counts = history[early].groupby("processor")["run_id"].nunique()
    return history[late], [Skipped(str(p), ACCEPTED, int(n)) for p, n in counts.items()]


def accepted_starts(acceptances: Iterable, history: "pd.DataFrame", metrics: Iterable[str]
                    ) -> tuple[dict[tuple[str, str], "pd.Timestamp"], list[str]]:
    """(processor, metric) -> where its accepted baseline starts, for acceptances with ``since``
    (an ISO date or time, a run id, or a Git sha prefix of at least 4 characters), plus notes
    for those that match no recorded run yet (their baseline stays as it is)."""
    import pandas as pd

    starts: dict[tuple[str, str], pd.Timestamp] = {}
    notes = []
    for a in acceptances:
        if not a.since:
            continue
        start = _since(a.since, history)
        if start is None:
            notes.append(f"accepted change {a.processor}:{a.metric} since {a.since!r} matches no recorded run yet; "
                         "the baseline is unchanged until it does")
            continue
        for metric in metrics if a.metric == "*" else (a.metric,):
            starts[(a.processor, metric)] = max(start, starts.get((a.processor, metric), start))
    return starts, notes


def _since(since: str, history: "pd.DataFrame"):
    import pandas as pd

    by_run = history.loc[history["run_id"] == since, "timestamp"]
    if len(by_run):
        return by_run.min()
    if len(since) >= 4 and all(c in "0123456789abcdef" for c in since.lower()):
        by_sha = history.loc[history["git_sha"].str.lower().str.startswith(since.lower()), "timestamp"]
        if len(by_sha):
            return by_sha.min()
    try:
        stamp = pd.Timestamp(since)
    except ValueError:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def summarize(skipped: Iterable[Skipped]) -> list[str]:
    """One note per processor and reason, in a stable order."""
    return [s.describe() for s in sorted(skipped, key=lambda s: (s.processor, s.reason))]


def few_current_runs(cur: "pd.DataFrame", base: "pd.DataFrame", *, kept: bool) -> list[str]:
    """A note when fewer current runs are compared than the rule is calibrated for; ``kept``: they
    come from the current-run file (more runs join it), not the newest recorded run."""
    from sp_tasks.profiling.decision import CURRENT_RUNS

    held = cur["run_id"].nunique()
    if not len(base) or held >= CURRENT_RUNS:
        return []
    more = CURRENT_RUNS - held if kept else CURRENT_RUNS
    return [f"{held} current run(s); the rule is calibrated for {CURRENT_RUNS} and misses more small regressions "
            f"with fewer: `invoke profile --runs {more}` " + ("adds the rest" if kept else "takes them")]
