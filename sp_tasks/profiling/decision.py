"""The user-set decision rule: ``thresholds.json`` → ``regression`` parsed, checked and turned into a Rule.

Pure. The section (every key optional; defaults are :class:`~sp_tasks.profiling.regression.Rule`'s,
calibrated in ``benchmarks/regression_stats.py``)::

    "regression": {
      "alpha": 0.008,                 # one-sided significance level, 0 < alpha <= 0.2
      "min_history": 5,               # baseline runs needed for a verdict (>= 2)
      "window": 20,                   # last N comparable runs form the baseline (>= min_history)
      "floor_pct": {"latency_p99_ms": 10},   # minimum effect per metric, in percent
      "processors": {"solarGroupStats": {"floor_pct": {"output_rate": 50}, "alpha": 0.005}},
      "accept": ["solarHighOutput:output_rate",
                 {"processor": "solarValidated", "metric": "*", "since": "2025-06-01",
                  "reason": "stricter schema: fewer documents pass, on purpose"}]
    }

``accept`` lists intended changes: their regression or improvement verdicts read "accepted" and
never fail the gate. An entry with ``since`` (an ISO date, a run id or a Git sha prefix) also
moves the baseline of that processor × metric to the runs from ``since`` on: the accepted level
becomes the new baseline. ``--accept processor:metric`` on the command line adds entries
without ``since``. :func:`check_section` returns every problem with a JSON pointer; ``invoke
validate`` shows them with file and line, and :func:`rule_from_thresholds` refuses a bad section.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from sp_tasks.errors import ConfigError
from sp_tasks.profiling.metrics import METRIC_NAMES, Metric

SECTION = "regression"
KEYS = ("alpha", "min_history", "window", "floor_pct", "processors", "accept")
PROCESSOR_KEYS = ("alpha", "min_history", "floor_pct")
ACCEPT_KEYS = ("processor", "metric", "since", "reason")


@dataclass(frozen=True)
class Acceptance:
    processor: str
    metric: str  # a gated metric, or "*" for all of them
    since: str = ""
    reason: str = ""

    def covers(self, processor: str, metric: str) -> bool:
        return self.processor == processor and self.metric in ("*", metric)


@dataclass(frozen=True)
class Override:
    """One processor's own decision parameters (None / absent: the global ones)."""

    alpha: float | None = None
    min_history: int | None = None
    floors: Mapping[str, float] = field(default_factory=dict)  # metric -> floor (fraction)


# The current runs the rule is calibrated for (benchmarks/regression_stats.py, 20 baseline runs
# vs this many): with 3, even a test that knew the true noise would find only ~51 % of +5 %
# regressions at a 0.9 % false-alarm rate; a fourth run lifts that to ~63 %. `invoke profile`
# says when fewer are held, and `--runs N` takes several in one go.
CURRENT_RUNS = 4


@dataclass(frozen=True)
class Rule:
    alpha: float = 0.008  # calibrated in benchmarks/regression_stats.py: see regression.py, rule 3
    window: int = 20  # last N baseline runs per processor × metric
    min_history: int = 5
    moderate: bool = True  # pool run-to-run variance across processors, per metric
    floors: Mapping[str, float] = field(default_factory=dict)  # metric -> floor override
    processors: Mapping[str, Override] = field(default_factory=dict)
    accepted: tuple[Acceptance, ...] = ()

    def floor(self, metric: Metric, processor: str | None = None) -> float:
        own = self.processors.get(processor or "", Override()).floors
        return float(own.get(metric.name, self.floors.get(metric.name, metric.floor)))

    def alpha_for(self, processor: str) -> float:
        own = self.processors.get(processor, Override()).alpha
        return self.alpha if own is None else float(own)

    def min_history_for(self, processor: str) -> int:
        own = self.processors.get(processor, Override()).min_history
        return self.min_history if own is None else int(own)

    def acceptance(self, processor: str, metric: str) -> Acceptance | None:
        """The acceptance covering processor × metric, or None."""
        return next((a for a in self.accepted if a.covers(processor, metric)), None)

    def describe(self) -> str:
        pooled = ", variance moderated across processors" if self.moderate else ""
        own = f"; own settings for {', '.join(sorted(self.processors))}" if self.processors else ""
        return (
            f"one-sided t vs last {self.window} runs (history sd{pooled}), p<{self.alpha:g} "
            f"and ≥ per-metric floor; ≥{self.min_history} baseline runs required{own}"
        )


def parse_accept(text: str, where: str = "--accept") -> Acceptance:
    """``processor:metric`` (metric may be ``*``) -> Acceptance; ConfigError names the fix."""
    processor, sep, metric = text.partition(":")
    if not sep or not processor or metric not in (*METRIC_NAMES, "*"):
        raise ConfigError(f"{where} {text!r}: use processor:metric with metric one of {', '.join(METRIC_NAMES)} "
                          "or *, e.g. solarHighOutput:output_rate")
    return Acceptance(processor, metric)


def _number(value: Any, pointer: str, low: float, high: float, *, whole: bool = False) -> list[tuple[str, str]]:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
    if ok and whole and value != int(value):
        ok = False
    kind = "a whole number" if whole else "a number"
    return [] if ok else [(pointer, f"must be {kind} from {low:g} to {high:g}, got {value!r}")]


def _floors(value: Any, pointer: str) -> list[tuple[str, str]]:
    if not isinstance(value, Mapping):
        return [(pointer, "must be an object of metric -> percent, e.g. {\"latency_p99_ms\": 10}")]
    out = []
    for metric, pct in value.items():
        if metric not in METRIC_NAMES:
            out.append((f"{pointer}/{metric}", f"unknown metric {metric!r}; use one of {', '.join(METRIC_NAMES)}"))
        else:
            out += _number(pct, f"{pointer}/{metric}", 0, 100)
    return out


def _overrides(section: Mapping[str, Any], pointer: str, *, top: bool) -> list[tuple[str, str]]:
    out = []
    keys = KEYS if top else PROCESSOR_KEYS
    for key in section:
        if key not in keys and not key.startswith("_"):
            out.append((f"{pointer}/{key}", f"unknown key {key!r}; known: {', '.join(keys)}"))
    if "alpha" in section:
        out += _number(section["alpha"], f"{pointer}/alpha", 1e-6, 0.2)
    if "min_history" in section:
        out += _number(section["min_history"], f"{pointer}/min_history", 2, 1000, whole=True)
    if "floor_pct" in section:
        out += _floors(section["floor_pct"], f"{pointer}/floor_pct")
    return out


def _accept_entries(value: Any, pointer: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return [(pointer, "must be a list of \"processor:metric\" strings or {processor, metric, since, reason}")]
    out = []
    for i, item in enumerate(value):
        where = f"{pointer}/{i}"
        if isinstance(item, str):
            try:
                parse_accept(item, "")
            except ConfigError as err:
                out.append((where, str(err).strip()))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("processor"), str):
            out.append((where, "needs a processor name and a metric (or \"*\")"))
            continue
        if item.get("metric") not in (*METRIC_NAMES, "*"):
            out.append((f"{where}/metric", f"must be one of {', '.join(METRIC_NAMES)} or *"))
        out += [(f"{where}/{k}", f"unknown key {k!r}; known: {', '.join(ACCEPT_KEYS)}") for k in item if k not in ACCEPT_KEYS]
        out += [(f"{where}/{k}", "must be a string") for k in ("since", "reason") if k in item and not isinstance(item[k], str)]
    return out


def check_section(thresholds: Mapping[str, Any], processors: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Every problem of the ``regression`` section as (JSON pointer, message); [] when fine.
    With ``processors`` (the names in processors/), unknown names are problems too."""
    section = thresholds.get(SECTION)
    if section is None:
        return []
    base = f"/{SECTION}"
    if not isinstance(section, Mapping):
        return [(base, "must be an object (see docs/file-formats.md)")]
    out = _overrides(section, base, top=True)
    if "window" in section:
        out += _number(section["window"], f"{base}/window", 2, 10000, whole=True)
        least = section.get("min_history", 5)
        if isinstance(least, int) and isinstance(section["window"], int) and section["window"] < least:
            out.append((f"{base}/window", f"must be at least min_history ({least})"))
    per = section.get("processors", {})
    if not isinstance(per, Mapping):
        out.append((f"{base}/processors", "must be an object of processor name -> overrides"))
        per = {}
    for name, own in per.items():
        where = f"{base}/processors/{name}"
        out += _overrides(own, where, top=False) if isinstance(own, Mapping) else [(where, "must be an object")]
    if "accept" in section:
        out += _accept_entries(section["accept"], f"{base}/accept")
    known = set(processors) if processors is not None else None
    if known is not None:
        named = [(f"{base}/processors/{n}", n) for n in per] + [
            (f"{base}/accept/{i}", a.processor) for i, a in enumerate(_acceptances(section.get("accept")))]
        out += [(p, f"no processor named {n!r} in processors/") for p, n in named if n not in known]
    return out


def _acceptances(value: Any) -> list[Acceptance]:
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            out.append(parse_accept(item))
        else:
            out.append(Acceptance(item["processor"], item["metric"], item.get("since", ""), item.get("reason", "")))
    return out


def rule_from_thresholds(thresholds: Mapping[str, Any], *, accept: Sequence[str] = (),
                         source: str = "thresholds.json"):
    """The Rule the section describes, plus ``accept`` strings from the command line.

    Raises:
        ConfigError: the section has a problem (all of them are listed).
    """
    problems = check_section(thresholds)
    if problems:
        raise ConfigError(f"{source}: regression section: " + "; ".join(f"{p}: {m}" for p, m in problems))
    section = thresholds.get(SECTION) or {}
    defaults = Rule()
    per = {name: Override(own.get("alpha"), own.get("min_history"),
                          {m: pct / 100.0 for m, pct in (own.get("floor_pct") or {}).items()})
           for name, own in (section.get("processors") or {}).items()}
    accepted = (*_acceptances(section.get("accept")), *(parse_accept(a) for a in accept))
    return Rule(alpha=section.get("alpha", defaults.alpha), window=section.get("window", defaults.window),
                min_history=section.get("min_history", defaults.min_history),
                floors={m: pct / 100.0 for m, pct in (section.get("floor_pct") or {}).items()},
                processors=per, accepted=tuple(accepted))


def regression_diagnostics(settings: Any, processors: Iterable[str]) -> list:
    """``check_section`` as diagnostics placed in ``environments/<env>/thresholds.json`` (for validate)."""
    from sp_tasks.diagnostics import ERROR, Diagnostic
    from sp_tasks.jsonpos import parse

    problems = check_section(settings.thresholds, processors)
    if not problems:
        return []
    file = f"environments/{settings.name}/thresholds.json"
    doc = parse((settings.root / file).read_text(encoding="utf-8"), file)
    return [Diagnostic(file, doc.line_of(pointer), pointer, "regression-rule", ERROR, message)
            for pointer, message in problems]
