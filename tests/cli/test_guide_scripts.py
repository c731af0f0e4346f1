"""The seed guide's scripts, run as its users run them, against the emulator with jq.

``tests/cli/guide_seed/`` holds the guide's monitor and health-check scripts, its emergency rollback
and the ``run:`` blocks of its CI validation, staging deploy, production deploy and backup jobs,
verbatim. The project they run in has the seed's layout (``tools/sp`` next to ``processors/``),
with ``tools/sp`` a two-line shim for the installed ``sp``. Translations, all in :func:`translate`:

* ``--env local`` on every ``./sp`` call (``environments/local`` points at the test emulator);
* ``--yes`` where ``sp`` asks before writing (``processors create|drop``, ``connections create``);
* ``--all`` on a bare ``processors start --auto``: ``sp`` never acts on a whole workspace;
* durations ÷ 120 (``--duration 60`` → 0.5 s, sampled every 0.1 s) and ``sleep`` a no-op, so the
  suite stays fast; the commands and jq filters are otherwise untouched;
* one fix of a guide bug: its rollback runs ``git checkout HEAD~1 -- processors/`` from
  ``tools/``, where no ``processors/`` exists (``../processors/``). Its backup step writes into a
  ``backup/`` directory it never creates; the project here has one.

Workflow steps run as GitHub runs them (``bash -e -o pipefail``), scripts as ``bash script``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sp_tasks.cli import main

SEED = Path(__file__).parent / "guide_seed"
SPEEDUP = 120
INTERVAL = 0.1
JQ = shutil.which("jq")
pytestmark = pytest.mark.skipif(JQ is None, reason="jq is not installed (Debian package jq; .ci/run installs it)")


def translate(text: str) -> str:
    text = text.replace("./sp ", "./sp --env local ")
    text = re.sub(r"(\./sp --env local (?:processors (?:create|drop)|workspaces connections create))\b",
                  r"\1 --yes", text)
    text = re.sub(r"(\./sp --env local processors start --auto)$", r"\1 --all", text, flags=re.M)
    text = re.sub(r"--duration (\d+)",
                  lambda m: f"--duration {int(m.group(1)) / SPEEDUP:g} --interval {INTERVAL:g}", text)
    return text.replace("git checkout HEAD~1 -- processors/", "git checkout HEAD~1 -- ../processors/")


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def guide(project, monkeypatch, tmp_path):
    """The deploy tests' project laid out as the seed's repository, environment ``local``."""
    root = project.root
    # Scripts run sp in subprocesses while the emulator runs in this one: a modest source rate keeps
    # the emulator from starving them of CPU (every metric still moves several times per second).
    project.emulator.admin("POST", "config", {"sample_rate": 50.0})
    (root / "environments" / "test").rename(root / "environments" / "local")
    (root / "environments" / "production").mkdir()
    (root / "environments" / "production" / "thresholds.json").write_text(json.dumps(
        {"memory_mb": 4096, "latency_p99_ms": 60000, "throughput_min": 1}))
    tools = root / "tools"
    (tools / "backup").mkdir(parents=True)
    sp = Path(sys.executable).parent / "sp"
    (tools / "sp").write_text(f'#!/bin/sh\nexec "{sp}" --root "$(dirname "$0")/.." "$@"\n')
    (tools / "sp").chmod(0o755)
    bin_dir = tmp_path / "bin"  # `sleep` that returns at once: the guide waits 30-60 s for stabilisation
    bin_dir.mkdir()
    (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "sleep").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "first")
    return root


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout


def sp_main(root: Path, *argv: str) -> int:
    return main(["--env", "local", "--root", str(root), *argv])


def run(root: Path, script: str, *, step: bool) -> Result:
    """One seed script (translated) in the project root; ``step``: as a GitHub workflow step."""
    path = root / f".{script}"
    path.write_text(translate((SEED / script).read_text(encoding="utf-8")), encoding="utf-8")
    shell = ["bash", "--noprofile", "--norc", "-eo", "pipefail"] if step else ["bash"]
    done = subprocess.run([*shell, str(path)], cwd=root, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "NO_COLOR": "1"})
    return Result(done.returncode, done.stdout, done.stderr)


def _jq(path: Path, program: str):
    return json.loads(subprocess.run([JQ, "-c", program, str(path)], check=True, capture_output=True,
                                     text=True).stdout)


def _json_values(text: str) -> list:
    """The JSON values jq printed one after another (pretty-printed), ignoring other lines."""
    decoder, values, i = json.JSONDecoder(), [], 0
    while (start := text.find("{", i)) >= 0:
        value, i = decoder.raw_decode(text, start)
        values.append(value)
    return values


def test_translation_changes_only_what_the_docstring_lists():
    text = (SEED / "deploy-staging--deploy-processors.sh").read_text()
    assert translate(text) == ("cd tools\n./sp --env local processors create --yes --all\n"
                               "./sp --env local processors start --auto --all\n")


def test_ci_validation(guide):
    assert sp_main(guide, "workspaces", "create") == 0
    for step in ("ci--validate-processor-configurations.sh", "ci--analyze-tier-requirements.sh"):
        ran = run(guide, step, step=True)
        assert ran.code == 0, ran.err
    advice = _jq(guide / "tools" / "tier-analysis.json", "[.advice[] | {processor, tier}]")
    assert {a["processor"] for a in advice} == {"hot", "per_group", "logger"}
    assert sp_main(guide, "processors", "create", "--all", "--yes") == 0  # connections must exist to test them
    ran = run(guide, "ci--validate-connections.sh", step=True)
    assert ran.code == 0, ran.err


def test_staging_deploy(guide):
    assert sp_main(guide, "workspaces", "create") == 0  # staging exists before its first deploy
    steps = {}
    for step in ("deploy-staging--pre-deployment-snapshot.sh", "deploy-staging--deploy-connections.sh",
                 "deploy-staging--deploy-processors.sh", "deploy-staging--post-deployment-validation.sh"):
        steps[step] = ran = run(guide, step, step=True)
        assert ran.code == 0, f"{step}: {ran.err}"
    # `create --all` started them; the guide's `start --auto` is then done, and says how to re-tier
    assert "already running" in steps["deploy-staging--deploy-processors.sh"].err
    assert "sp processors restart -p hot --auto" in steps["deploy-staging--deploy-processors.sh"].err
    tools = guide / "tools"
    assert _jq(tools / "pre-deploy-snapshot.json", ".summary.total") == 0
    baseline = _jq(tools / "staging-baseline.json", ".processors | keys")
    assert baseline == ["hot", "logger", "per_group"]
    assert _jq(tools / "staging-baseline.json", ".processors.hot.input_rate.avg") > 0


def test_production_deploy(guide):
    assert sp_main(guide, "processors", "create", "--all", "--yes") == 0  # what production ran before
    for step in ("deploy-production--pre-deployment-health-check.sh",
                 "deploy-production--blue-green-deployment-strategy.sh",
                 "deploy-production--production-performance-baseline.sh"):
        ran = run(guide, step, step=True)
        assert ran.code == 0, f"{step}: {ran.err}"
    assert _jq(guide / "tools" / "production-baseline.json", ".summary.processors") == 3


def test_production_thresholds_file_fails_the_step_when_breached(guide):
    assert sp_main(guide, "processors", "create", "--all", "--yes") == 0
    (guide / "environments" / "production" / "thresholds.json").write_text(json.dumps({"throughput_min": 1e9}))
    ran = run(guide, "deploy-production--blue-green-deployment-strategy.sh", step=True)
    assert ran.code == 3
    assert "throughput" in ran.out or "input_rate" in ran.out


def test_monitor_reports_a_stopped_processor(guide):
    assert sp_main(guide, "processors", "create", "--all", "--yes") == 0
    assert sp_main(guide, "processors", "stop", "-p", "hot") == 0
    ran = run(guide, "monitor.sh", step=False)
    assert ran.code == 0, ran.err
    assert "Warning: 1 processors are stopped" in ran.out
    assert '"name": "hot"' in ran.out and '"status": "STOPPED"' in ran.out
    summary = {d["name"]: d for d in _json_values(ran.out.split("Performance Summary:")[1])}
    assert set(summary) == {"hot", "logger", "per_group"}
    assert summary["logger"]["memory"] is None or summary["logger"]["memory"] >= 0
    assert json.loads((guide / "tools" / "current-stats.json").read_text())["processors"]
    assert _jq(guide / "tools" / "current-performance.json", ".processors | length") == 3


def test_monitor_reports_nothing_when_all_run(guide):
    assert sp_main(guide, "processors", "create", "--all", "--yes") == 0
    ran = run(guide, "monitor.sh", step=False)
    assert ran.code == 0, ran.err
    assert "Warning" not in ran.out and "Monitoring complete" in ran.out


def test_health_check_prints_the_summary(guide):
    assert sp_main(guide, "processors", "create", "--all", "--yes") == 0
    assert sp_main(guide, "processors", "stop", "-p", "per_group") == 0
    ran = run(guide, "health-check.sh", step=False)
    assert ran.code == 0, ran.err
    (summary,) = _json_values(ran.out.split("Processor Status:")[1].split("⚡")[0])
    assert summary == {"total": 3, "running": 2, "stopped": 1, "failed": 0, "created": 0, "other": 0}
    health = {d["name"]: d["health"] for d in _json_values(ran.out.split("Performance Check:")[1].split("🔗")[0])}
    assert set(health) == {"hot", "logger", "per_group"} and all(isinstance(h, list) and h for h in health.values())
    assert "Health check complete" in ran.out


def test_emergency_rollback_restores_the_previous_commit(guide):
    hot = json.loads((guide / "processors" / "hot.json").read_text())
    hot["pipeline"][1] = {"$match": {"obs.watts": {"$gt": 200}}}
    (guide / "processors" / "hot.json").write_text(json.dumps(hot, indent=2))
    _git(guide, "commit", "-qam", "raise the threshold")
    assert sp_main(guide, "processors", "create", "--all", "--yes") == 0
    ran = run(guide, "emergency-rollback.sh", step=False)
    assert ran.code == 0, ran.err
    assert "Rollback complete" in ran.out
    from sp_tasks.atlas.connect import open_client
    from sp_tasks.settings import load_settings

    with open_client(load_settings("local", guide)) as client:
        live = {p["name"]: p for p in client.list_processors()}
    assert live["hot"]["pipeline"][1] == {"$match": {"obs.watts": {"$gt": 100}}}
    assert {p["state"] for p in live.values()} == {"STARTED"}


def test_backup(guide):
    assert sp_main(guide, "processors", "create", "--all", "--yes") == 0
    ran = run(guide, "backup--backup-current-state.sh", step=True)
    assert ran.code == 0, ran.err
    (processors,) = (guide / "tools" / "backup").glob("processors-*.json")
    (connections,) = (guide / "tools" / "backup").glob("connections-*.json")
    assert _jq(processors, "[.processors[].name] | sort") == ["hot", "logger", "per_group"]
    assert _jq(connections, "[.connections[].name] | sort") == ["cluster", "sample_stream_solar"]
