"""A failed command says how it ended exactly once: one ``error:`` line, last, and nothing before it
repeating it (a deploy's summary used to end with the same sentence the error line then said
again). Run through the real front doors (invoke's Program, sp's main) against the emulator, with
the failure injected there."""
from __future__ import annotations

import json

import pytest
from invoke import Program

import tasks
from sp_tasks.cli import main


@pytest.fixture
def run(project, monkeypatch, capsys):
    """``run("deploy", "-e", "test", "-y")`` or ``run("sp", "processors", …)`` → (code, out, err)."""
    monkeypatch.setattr(tasks, "ROOT", project.root)
    monkeypatch.setenv("NO_COLOR", "1")
    for key, value in project.environ.items():
        monkeypatch.setenv(key, value)

    def call(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        if argv[0] == "sp":
            code = main(["--env", "test", "--root", str(project.root), "--format", "text", *argv[1:]])
        else:
            try:
                Program(namespace=tasks.ns).run(["invoke", *argv])
                code = 0
            except SystemExit as stop:
                code = stop.code
        printed = capsys.readouterr()
        return code, printed.out, printed.err

    return call


def said_once(out: str, err: str) -> str:
    """The one error line (the last line but a note or two); its sentence appears nowhere else."""
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    final = errors[0]
    assert final in err.splitlines()[-3:], err  # last, but for a note or two saying the fix
    tail = final[-60:]  # the sentence's end: the summary and the error line used to share it
    assert (out + err).count(tail) == 1, out + err
    return final


@pytest.mark.parametrize("argv", [("deploy", "-e", "test", "-y"),
                                  ("sp", "processors", "create", "-p", "hot", "--yes")],
                         ids=["invoke-deploy", "sp-processors-create"])
def test_a_failed_deploy_ends_with_one_final_line(run, project, argv):
    project.emulator.faults({"processor": "hot", "fail_on_start": True})
    code, out, err = run(*argv)
    final = said_once(out, err)
    assert code == 1 and "Rollback:" in out + err  # what it did is still shown, above the final line
    assert final.startswith("error: test / ws-test: deploy failed (") and "rolled back" in final, final


def test_a_failed_env_create_ends_with_one_final_line(run, project):
    project.emulator.faults({"processor": "hot", "fail_on_start": True})
    code, out, err = run("env.create", "feature/x", "--from", "test")
    final = said_once(out, err)
    assert code == 1 and final.startswith("error: x / feature-x: deploy failed ("), final


def test_a_failed_rollback_ends_with_one_final_line(run, project):
    assert run("deploy", "-e", "test", "-y")[0] == 0
    first = sorted((project.root / ".sp" / "snapshots" / "test").glob("*.json"))[0]  # before the deploy: empty
    project.emulator.faults({"method": "DELETE", "path": "/processor/", "status": 400,
                             "body": {"detail": "refused", "errorCode": "INVALID_ATTRIBUTE"}})
    code, out, err = run("rollback", "-e", "test", "-y", "--snapshot", str(first))
    final = said_once(out, err)
    assert code == 1 and "did not complete" in final, final


def test_a_failed_env_destroy_under_format_json_is_one_json_document(run, project):
    assert run("env.create", "feature/x", "--from", "test")[0] == 0
    project.emulator.faults({"method": "DELETE", "path": "/processor/", "status": 400,
                             "body": {"detail": "refused", "errorCode": "INVALID_ATTRIBUTE"}})
    code, out, err = run("env.destroy", "feature/x", "-y", "-f", "json")
    doc = json.loads(out)  # one document: the teardown's steps inside the error, not a second one before it
    assert code == 1 and doc["ok"] is False and "destroy stopped" in doc["error"]["message"]
    assert doc["environment"] == "x" and any(s["status"] == "failed" for s in doc["steps"]), doc
    code, out, err = run("env.destroy", "feature/x", "-y")
    said_once(out, err)


def test_a_refused_confirmation_names_the_command_as_it_is_typed(run):
    assert run("env.create", "feature/x", "--from", "test")[0] == 0
    code, out, err = run("env.destroy", "feature/x")
    assert code == 1 and "error: invoke env.destroy needs confirmation" in err, err  # not "env-destroy"
