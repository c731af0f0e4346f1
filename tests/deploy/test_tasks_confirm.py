"""Declining the prompt exits 1, as Terraform does, and sends nothing; hints name real places."""
import io

import pytest

import tasks
from deploy_project import FILTER, exit_of


class Answer(io.StringIO):
    def isatty(self):
        return True


def test_answering_no_exits_1_and_sends_nothing(task_ctx, project, monkeypatch, capsys):
    tasks.deploy(task_ctx, yes=True)
    source, _, sink = FILTER["pipeline"]
    project.write("processors", {**FILTER, "pipeline": [source, {"$match": {"x": 1}}, sink]})
    project.emulator.admin("DELETE", "requests")
    monkeypatch.setattr("sys.stdin", Answer("n\n"))
    code, message = exit_of(lambda: tasks.deploy(task_ctx))
    assert code == 1 and message == "error: cancelled: nothing was sent"
    assert "Apply to test (ws-test)? [y/N]" in capsys.readouterr().err
    assert project.emulator.writes_served() == 0


def test_a_missing_snapshot_names_the_folder_to_look_in(tmp_path):
    from sp_tasks.deploy.snapshots import load_snapshot
    from sp_tasks.errors import DataFileError

    with pytest.raises(DataFileError) as info:
        load_snapshot(tmp_path / "gone.json")
    assert f"`ls {tmp_path}`" in str(info.value) and "<env>" not in str(info.value)
