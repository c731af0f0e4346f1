"""What both kill matrices (test_kill_matrix.py here, tests/adversarial/kill_matrix.py) require after a
deployer died or was stopped inside a deploy of one changed processor, ``hot``.

- The next plan shows exactly what is left: the dead deployer's lock as stale, one repair for each
  copy left behind and for nothing else, and a change to ``hot`` only when ``hot`` as the repairs
  leave it is not yet what Git wants (STARTED with the new pipeline) — nothing else changes.
- After one deploy or rollback, the processor that existed before is still there with its ``_id``
  and with no counter lower than it was just before the repair (a recreated or reset processor
  restarts near zero), and no lock or copy is left.

The expectations are derived from live state and the suffix rules (model.py), not from the
planner, so a planner that forgets or invents a change is caught.
"""
from __future__ import annotations

from sp_tasks.model import BLUE_SUFFIX, CANARY_SUFFIX, GREEN_SUFFIX, RETIRED_SUFFIX

COUNTERS = ("inputMessageCount", "outputMessageCount")
COPIES = (GREEN_SUFFIX, CANARY_SUFFIX, RETIRED_SUFFIX)


def left_over(names: set[str]) -> set[str]:
    """Copies of an interrupted strategy, and an original parked as X__blue whose X is gone."""
    return {n for n in names if n.endswith(COPIES) or (n.endswith(BLUE_SUFFIX) and n[: -len(BLUE_SUFFIX)] not in names)}


def check_plan_after_kill(plan, live, wanted_pipeline: list, name: str = "hot") -> str:
    """Assert the plan shows exactly what is left; returns a one-line summary for the matrix."""
    assert plan.lock is not None and not plan.lock["live"], "the dead deployer's lock is not shown stale"
    procs = {p.name: p for p in live.processors}
    repairs = [c for c in plan.changes if c.repair]
    repaired = {c.renamed_from or c.name for c in repairs}
    left = left_over(set(procs))
    assert repaired == left, f"repairs {sorted(repaired)} but left over {sorted(left)}"
    state = _after_repairs(procs, repairs, name)
    expected = set() if state == (wanted_pipeline, "STARTED") else {name}
    changed = {c.name for c in plan.changes if not c.repair and c.action.value != "no-op"}
    assert changed == expected, f"changes to {sorted(changed)}, but only {sorted(expected)} is left to do"
    return f"{len(repairs)} repair(s), {len(changed)} change(s), stale lock"


def counters_of(live, processor_id: str) -> dict[str, int]:
    """The counters of the processor with this _id, under whatever name it has now."""
    found = [p for p in live.processors if p.id == processor_id]
    assert found, f"the original processor {processor_id} is gone (recreated)"
    stats = found[0].stats or {}
    return {key: int(stats.get(key, 0)) for key in COUNTERS}


def check_kept(live, processor_id: str, floor: dict[str, int], wanted_pipeline: list, name: str = "hot") -> None:
    """After the repair: ``name`` runs the wanted pipeline, the original keeps its _id and counters,
    no lock and no copy is left."""
    procs = {p.name: p for p in live.processors}
    assert procs[name].pipeline == wanted_pipeline and procs[name].state == "STARTED", f"{name} is not as wanted"
    now = counters_of(live, processor_id)
    lower = {k: (floor[k], now[k]) for k in COUNTERS if now[k] < floor[k]}
    assert not lower, f"counters went back (before the repair, after it): {lower}"
    assert not live.extra.get("locks"), "a lock is left"
    assert not any(n.endswith(COPIES) for n in procs), f"copies are left: {sorted(procs)}"


def _after_repairs(procs: dict, repairs: list, name: str) -> tuple[list, str] | None:
    """(pipeline, state) of ``name`` once the repairs ran: renamed processors end STOPPED."""
    gone = {c.name for c in repairs if c.action.value == "delete"}
    renamed = {c.name: c.renamed_from for c in repairs if c.renamed_from}
    if name in renamed:
        return procs[renamed[name]].pipeline, "STOPPED"
    if name in procs and name not in gone:
        return procs[name].pipeline, procs[name].state
    return None
