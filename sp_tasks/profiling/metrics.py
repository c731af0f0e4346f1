"""The metric vocabulary: every metric we measure, its unit, better direction and decision floor.

One table (:data:`METRICS`). Every other profiling/reporting module looks metrics up here, so
direction is never guessed from a name (regression.md §5.2: inverted directions are the most
common bug in benchmark trackers). Floors are the minimum relative effect a verdict needs
(regression.md §6.2 defaults); ``log_scale`` says the regression test works on log values
(latency and memory are multiplicative and skewed; rates are compared on a relative linear scale).

Two kinds of metric: **gated** ones (:data:`METRIC_NAMES`, the 7 the PR gate, the report and
the charts judge) and **informational** ones (``gated=False``: ``input_mbps``/``output_mbps``,
bandwidth for ``invoke tier-advise``). Both are measured, summarised and recorded
(:data:`RUN_METRICS`); only gated ones get verdicts. Bandwidth is no gate because bytes per
second move with the data's shape (longer device ids, a new field) as much as with our code,
and ``input_rate`` already gates throughput.

Raw samples use a second, smaller vocabulary (:data:`SAMPLE_METRICS`): the stats fields of
``GET …/processors`` (reference atlas-sp-api.md §6) converted to our units. Cumulative counters
stay cumulative in samples; :mod:`sp_tasks.profiling.frames` turns them into rates.
"""
from __future__ import annotations

from dataclasses import dataclass

BITS_PER_BYTE = 8.0


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # for tables and chart titles
    unit: str
    higher_is_better: bool
    floor: float  # minimum relative effect for a verdict, 0.03 = 3 %
    log_scale: bool
    zero_tolerance: bool = False  # any appearance where the baseline had none is a regression
    source: str = ""  # the sample metric it is computed from
    kind: str = "gauge"  # "rate": from a cumulative counter; "gauge": steady-state median
    scale: float = 1.0  # source unit (per second, for rates) -> this metric's unit
    gated: bool = True  # False: recorded for tier advice, never judged by compare/report/charts

    @property
    def direction(self) -> int:
        """+1 when higher is better, -1 when lower is better (otava's convention)."""
        return 1 if self.higher_is_better else -1

    @property
    def arrow(self) -> str:
        return "↑ higher" if self.higher_is_better else "↓ lower"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("input_rate", "input rate", "msg/s", True, 0.03, False, source="input_count", kind="rate"),
        Metric("output_rate", "output rate", "msg/s", True, 0.03, False, source="output_count", kind="rate"),
        Metric("dlq_rate", "DLQ rate", "msg/s", False, 0.0, False, True, source="dlq_count", kind="rate"),
        Metric("latency_p50_ms", "latency p50", "ms", False, 0.03, True, source="latency_p50_ms"),
        Metric("latency_p99_ms", "latency p99", "ms", False, 0.10, True, source="latency_p99_ms"),
        Metric("memory_mb", "memory", "MiB", False, 0.05, True, source="memory_mb"),
        Metric("state_mb", "state size", "MiB", False, 0.05, True, source="state_mb"),
        Metric("input_mbps", "input bandwidth", "Mbps", True, 0.03, False, source="input_bytes", kind="rate",
               scale=BITS_PER_BYTE / 1e6, gated=False),
        Metric("output_mbps", "output bandwidth", "Mbps", True, 0.03, False, source="output_bytes", kind="rate",
               scale=BITS_PER_BYTE / 1e6, gated=False),
    )
}

METRIC_NAMES: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.gated)  # the gate's vocabulary
RUN_METRICS: tuple[str, ...] = tuple(METRICS)  # everything a run summary or history may hold

# Sample metric -> (path into the processor's "stats" document, multiplier to our unit).
# Latency units are converted separately (the API states the unit next to the values).
MIB = 1024.0 * 1024.0
COUNTER_FIELDS: dict[str, str] = {
    "input_count": "inputMessageCount",
    "output_count": "outputMessageCount",
    "dlq_count": "dlqMessageCount",
}
# Cumulative byte counters, in units of ``scaleFactor`` bytes (reference §6: 1 = bytes, the
# REST default). Samples hold bytes.
SIZE_FIELDS: dict[str, str] = {
    "input_bytes": "inputMessageSize",
    "output_bytes": "outputMessageSize",
}
SCALE_FIELD = "scaleFactor"
GAUGE_FIELDS: dict[str, tuple[str, float]] = {
    "memory_mb": ("memoryTrackerBytes", 1.0 / MIB),
    "state_mb": ("stateSize", 1.0 / MIB),
}
LATENCY_FIELDS: dict[str, str] = {"latency_p50_ms": "p50", "latency_p99_ms": "p99"}
LATENCY_UNIT_TO_MS: dict[str, float] = {
    "microseconds": 1e-3,
    "milliseconds": 1.0,
    "seconds": 1e3,
    "nanoseconds": 1e-6,
}

# The processor state as a number, so a samples file stays one tidy table.
STATE_SAMPLE = "state"
STATE_CODES: dict[str, float] = {"STARTED": 1.0, "FAILED": -1.0}  # anything else: 0.0

SAMPLE_METRICS: tuple[str, ...] = (
    *COUNTER_FIELDS,
    *SIZE_FIELDS,
    *LATENCY_FIELDS,
    *GAUGE_FIELDS,
    STATE_SAMPLE,
)


def metric(name: str) -> Metric:
    """The vocabulary entry for ``name``; KeyError names the known metrics."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(RUN_METRICS)}") from None


def state_code(state: str | None) -> float:
    return STATE_CODES.get(state or "", 0.0)
