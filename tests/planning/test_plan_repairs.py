"""Repairs: rollbacks rename processors back by _id; leftovers of an interrupted deploy are resolved."""
from __future__ import annotations

import pytest

from sp_tasks.errors import PlanError
from sp_tasks.model import LiveProcessor, LiveState
from sp_tasks.planning.plan import Action
from sp_tasks.planning.repairs import plan_repairs, project
from test_plan_planner import SINK, SOURCE, plan, spec


def proc(name, pid=None, state="STOPPED"):
    return LiveProcessor(name=name, id=pid or "id-" + name, state=state, pipeline=[SOURCE, SINK], tier="SP10")


def live(*procs):
    return LiveState(workspace={}, processors=tuple(procs))


def steps(repairs):
    return [(c.action.value, c.renamed_from or c.name, c.name) for c in repairs]


def test_rollback_renames_the_original_back_after_removing_the_green_that_took_its_name():
    state = live(proc("x", "G", "STARTED"), proc("x__blue", "A"))
    repairs = plan_repairs(state, identities={"x": "A"})
    assert steps(repairs) == [("delete", "x", "x"), ("rename", "x__blue", "x")]
    after = {p.name: (p.id, p.state) for p in project(state, repairs).processors}
    assert after == {"x": ("A", "STOPPED")}


def test_rollback_renames_in_an_order_that_frees_each_name_first():
    state = live(proc("x", "G"), proc("x__blue", "A"), proc("x__retired", "Z"))
    repairs = plan_repairs(state, identities={"x": "A", "x__blue": "Z", "x__green": "G"})
    assert steps(repairs) == [("rename", "x", "x__green"), ("rename", "x__blue", "x"),
                              ("rename", "x__retired", "x__blue")]


def test_two_processors_that_swapped_names_are_refused_not_guessed():
    with pytest.raises(PlanError, match="swapped names"):
        plan_repairs(live(proc("a", "2"), proc("b", "1")), identities={"a": "1", "b": "2"})


def test_leftover_copies_are_removed_and_an_orphaned_original_gets_its_name_back():
    state = live(proc("x__blue", "A"), proc("x__green", "G", "STARTED"), proc("y__canary", "C", "STARTED"),
                 proc("y", "Y", "STARTED"))
    assert steps(plan_repairs(state)) == [("delete", "x__green", "x__green"), ("delete", "y__canary", "y__canary"),
                                          ("rename", "x__blue", "x")]


@pytest.mark.parametrize("cut_over, expected", [
    # killed after parking the older target, before the original moved: the target goes back
    (("x", "x__retired"), [("rename", "x__retired", "x__blue")]),
    # killed after the original became x__blue: it gets its name back, then the older target its own
    (("x__blue", "x__retired"), [("rename", "x__blue", "x"), ("rename", "x__retired", "x__blue")]),
    # killed after green became x: the cut-over is done; the older target goes as the deploy would have
    (("x", "x__blue", "x__retired"), [("delete", "x__retired", "x__retired")]),
])
def test_a_parked_older_rollback_target_is_restored_or_retired_by_how_far_the_cut_over_got(cut_over, expected):
    assert steps(plan_repairs(live(*(proc(name) for name in cut_over)))) == expected


def test_nothing_is_repaired_while_a_live_deploy_holds_the_lock():
    state = live(proc("x__blue", "A"), proc("x__green", "G", "STARTED"))
    assert plan_repairs(state, deploy_running=True) == []


def test_a_kept_rollback_target_is_not_a_leftover():
    assert plan_repairs(live(proc("x", "G", "STARTED"), proc("x__blue", "A"))) == []


def test_pruning_a_processor_removes_its_rollback_target_so_it_is_never_renamed_back():
    the_plan = plan([], [proc("x", "G", "STARTED"), proc("x__blue", "A")], prune=True)
    assert [(c.name, c.action) for c in the_plan.changes] == [("x", Action.DELETE), ("x__blue", Action.DELETE)]
    kept = plan([], [proc("x", "G", "STARTED"), proc("x__blue", "A")])
    assert {c.action for c in kept.changes} == {Action.NOOP}


def test_a_deploy_plan_shows_leftovers_first_and_plans_the_rest_against_the_repaired_state():
    the_plan = plan([spec("x")], [proc("x__blue", "A", "STOPPED"), proc("x__green", "G", "STARTED")])
    assert [(c.name, c.action, c.repair) for c in the_plan.changes] == [
        ("x__green", Action.DELETE, True), ("x", Action.RENAME, True), ("x", Action.START, False)]
    assert the_plan.has_changes()
