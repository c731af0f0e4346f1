"""The seed guide's feature-branch step, `sp workspaces create "feature-$NAME"`, as sp runs it."""
from __future__ import annotations


def _names(sp) -> set[str]:
    return {w["name"] for w in sp("workspaces", "list", "--format", "json").json["workspaces"]}


def test_workspaces_create_feature_x_derives_the_environment_and_creates_its_workspace(project, sp):
    ran = sp("workspaces", "create", "feature-my-thing")
    assert ran.code == 0, ran.err
    assert "workspace feature-my-thing created" in ran.out and "sp --env my-thing" in ran.out
    assert _names(sp) == {"feature-my-thing"}
    assert (project.root / ".sp" / "environments" / "my-thing" / "config.env").is_file()
    again = sp("workspaces", "create", "feature-my-thing", "--format", "json")
    assert again.code == 0 and again.json["created"] is False and again.json["environment"] == "my-thing"
    # the seed's next steps, pointed at the feature environment
    created = sp("--env", "my-thing", "processors", "create", "--all", "--yes")
    assert created.code == 0, created.err
    listed = sp("--env", "my-thing", "processors", "list", "--format", "json").json["processors"]
    assert {p["name"] for p in listed} == {"hot", "per_group", "logger"}
    assert _names(sp) == {"feature-my-thing"}  # the base's workspace was never touched


def test_other_names_are_still_refused(project, sp):
    ran = sp("workspaces", "create", "prod-ws")
    assert ran.code == 1 and "feature-NAME" in ran.err
    assert _names(sp) == set()
