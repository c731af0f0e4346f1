"""What people read of a plan: a stage-by-stage diff with ~ + -, colour only when asked, non-zero
counts in the summary, targets and strategy told as they happen; the JSON keeps the pointers."""
from __future__ import annotations

import json

from sp_tasks.planning.diff import compute_diff
from sp_tasks.planning.plan import Action, Change, Plan, plan_to_json
from sp_tasks.planning.render import render_markdown, render_text, summary_line
from sp_tasks.planning.textdiff import document_diff, json_diff, pretty

SOURCE = {"$source": {"connectionName": "sample_stream_solar"}}
MERGE = {"$merge": {"into": {"connectionName": "cluster", "db": "solar", "coll": "out"}}}
WINDOW = {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"},
                              "pipeline": [{"$group": {"_id": "$group_id", "max_temp": {"$max": "$obs.temp"}}}]}}


def doc(*stages, **extra):
    return {"name": "p", "pipeline": list(stages), **extra}


def change(before, after, action=Action.UPDATE, **kw):
    return Change("processor", "p", action, before, after, compute_diff(before, after), desired_state="STARTED",
                  live_state="STARTED", consequence="checkpoint and window state kept; resumes where it stopped", **kw)


def plan(*changes, **kw):
    return Plan("staging", "ws", "0" * 24, "", tuple(changes), "f" * 64, **kw)


def test_a_changed_value_reads_old_to_new_inside_its_stage():
    before = doc(SOURCE, {"$match": {"obs.watts": {"$gt": 100}}}, MERGE)
    after = doc(SOURCE, {"$match": {"obs.watts": {"$gt": 150}}}, MERGE)
    assert document_diff(before, after) == [
        ("#", "1 unchanged stage ($source)"), ("~", "pipeline stage 1: $match"), (" ", "    {"),
        ("~", '      "obs.watts": {"$gt": 100} → {"$gt": 150}'), (" ", "    }"), ("#", "1 unchanged stage ($merge)")]


def test_an_inserted_stage_is_one_plus_not_every_later_stage_changed():
    lines = document_diff(doc(SOURCE, MERGE), doc(SOURCE, {"$match": {"x": 1}}, MERGE))
    assert [m for m, _ in lines] == ["#", "+", "+", "#"] and lines[1] == ("+", "pipeline stage 1: $match")


def test_a_nested_addition_is_a_plus_line_with_its_context():
    grown = json.loads(json.dumps(WINDOW))
    grown["$tumblingWindow"]["pipeline"][0]["$group"]["min_watts"] = {"$min": "$obs.watts"}
    lines = document_diff(doc(SOURCE, WINDOW), doc(SOURCE, grown))
    assert [text.strip() for m, text in lines if m == "+"] == ['"min_watts": {"$min": "$obs.watts"}']
    assert sum(m == "+" for m, _ in lines) == 1 and not any(m == "-" for m, _ in lines)


def test_pretty_keeps_key_order_and_small_parts_on_one_line():
    assert pretty({"b": 1, "a": {"x": [1, 2]}}) == ['{"b": 1, "a": {"x": [1, 2]}}']
    assert pretty({"b": 1, "a": 2}, expand=True) == ["{", '  "b": 1', '  "a": 2', "}"]


def test_long_runs_of_unchanged_lines_are_folded():
    before = {f"k{i}": i for i in range(20)}
    after = {**before, "k19": 99}
    lines = json_diff(before, after)
    assert ("#", "  … 18 unchanged lines") in lines and lines[-2] == ("~", '  "k19": 19 → 99')


def test_a_changed_secret_is_listed_by_path_and_never_shown():
    before = doc(SOURCE, {"$https": {"connectionName": "api", "headers": {"Authorization": "(secret)"}}})
    lines = document_diff(before, before, ["/pipeline/1/$https/headers/Authorization"])
    assert lines == [("~", "pipeline.1.$https.headers.Authorization: (secret changed)")]


def test_text_has_colour_only_when_asked_and_json_keeps_the_pointer():
    the_plan = plan(change(doc(SOURCE, {"$match": {"a": 1}}), doc(SOURCE, {"$match": {"a": 2}})))
    plain, coloured = render_text(the_plan), render_text(the_plan, color=True)
    assert "\033[" not in plain and '~       "a": 1 → 2' in plain
    assert "\033[33m~       \"a\": 1 → 2\033[0m" in coloured
    assert json.loads(plan_to_json(the_plan))["changes"][0]["fields"][0]["path"] == "/pipeline/1/$match/a"


def test_markdown_shows_the_diff_as_a_diff_block():
    md = render_markdown(plan(change(doc(SOURCE, {"$match": {"a": 1}}), doc(SOURCE, {"$match": {"a": 2}}))))
    assert '```diff\n# 1 unchanged stage ($source)\n~ pipeline stage 1: $match' in md


def test_the_summary_counts_only_what_happens():
    created = Change("processor", "q", Action.CREATE, None, doc(SOURCE))
    assert summary_line(plan(created, Change("processor", "r", Action.NOOP))) == "Plan: 1 to create; 1 unchanged."
    assert summary_line(plan(Change("processor", "r", Action.NOOP))) == "Plan: no changes; 1 unchanged."


def test_blue_green_tells_the_consequence_as_blue_green_carries_it_out():
    the_plan = plan(change(doc(SOURCE, {"$match": {"a": 1}}), doc(SOURCE, {"$match": {"a": 2}})))
    text = render_text(the_plan, staged={"p": "blue-green"})
    assert "checkpoint and window state kept" not in text
    assert "starts as p__green without p's checkpoint" in text and "kept stopped as p__blue with its checkpoint" in text
    assert "canary first: p__canary" in render_text(the_plan, staged={"p": "canary"})


def test_a_targeted_plan_says_what_it_left_alone():
    the_plan = plan(targets=("p",), untouched_processors=("q", "r"), untouched_connections=("k",))
    assert ("Targeted: p (with the connections they use). Left untouched: 2 processor(s) (q, r) and "
            "1 connection(s) (k).") in render_text(the_plan)
