"""Repairs: the renames and removals a plan makes before anything else, so every processor that
existed keeps its identity (``_id``, checkpoint, window state, counters).

Two sources, both pure:

- **Rollback** (``identities``: the snapshot's name → ``_id``). A processor the snapshot recorded
  as N that now lives as M — a blue-green cut-over moved the original X to ``X__blue`` — is
  renamed back to N, never recreated. Whatever occupies N and is not in the snapshot (the green
  copy that became X) is removed first; an occupant the snapshot knows under another name moves
  first. The rest of the rollback is then planned by name against the repaired state.
- **Leftovers** of an interrupted deploy (nobody holds the deploy lock). ``X__green`` and
  ``X__canary`` are copies: their definition is in Git and their state is disposable, so they are
  removed (they may be running and writing to live sinks). ``X__blue`` without an X is the
  original caught mid cut-over: it gets its name back. ``X__retired`` (the older rollback target,
  parked during a cut-over) gets ``X__blue`` back when that is free, and is removed when the
  cut-over got as far as making a new ``X__blue`` (what the deploy would have done after its gate).
  While a live deploy holds the lock its copies are its own: nothing is repaired.

:func:`project` gives live state as it will be after the repairs; the rest of the plan and the
strategies are computed against it, so nothing is planned twice.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from sp_tasks.errors import PlanError
from sp_tasks.model import (BLUE_SUFFIX, CANARY_SUFFIX, GREEN_SUFFIX, RETIRED_SUFFIX, LiveProcessor,
                            LiveState)
from sp_tasks.planning.diff import FieldChange
from sp_tasks.planning.normalize import processor_document
from sp_tasks.planning.plan import Action, Change
from sp_tasks.secrets import processor_secrets, redact

RUNNING = frozenset({"STARTED", "STARTING"})  # as planning.processors (which imports this module)
COPY_REASON = "left over by an interrupted deploy: a copy whose definition is in Git and whose state is disposable"
KEPT = "keeps its _id, checkpoint, window state and counters"
MAX_ROUNDS = 4  # leftover rules applied to their own result until nothing changes (manual renames)


def plan_repairs(live: LiveState, *, identities: Mapping[str, str] | None = None,
                 deploy_running: bool = False) -> list[Change]:
    """Repair changes for ``live``, in the order they must be applied."""
    if identities is not None:
        return _restore_identities(live, identities)
    if deploy_running:
        return []
    repairs: list[Change] = []
    for _ in range(MAX_ROUNDS):
        more = _leftovers(project(live, repairs))
        if not more:
            break
        repairs += more
    return repairs


def project(live: LiveState, repairs: list[Change] | tuple[Change, ...]) -> LiveState:
    """``live`` as it will be once ``repairs`` are applied (renamed processors end stopped)."""
    procs = {p.name: p for p in live.processors}
    for change in repairs:
        if change.action is Action.DELETE and change.repair:
            procs.pop(change.name, None)
        elif change.action is Action.RENAME and change.renamed_from in procs:
            moved = procs.pop(change.renamed_from)
            state = "STOPPED" if moved.state in RUNNING else moved.state
            procs[change.name] = replace(moved, name=change.name, state=state)
    return replace(live, processors=tuple(procs.values()))


def repairs_of(changes) -> list[Change]:
    return [c for c in changes if c.repair]


# -- rollback: names back by _id -----------------------------------------------------------------
def _restore_identities(live: LiveState, identities: Mapping[str, str]) -> list[Change]:
    wanted = {pid: name for name, pid in identities.items() if pid}
    by_name = {p.name: p for p in live.processors}
    moves = {p.name: wanted[p.id] for p in live.processors if p.id in wanted and wanted[p.id] != p.name}
    occupants = sorted({by_name[t].name for t in moves.values() if t in by_name and t not in moves})
    removals = [_removal(by_name[name], f"holds the name {name} that the snapshot gives to the processor now "
                                        f"called {_mover(moves, name)} (same _id); not in the snapshot") for name in occupants]
    return removals + [_rename(by_name[old], new, "the snapshot recorded this processor (same _id) as " + new)
                       for old, new in _ordered(moves)]


def _mover(moves: dict[str, str], target: str) -> str:
    return next(old for old, new in moves.items() if new == target)


def _ordered(moves: dict[str, str]) -> list[tuple[str, str]]:
    """Renames in an order where each target name is free when its turn comes."""
    pending, done = dict(moves), []
    while pending:
        ready = sorted(old for old, new in pending.items() if new not in pending)
        if not ready:
            raise PlanError(f"processors {', '.join(sorted(pending))} swapped names since the snapshot; rename one "
                            "of them by hand (sp processors ...), then plan again")
        for old in ready:
            done.append((old, pending.pop(old)))
    return done


# -- leftovers of an interrupted deploy -----------------------------------------------------------
def _leftovers(live: LiveState) -> list[Change]:
    names = {p.name: p for p in live.processors}
    found: list[Change] = []
    for name, proc in sorted(names.items()):
        if name.endswith((GREEN_SUFFIX, CANARY_SUFFIX)):
            found.append(_removal(proc, COPY_REASON))
    for name, proc in sorted(names.items()):
        base = _base(name, BLUE_SUFFIX)
        if base and base not in names:
            found.append(_rename(proc, base, f"the original {base}, left under its rollback name by an interrupted "
                                             "blue-green cut-over"))
    renamed_to_base = {c.renamed_from for c in found if c.action is Action.RENAME}
    for name, proc in sorted(names.items()):
        base = _base(name, RETIRED_SUFFIX)
        if not base:
            continue
        blue = base + BLUE_SUFFIX
        if blue not in names or blue in renamed_to_base:
            found.append(_rename(proc, blue, f"the rollback target of {base}, parked by an interrupted blue-green "
                                             "cut-over"))
        else:
            found.append(_removal(proc, f"an older rollback target of {base}: the interrupted blue-green cut-over "
                                        f"had already made {blue}"))
    return found


def _base(name: str, suffix: str) -> str:
    return name[: -len(suffix)] if name.endswith(suffix) and len(name) > len(suffix) else ""


# -- the changes ----------------------------------------------------------------------------------
def _document(proc: LiveProcessor) -> dict:
    doc = processor_document(proc.name, proc.pipeline, proc.options, proc.tier)
    return redact(doc, processor_secrets(doc))


def _removal(proc: LiveProcessor, reason: str) -> Change:
    return Change(kind="processor", name=proc.name, action=Action.DELETE, before=_document(proc), reason=reason,
                  consequence="removed with its state" + (" (stopped first: it is running)" if proc.state in RUNNING
                                                          else ""),
                  stop_window="permanent", tier=proc.tier, live_state=proc.state, repair=True)


def _rename(proc: LiveProcessor, new: str, reason: str) -> Change:
    before = _document(proc)
    stopped = " (stopped to rename; started again below if it should run)" if proc.state in RUNNING else ""
    return Change(kind="processor", name=new, action=Action.RENAME, before=before, after={**before, "name": new},
                  fields=(FieldChange("/name", proc.name, new),), reason=reason, consequence=KEPT + stopped,
                  tier=proc.tier, live_state=proc.state, renamed_from=proc.name, repair=True)
