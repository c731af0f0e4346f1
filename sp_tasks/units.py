"""How a measured quantity reads: numbers to 3–4 significant figures and units scaled to the value (pure).

The one formatter for sizes and durations everywhere a person reads them — profile and
compare-baseline tables, the report, the PR comment, charts' axes, `sp processors stats`,
threshold breaches — so 2 KiB never reads "0.002 MiB" or "0".
"""
from __future__ import annotations


def fmt_number(value: float | None) -> str:
    """3–4 significant figures, thousands separated, no exponent for everyday magnitudes."""
    if value is None:
        return "—"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.1f}"
    if size >= 1 or size == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


# Smaller and larger units of the metric units, as (unit, factor from the metric's unit).
_LADDERS: dict[str, tuple[tuple[str, float], ...]] = {
    "ms": (("µs", 1e3), ("ms", 1.0), ("s", 1e-3)),
    "MiB": (("B", 1024.0 * 1024.0), ("KiB", 1024.0), ("MiB", 1.0), ("GiB", 1 / 1024.0)),
}


def scale_for(unit: str, values: "list[float] | tuple[float, ...]") -> tuple[str, float]:
    """(unit, factor) that shows ``values`` (in ``unit``) with 1–999 before the point at their
    largest magnitude: 0.002 MiB reads 2.0 KiB, 1500 ms reads 1.5 s. Units without a ladder stay."""
    ladder = _LADDERS.get(unit)
    size = max((abs(v) for v in values if v == v), default=0.0)
    if not ladder or size == 0:
        return unit, 1.0
    fitting = [(u, f) for u, f in ladder if size * f >= 1.0]
    return fitting[-1] if fitting else ladder[0]


def fmt_scaled(value: float | None, unit: str, *, compact: bool = False) -> str:
    """A value with its unit scaled to its size (see :func:`scale_for`): "2.27 KiB", "1.50 s".

    Tables keep :func:`fmt_number`'s fixed decimals so columns line up; ``compact`` is for prose
    and limits a person typed ("memory_mb 600 MiB > max 512 MiB", "2 KiB"): no trailing zeros."""
    if value is None:
        return "—"
    shown, factor = scale_for(unit, [value])
    number = value * factor
    if compact:
        return f"{number:,.0f} {shown}" if abs(number) >= 1000 else f"{number:.4g} {shown}"
    return f"{fmt_number(number)} {shown}"
