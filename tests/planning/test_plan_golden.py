"""Golden scenarios: each tests/cases/plan/<scenario>/ gives exactly its expected plan, text and steps."""
from __future__ import annotations

import json

import pytest
from plan_scenarios import CASES, run_scenario, scenario_names, steps_document

from sp_tasks.planning.plan import plan_from_json, plan_to_json
from sp_tasks.planning.render import render_markdown, render_text


def _plan_document(plan) -> dict:
    doc = json.loads(plan_to_json(plan))
    del doc["created_at"]
    return doc


@pytest.mark.parametrize("scenario", scenario_names())
def test_scenario_matches_its_golden_files(scenario, update_golden):
    case = CASES / scenario
    plan, steps, _ = run_scenario(case)
    actual = {
        "expected.json": json.dumps(_plan_document(plan), indent=2, ensure_ascii=False) + "\n",
        "expected.txt": render_text(plan),
        "expected_steps.json": json.dumps(steps_document(steps), indent=2, ensure_ascii=False) + "\n",
    }
    if update_golden:
        for name, text in actual.items():
            (case / name).write_text(text, encoding="utf-8")
    for name, text in actual.items():
        assert (case / name).read_text(encoding="utf-8") == text, f"{scenario}/{name} differs (--update-golden?)"


@pytest.mark.parametrize("scenario", scenario_names())
def test_scenario_output_never_contains_a_secret_value(scenario):
    plan, steps, secrets = run_scenario(CASES / scenario)
    outputs = [plan_to_json(plan), render_text(plan), render_markdown(plan), json.dumps(steps_document(steps))]
    for secret in secrets:
        assert not any(secret in out for out in outputs)


@pytest.mark.parametrize("scenario", scenario_names())
def test_scenario_plan_survives_a_json_round_trip(scenario):
    plan, _, _ = run_scenario(CASES / scenario)
    assert plan_from_json(plan_to_json(plan)) == plan


def test_every_scenario_has_a_one_line_readme():
    for scenario in scenario_names():
        lines = (CASES / scenario / "README.md").read_text(encoding="utf-8").strip().splitlines()
        assert len(lines) == 1, scenario
