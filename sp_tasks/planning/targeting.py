"""``--processor NAME`` (repeatable, like ``terraform -target``): a pure filter on desired and live
state before planning, so a deploy, plan or rollback touches only those processors and the
connections they use, and says what it left alone.

The selection keeps, on both sides, the named processors (with their strategy copies
``NAME__blue``/``__green``/``__canary``/``__retired``, so leftovers of an interrupted deploy of
NAME are repaired too) and the connections the named desired processors reference (built-in
ones such as the Sample source included). Every other processor and connection is out of the
plan: never created, changed, stopped or deleted — in particular a targeted deploy never deletes
a connection, which some untargeted processor may use. :func:`select` itself is lenient (after a
targeted prune the name is gone from both sides, and the re-check must still run); the callers
refuse unknown names first: :func:`check_defined` offline, :func:`check_known` with live state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from sp_tasks.errors import ConfigError
from sp_tasks.model import BLUE_SUFFIX, CANARY_SUFFIX, GREEN_SUFFIX, RETIRED_SUFFIX, DesiredState, LiveState
from sp_tasks.options import closest
from sp_tasks.planning.connections import referenced_connections

COPY_SUFFIXES = (BLUE_SUFFIX, GREEN_SUFFIX, CANARY_SUFFIX, RETIRED_SUFFIX)


@dataclass(frozen=True)
class Selection:
    desired: DesiredState
    live: LiveState
    untouched_processors: tuple[str, ...]  # in desired or live, left out of the plan
    untouched_connections: tuple[str, ...]


def select(desired: DesiredState, live: LiveState, targets: Sequence[str]) -> Selection:
    """Desired and live reduced to ``targets`` and the connections they need (module docstring)."""
    names = tuple(dict.fromkeys(targets))
    processors = tuple(p for p in desired.processors if p.name in names)
    needed = frozenset().union(*(referenced_connections(p.pipeline, p.options) for p in processors))
    chosen_desired = DesiredState(processors, tuple(c for c in desired.connections if c.name in needed))
    chosen_live = LiveState(
        workspace=live.workspace,
        processors=tuple(p for p in live.processors if base_name(p.name) in names),
        connections=tuple(c for c in live.connections if c.name in needed),
        extra=live.extra,
    )
    all_processors = {p.name for p in desired.processors} | {p.name for p in live.processors}
    all_connections = {c.name for c in desired.connections} | {c.name for c in live.connections}
    return Selection(chosen_desired, chosen_live,
                     tuple(sorted(n for n in all_processors if base_name(n) not in names)),
                     tuple(sorted(all_connections - needed)))


def base_name(name: str) -> str:
    """The processor a strategy copy belongs to (``x__blue`` → ``x``); a plain name is its own."""
    for suffix in COPY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def describe(targets: Iterable[str], untouched_processors: Sequence[str], untouched_connections: Sequence[str]) -> str:
    """'Targeted: a, b. Left untouched: 3 processor(s) (c, d, e) and 1 connection(s) (k).'"""
    left = [f"{len(items)} {kind}(s) ({_names(items)})" for kind, items in
            (("processor", untouched_processors), ("connection", untouched_connections)) if items]
    tail = f" Left untouched: {' and '.join(left)}." if left else " Nothing else is in the workspace or Git."
    return f"Targeted: {', '.join(targets)} (with the connections they use).{tail}"


def _names(items: Sequence[str], most: int = 6) -> str:
    shown = ", ".join(items[:most])
    return shown + (f", … {len(items) - most} more" if len(items) > most else "")


def check_defined(targets: Sequence[str], desired: DesiredState) -> None:
    """Offline, before anything is sent: each target is defined in ``desired`` (Git)."""
    check_known(targets, desired, LiveState(workspace=None), where="defined in processors/")


def check_known(targets: Sequence[str], desired: DesiredState, live: LiveState,
                where: str = "defined (processors/, or the snapshot rolled back to) nor in the workspace") -> None:
    """Each target names a processor of ``desired`` or ``live``; else the closest known name."""
    known = sorted({p.name for p in desired.processors} | {base_name(p.name) for p in live.processors})
    for name in targets:
        if name not in known:
            hint = closest(name, known)
            raise ConfigError(f"--processor {name}: no such processor {where} "
                              f"({'did you mean ' + hint + '? ' if hint else ''}known: {', '.join(known) or 'none'})")
