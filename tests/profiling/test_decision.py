"""The user-set decision rule: thresholds.json `regression` section, its checks, and what it changes."""
from __future__ import annotations

import json

import pytest
from invoke import Config, Context, Exit

import tasks
from sp_tasks.errors import ConfigError
from sp_tasks.profiling.decision import check_section, parse_accept, rule_from_thresholds
from sp_tasks.profiling.metrics import METRICS
from sp_tasks.profiling.regression import Verdict, compare_runs
from tests.profiling.conftest import build_runs
from tests.test_tasks_validate import project  # noqa: F401 - the fixture: a copy of the repository

SECTION = {"alpha": 0.005, "min_history": 6, "window": 30, "floor_pct": {"latency_p99_ms": 20},
           "processors": {"p": {"floor_pct": {"output_rate": 50}, "alpha": 0.001, "min_history": 8}},
           "accept": ["q:memory_mb", {"processor": "q", "metric": "*", "since": "2025-06-01", "reason": "bigger state"}]}


def test_a_full_section_becomes_the_rule():
    rule = rule_from_thresholds({"regression": SECTION}, accept=["r:output_rate"])
    assert (rule.alpha, rule.min_history, rule.window) == (0.005, 6, 30)
    assert rule.floor(METRICS["latency_p99_ms"]) == 0.2 and rule.floor(METRICS["output_rate"], "p") == 0.5
    assert rule.floor(METRICS["output_rate"], "q") == METRICS["output_rate"].floor
    assert (rule.alpha_for("p"), rule.alpha_for("q"), rule.min_history_for("p")) == (0.001, 0.005, 8)
    assert rule.acceptance("q", "memory_mb").since == "" and rule.acceptance("q", "state_mb").reason == "bigger state"
    assert rule.acceptance("r", "output_rate") and rule.acceptance("r", "input_rate") is None
    assert "own settings for p" in rule.describe()


def test_no_section_is_the_calibrated_default():
    assert rule_from_thresholds({}) == rule_from_thresholds({"regression": {}})


@pytest.mark.parametrize("section, pointer, message", [
    ({"alpha": 0}, "/regression/alpha", "must be a number from 1e-06 to 0.2"),
    ({"alpha": "0.01"}, "/regression/alpha", "got '0.01'"),
    ({"min_history": 1.5}, "/regression/min_history", "must be a whole number from 2"),
    ({"window": 3}, "/regression/window", "must be at least min_history (5)"),
    ({"floor_pct": {"latency": 5}}, "/regression/floor_pct/latency", "unknown metric 'latency'"),
    ({"floor_pct": {"output_rate": 300}}, "/regression/floor_pct/output_rate", "from 0 to 100"),
    ({"alhpa": 0.01}, "/regression/alhpa", "unknown key 'alhpa'; known: alpha"),
    ({"processors": {"p": {"window": 3}}}, "/regression/processors/p/window", "unknown key 'window'"),
    ({"accept": "p:output_rate"}, "/regression/accept", "must be a list"),
    ({"accept": ["p"]}, "/regression/accept/0", "use processor:metric"),
    ({"accept": [{"processor": "p", "metric": "speed"}]}, "/regression/accept/0/metric", "must be one of"),
    ({"accept": [{"processor": "p", "metric": "*", "when": 1}]}, "/regression/accept/0/when", "unknown key"),
])
def test_every_bad_entry_is_named_with_its_pointer(section, pointer, message):
    problems = check_section({"regression": section})
    assert any(p == pointer and message in m for p, m in problems), problems
    with pytest.raises(ConfigError, match="regression section"):
        rule_from_thresholds({"regression": section})


def test_accept_on_the_command_line_is_checked():
    assert parse_accept("p:*").metric == "*"
    with pytest.raises(ConfigError, match=r"--accept 'p:speed': use processor:metric"):
        rule_from_thresholds({}, accept=["p:speed"])


def test_a_processor_floor_and_alpha_change_its_verdict_only():
    history = build_runs({(p, "output_rate"): [100, 101, 99, 100, 102, 98, 100, 101] for p in ("p", "q", "s")})
    current = build_runs({(p, "output_rate"): [80, 81, 80] for p in ("p", "q", "s")}, prefix="c", first=10)
    rule = rule_from_thresholds({"regression": {"processors": {"p": {"floor_pct": {"output_rate": 50}}}}})
    verdicts = {f.processor: f.verdict for f in compare_runs(history, current, rule)}
    assert verdicts == {"p": Verdict.UNCHANGED, "q": Verdict.REGRESSION, "s": Verdict.REGRESSION}


def test_invoke_validate_names_file_line_and_fix_of_a_bad_regression_section(project, capsys):
    path = project / "environments" / "local" / "thresholds.json"
    doc = json.loads(path.read_text())
    doc["regression"] = {"alpha": 0.01, "accept": ["solarHighOutput:output_rate", "nosuch:memory_mb"],
                         "floor_pct": {"latency_p99": 10}}
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(Exit) as info:
        tasks.validate(Context(Config(overrides={"sp": {"env": "local"}})))
    assert info.value.code == 4
    out = capsys.readouterr().out
    lines = path.read_text().splitlines()
    floor_line = next(i for i, line in enumerate(lines, 1) if '"latency_p99"' in line)
    assert (f"environments/local/thresholds.json:{floor_line}: error: unknown metric 'latency_p99'; use one of"
            in out)
    assert "no processor named 'nosuch' in processors/ [regression-rule] at /regression/accept/1" in out
    assert "solarHighOutput" not in out
