"""Fixtures: a throwaway sp-tasks project wired to the test emulator, and an invoke Context for it."""
import pytest
from invoke import Config, Context

from deploy_project import Project


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    return Project(tmp_path, emulator)


@pytest.fixture
def task_ctx(project, monkeypatch):
    """tasks.py pointed at ``project`` (environment "test"), as `invoke … -e test` would run there."""
    import tasks

    monkeypatch.setattr(tasks, "ROOT", project.root)
    for key, value in project.environ.items():
        monkeypatch.setenv(key, value)
    return Context(Config(overrides={"sp": {"env": "test"}}))
