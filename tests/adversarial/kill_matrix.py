"""The slow adversarial matrix: a real deployer process killed (kill -9) or signalled (SIGINT,
SIGTERM, SIGHUP) inside every step of every strategy, then the next plan and one repair.

    python tests/adversarial/kill_matrix.py [--strategy S ...] [--only kill|signal] [--json FILE]

For every strategy (in-place, blue-green, canary) and every step the deploy of one changed
processor takes, a child process (child_task.py, `invoke deploy` as CI runs it) is stopped while
it is inside that step: an emulator delay fault holds the step's own request (start, stop, modify,
rename, delete of a named processor) until the parent has sent the signal; steps without a request
of their own (create, health gate, canary comparison) are hit when their line is printed.

- kill -9: the next plan must show exactly what is left (tests/deploy/kill_checks.py: the dead
  deployer's lock as stale, a repair for each copy left behind and nothing else, a change to hot
  only while hot is not yet as Git wants it); then one `deploy` (same strategy) must converge and
  verify — and, separately, one `rollback` must return to the last verified state.
- a signal: the deployer must exit 130 with a last line saying it rolled back, leaving the
  workspace as before (no copies, no lock, the original processor STARTED with the old pipeline,
  so the next plan shows exactly the one change to hot again).

Every case checks that the processor that existed before keeps its _id and that none of its
counters is lower after the repair than it was when the deployer stopped. The table printed at the
end is the matrix; exit status 1 if any case failed. Takes ~20 minutes under load. Results of past
runs, with the rest of issue 9's adversarial cases: tests/adversarial/matrix.md.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent / "deploy"), str(HERE.parent)]

from child import at, run_child  # noqa: E402  (tests/deploy)
from deploy_project import FILTER, Project  # noqa: E402
from kill_checks import check_kept, check_plan_after_kill, counters_of  # noqa: E402  (tests/deploy)
from sp_tasks.deploy import service, snapshots  # noqa: E402
from sp_tasks.deploy.strategies import build_steps  # noqa: E402

V2 = {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"obs.watts": {"$gt": 120}}}, FILTER["pipeline"][2]]}
HOLD_MS = 1500
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
REQUESTS = {"start_processor": ("POST", ":startWith$"), "stop_processor": ("POST", ":stop$"),
            "modify_processor": ("PATCH", "$"), "rename_processor": ("PATCH", "$"), "delete_processor": ("DELETE", "$")}


class Emulator:
    """The emulator in this process, as tests/conftest.py's fixture offers it."""

    def __init__(self, data_dir: str):
        from sp_tasks.emulator.backend import Backend
        from sp_tasks.emulator.server import EmulatorServer

        self.server = EmulatorServer(Backend(data_dir, sample_rate=1000.0)).start()
        self.url = self.server.url

    def admin(self, method: str, name: str, body=None):
        resp = requests.request(method, f"{self.url}/_emulator/{name}", json=body, timeout=10,
                                headers={"X-SP-Emulator": "1", "Content-Type": "application/json"})
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def faults(self, *rules) -> None:
        self.admin("POST", "faults", list(rules))


@dataclass
class Row:
    strategy: str
    step: str
    action: str
    repair: str
    exit_code: int | None = None
    plan_after: str = ""
    result: str = "ok"
    seconds: float = 0.0


def fresh_project(emulator: Emulator) -> Project:
    emulator.admin("POST", "reset")
    emulator.admin("POST", "config", {"sample_rate": 1000.0})
    project = Project(Path(tempfile.mkdtemp(prefix="kill-matrix-")), emulator)
    project.remove("processors", "per_group")
    project.remove("processors", "logger")
    project.thresholds(window_s=1.0, interval_s=0.2)
    return project


def steps_of(project: Project, strategy: str):
    runner = project.runner()
    live = runner.live()
    return build_steps(runner.plan(project.desired(), live), strategy=strategy, live=live)


def run_case(emulator: Emulator, strategy: str, index: int, action: str, repair: str) -> Row:
    started = time.monotonic()
    project = fresh_project(emulator)
    service.deploy(project.runner(), project.desired())
    before = project.live_processors()["hot"]
    project.write("processors", V2)
    step = steps_of(project, strategy)[index]
    row = Row(strategy, f"{index + 1} {step.id}", action, repair)
    try:
        run = interrupt(project, step, action, strategy)
        row.exit_code = run.code
        floor = counters_of(project.runner().live(), before["id"])  # as the kill or signal left them
        if action == "kill -9":
            row.plan_after = after_kill(project, repair, strategy)
        else:
            after_signal(project, run)
        wanted = V2 if (action == "kill -9" and repair == "deploy") else FILTER
        check_kept(project.runner().live(), before["id"], floor, wanted["pipeline"])
    except AssertionError as failed:
        row.result = f"FAIL: {failed}"
    except Exception as failed:  # noqa: BLE001 - a product error is a failed case, and the matrix goes on
        row.result = f"FAIL: {type(failed).__name__}: {failed}"
    row.seconds = round(time.monotonic() - started, 1)
    return row


def interrupt(project: Project, step, action: str, strategy: str):
    sig = signal.SIGKILL if action == "kill -9" else signal.Signals[action]
    held = None
    if step.kind.value in REQUESTS:
        method, tail = REQUESTS[step.kind.value]
        held = f"/processor/{step.target.name}{tail}"
        project.emulator.faults({"method": method, "path": held, "delay_ms": HOLD_MS, "count": 1})
    marker = f"{step.kind.value.replace('_', ' ')}: {step.target.name}"
    run = run_child(project, "deploy", "yes=true", f"strategy={strategy}",
                    on_line=at(project, (marker, held, sig)))
    if action == "kill -9":
        settle(project.emulator, HOLD_MS / 1000 if held else 0.0)
    return run


def settle(emulator: Emulator, held_s: float) -> None:
    """What the dead deployer asked still happens: the held request lands after its delay, and a start
    or stop it sent finishes later still (Atlas shows the old state meanwhile). Look once it has: a
    deploy run sooner sees the state change under it and refuses as stale, sending nothing."""
    from sp_tasks.emulator.lifecycle import PENDING

    time.sleep(held_s + 0.2)  # no way to see a request the emulator is still holding
    deadline = time.monotonic() + 30
    while any(PENDING in doc for _, _, doc in emulator.server.backend.store.all_processors()):
        if time.monotonic() > deadline:
            raise AssertionError("the emulator never settled after the kill")
        time.sleep(0.1)


def after_kill(project: Project, repair: str, strategy: str) -> str:
    runner = project.runner()
    live = runner.live()
    summary = check_plan_after_kill(runner.plan(project.desired(), live), live, V2["pipeline"])
    if repair == "deploy":
        outcome = service.deploy(project.runner(), project.desired(), strategy=strategy)
        assert outcome.message.startswith(("applied and verified", "no changes")), outcome.message
        again = project.runner()
        assert not again.plan(project.desired(), again.live()).has_changes(), "the deploy did not converge"
    else:
        found = snapshots.candidates(project.root, project.settings(), project.runner().live())
        service.rollback(project.runner(), next(c for c in found if c.verified).path, project.desired())
    return summary


def after_signal(project: Project, run) -> None:
    assert run.code == 130, f"exit {run.code}, not 130"
    assert "rolled back" in run.last_line and "as it was before the deploy" in run.last_line, run.last_line
    runner = project.runner()
    plan = runner.plan(project.desired(), runner.live())
    assert plan.lock is None, "the lock was left behind"
    assert not any(c.repair for c in plan.changes), "copies were left behind"
    assert [c.name for c in plan.changes if c.action.value != "no-op"] == ["hot"], "not as before the deploy"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", action="append", choices=("in-place", "blue-green", "canary"))
    parser.add_argument("--only", choices=("kill", "signal"))
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    emulator = Emulator(tempfile.mkdtemp(prefix="kill-matrix-emulator-"))
    rows: list[Row] = []
    try:
        for strategy in args.strategy or ("in-place", "blue-green", "canary"):
            count = len(steps_of(_probe(emulator), strategy))
            for index in range(count):
                cases = []
                if args.only != "signal":
                    cases += [("kill -9", "deploy"), ("kill -9", "rollback")]
                if args.only != "kill":
                    cases.append((SIGNALS[index % len(SIGNALS)].name, "(its own rollback)"))
                for action, repair in cases:
                    row = run_case(emulator, strategy, index, action, repair)
                    rows.append(row)
                    print(f"{row.strategy:<10} {row.step:<36} {row.action:<8} {row.repair:<18} "
                          f"{str(row.exit_code):<5} {row.plan_after:<36} {row.result} ({row.seconds}s)", flush=True)
    finally:
        emulator.server.stop()
    failed = [r for r in rows if r.result != "ok"]
    print(f"\n{len(rows)} cases, {len(rows) - len(failed)} held, {len(failed)} failed")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 1 if failed else 0


def _probe(emulator: Emulator) -> Project:
    project = fresh_project(emulator)
    service.deploy(project.runner(), project.desired())
    project.write("processors", V2)
    return project


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
