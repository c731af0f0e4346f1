"""invoke env.create / env.destroy against the emulator: what they create, and that destroy removes
exactly that — the emulator's stored state afterwards equals the state before create."""
from __future__ import annotations

import json

import tasks
from sp_tasks.atlas.connect import open_client
from sp_tasks.settings import load_settings
from sp_tasks.emulator.documents import TABLES as DOCUMENT_TABLES
from test_tasks_deploy import _exit_code, ctx  # noqa: F401  (tests/deploy: the invoke context fixture)

FEATURE = "feature/demo-change"


def emulator_state(emulator) -> dict[str, list]:
    """Every stored table, rows in a stable order, without autoincrement counters.

    Sink documents (the document-store tables) are left out: they are data in the clusters a
    feature environment shares with its base (docs/feature-environments.md), not resources of
    its workspace; Atlas keeps them too."""
    db = emulator.backend.db
    tables = [r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    state = {}
    for table in sorted(set(tables) - set(DOCUMENT_TABLES) - {"sqlite_sequence"}):
        rows = [{k: row[k] for k in row.keys() if k != "seq"} for row in db.query(f"SELECT * FROM {table}")]
        state[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return state


def _workspaces(project) -> set[str]:
    return {w["name"] for w in project.runner().client.list_workspaces()}


def test_create_then_destroy_leaves_the_emulator_exactly_as_before(ctx, project, sp, capsys):
    assert sp("processors", "create", "--all", "--yes").code == 0  # the base runs its own processors
    assert sp("processors", "stop", "--all").code == 0  # stopped: its counters stand still
    before = emulator_state(project.emulator)
    assert _workspaces(project) == {"ws-test"}

    tasks.env_create(ctx, FEATURE, from_="test", yes=True, format="json")
    created = json.loads(capsys.readouterr().out)
    assert created["workspace"] == "feature-demo-change" and created["applied"]["ok"]
    assert _workspaces(project) == {"ws-test", "feature-demo-change"}
    with open_client(load_settings("demo-change", project.root)) as client:
        assert {p["name"]: p["state"] for p in client.list_processors()} == {
            "hot": "STARTED", "per_group": "STARTED", "logger": "STARTED"}

    tasks.env_destroy(ctx, FEATURE, yes=True, format="json")
    destroyed = json.loads(capsys.readouterr().out)
    assert destroyed["complete"] and sorted(destroyed["processors"]) == ["hot", "logger", "per_group"]
    assert emulator_state(project.emulator) == before
    assert not (project.root / ".sp" / "environments" / "demo-change").exists()


def test_create_is_idempotent_and_deploys_changes_on_the_next_push(ctx, project, capsys):
    tasks.env_create(ctx, "demo")  # no --yes, not a terminal: it only touches its own workspace; --from = --env
    assert _workspaces(project) == {"feature-demo"}
    capsys.readouterr()
    tasks.env_create(ctx, "demo", from_="test", yes=True, format="json")
    assert json.loads(capsys.readouterr().out)["message"] == "no changes: live state matches Git"
    project.remove("processors", "logger")
    tasks.env_create(ctx, "demo", from_="test", yes=True, format="json")
    again = json.loads(capsys.readouterr().out)
    assert again["applied"]["ok"] and again["summary"]["delete"] == 1  # the branch owns the workspace: pruned


def test_destroy_from_a_fresh_checkout_derives_the_environment_again(ctx, project, capsys):
    """CI's delete-branch job has no .sp/: destroy derives the same environment from --from."""
    tasks.env_create(ctx, FEATURE, from_="test", yes=True)
    import shutil

    shutil.rmtree(project.root / ".sp" / "environments")
    tasks.env_destroy(ctx, FEATURE, from_="test", yes=True)
    assert "verified gone" in capsys.readouterr().out
    assert _workspaces(project) == set()


def test_destroy_of_a_missing_workspace_is_done(ctx, project, capsys):
    tasks.env_destroy(ctx, "never-created", from_="test", yes=True)
    assert "nothing to destroy" in capsys.readouterr().out


def test_destroy_refuses_a_derived_file_that_points_at_another_workspace(ctx, project, sp):
    assert sp("processors", "create", "-p", "hot", "--yes").code == 0
    tasks.env_create(ctx, "demo", from_="test", yes=True)
    config = project.root / ".sp" / "environments" / "demo" / "config.env"
    config.write_text(config.read_text() + "WORKSPACE_NAME=ws-test\n")  # hand-edited to the base's workspace
    project.emulator.admin("DELETE", "requests")
    assert _exit_code(lambda: tasks.env_destroy(ctx, "demo", yes=True)) == 1
    assert project.emulator.writes_served() == 0
    assert "hot" in project.live_processors()


def test_destroy_needs_confirmation_when_not_interactive(ctx, project):
    tasks.env_create(ctx, "demo", from_="test", yes=True)
    project.emulator.admin("DELETE", "requests")
    assert _exit_code(lambda: tasks.env_destroy(ctx, "demo")) == 1
    assert project.emulator.writes_served() == 0


def test_an_interrupted_destroy_is_finished_by_running_it_again(ctx, project, capsys):
    tasks.env_create(ctx, "demo", from_="test", yes=True)
    project.emulator.faults({"method": "DELETE", "path": "/connections/", "status": 400, "count": 1})
    assert _exit_code(lambda: tasks.env_destroy(ctx, "demo", yes=True)) == 1
    assert "feature-demo" in _workspaces(project)  # stopped before the workspace
    tasks.env_destroy(ctx, "demo", yes=True)
    assert "verified gone" in capsys.readouterr().out
    assert "feature-demo" not in _workspaces(project)
