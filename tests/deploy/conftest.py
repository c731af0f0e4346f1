"""Fixture: a throwaway sp-tasks project wired to the test emulator."""
import pytest

from deploy_project import Project


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    return Project(tmp_path, emulator)
