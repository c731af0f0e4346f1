"""What the sp command shows: aligned text tables and the rows of each listing. Pure.

Every function takes API documents or product results and returns text or plain data; nothing
here reads files, talks HTTP or prints. Missing numbers are shown as "-" (never as a healthy
looking 0), and nothing that could be a secret is ever put in a row: connection documents lose
their secret fields, processor secrets (``$https`` credential headers …) show "(secret)"; which
values are secrets is ``sp_tasks.secrets``.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from sp_tasks.planning.normalize import connection_document
from sp_tasks.secrets import connection_secrets, processor_secrets, redact

MISSING = "-"
STATS_COLUMNS = (("input_count", "INPUT"), ("output_count", "OUTPUT"), ("dlq_count", "DLQ"),
                 ("latency_p50_ms", "P50 MS"), ("latency_p99_ms", "P99 MS"), ("memory_mb", "MEMORY"))
OPERATOR_COLUMNS = (("inputMessageCount", "INPUT"), ("outputMessageCount", "OUTPUT"), ("dlqMessageCount", "DLQ"),
                    ("stateSize", "STATE B"), ("maxMemoryUsage", "MAX MEM B"), ("timeSpentMillis", "TIME MS"))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str = "(none)") -> str:
    """Left-aligned columns two spaces apart; numbers right-aligned; ``empty`` when no rows."""
    cells = [[cell_text(c) for c in row] for row in rows]
    if not cells:
        return empty
    widths = [max(len(r[i]) for r in [list(headers), *cells]) for i in range(len(headers))]
    numeric = [all(_is_numeric(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(list(headers)), *(line(r) for r in cells)])


def cell_text(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}".rstrip("0").rstrip(".") or "0"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_numeric(text: str) -> bool:
    return text == MISSING or text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


# -- workspaces and connections ---------------------------------------------------------------
def workspace_row(doc: dict[str, Any]) -> list[Any]:
    region = doc.get("dataProcessRegion") or {}
    config = doc.get("streamConfig") or {}
    return [doc.get("name"), region.get("cloudProvider"), region.get("region"), config.get("tier"),
            config.get("maxTierSize")]


WORKSPACE_HEADERS = ("NAME", "PROVIDER", "REGION", "TIER", "MAX TIER")


def safe_connection(doc: dict[str, Any]) -> dict[str, Any]:
    """A live connection document without its secret fields (safe to print)."""
    name, kind = doc.get("name", ""), doc.get("type", "")
    return connection_document(doc, name=name, type=kind, secrets=connection_secrets(doc, kind))


def connection_row(doc: dict[str, Any], in_git: bool) -> list[Any]:
    return [doc.get("name"), doc.get("type"), doc.get("state"), in_git]


CONNECTION_HEADERS = ("NAME", "TYPE", "STATE", "IN GIT")


# -- processors -------------------------------------------------------------------------------
def redacted_definition(doc: dict[str, Any]) -> dict[str, Any]:
    """Copy of a processor definition with its secrets (e.g. $https headers) as "(secret)"."""
    return redact(doc, processor_secrets(doc))


def stage_ops(pipeline: Any) -> str:
    ops = [next(iter(s)) for s in pipeline or () if isinstance(s, dict) and len(s) == 1]
    return " > ".join(ops)


def processor_row(doc: dict[str, Any], in_git: bool) -> list[Any]:
    return [doc.get("name"), doc.get("state"), doc.get("tier"), in_git, stage_ops(doc.get("pipeline"))]


PROCESSOR_HEADERS = ("NAME", "STATE", "TIER", "IN GIT", "PIPELINE")
# The seed's summary of a listing: processors per state family; "other" = in transition
# (INIT, CREATING, STARTING, STOPPING, DELETING …), so the counts always add up to the total.
SUMMARY_STATES = {"STARTED": "running", "STOPPED": "stopped", "FAILED": "failed", "CREATED": "created"}


def processors_summary(docs: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = {"total": len(docs), "running": 0, "stopped": 0, "failed": 0, "created": 0, "other": 0}
    for doc in docs:
        counts[SUMMARY_STATES.get(doc.get("state") or "", "other")] += 1
    return counts


def summary_line(counts: dict[str, int]) -> str:
    parts = [f"{n} {key}" for key, n in counts.items() if key != "total" and n]
    return f"{counts['total']} processor(s)" + (f": {', '.join(parts)}" if parts else "")


def stats_record(doc: dict[str, Any], metrics: dict[str, float], verbose: bool) -> dict[str, Any]:
    """One processor's stats for --format json: our units, absent metrics as null."""
    record = {"name": doc.get("name"), "state": doc.get("state"), "tier": doc.get("tier"),
              **{key: _count(metrics.get(key)) if key.endswith("_count") else metrics.get(key)
                 for key, _ in STATS_COLUMNS}}
    if verbose:
        record["operatorStats"] = (doc.get("stats") or {}).get("operatorStats") or []
    return record


def stats_table(records: Sequence[dict[str, Any]]) -> str:
    headers = ("NAME", "STATE", "TIER", *(label for _, label in STATS_COLUMNS))
    shown = {"memory_mb": memory_text}  # 2 KiB is 0.002 MiB: a MiB column would read 0
    rows = [[r["name"], r["state"], r["tier"], *(shown.get(key, _same)(r[key]) for key, _ in STATS_COLUMNS)]
            for r in records]
    return table(headers, rows, empty="no processors")


def memory_text(mib: float | None) -> str | None:
    """A size in the unit that shows it: "2 KiB", "12.5 MiB", "1.2 GiB" (sp_tasks.units)."""
    from sp_tasks.units import fmt_scaled

    return None if mib is None else fmt_scaled(float(mib), "MiB", compact=True)


def _count(value: float | None) -> int | float | None:
    """Message counts as whole numbers (13890, not 13890.0): the metrics arrive as floats."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _same(value: Any) -> Any:
    return value


def operators_table(record: dict[str, Any]) -> str:
    ops = record.get("operatorStats") or []
    rows = [[op.get("name"), *(op.get(key) for key, _ in OPERATOR_COLUMNS)] for op in ops]
    body = table(("OPERATOR", *(label for _, label in OPERATOR_COLUMNS)), rows, empty="  (no operator stats)")
    return f"{record['name']}:\n" + "\n".join(f"  {line}" for line in body.splitlines())


def step_rows(result) -> list[list[Any]]:
    """Executor results as rows: step, target, outcome, seconds, detail."""
    return [[r.step.kind.value.replace("_", " "), r.step.target.name, r.status, round(r.seconds, 1), r.detail]
            for r in result.results]


STEP_HEADERS = ("STEP", "TARGET", "RESULT", "SECONDS", "DETAIL")
