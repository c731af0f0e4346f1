"""Feature environment names (pure) and the derived files under .sp/environments/ (no Atlas)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sp_tasks.errors import ConfigError
from sp_tasks.feature import derive
from sp_tasks.feature.naming import MAX_WORKSPACE, environment_name, workspace_name
from sp_tasks.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("given", ["feature/my-thing", "refs/heads/feature/my-thing", "feature-my-thing",
                                   "my-thing"])
def test_a_name_that_fits_is_kept(given):
    assert environment_name(given) == "my-thing" and workspace_name("my-thing") == "feature-my-thing"


def test_a_name_that_had_to_change_gets_a_hash_so_branches_never_share_an_environment():
    names = {given: environment_name(given) for given in
             ("feature/My_Thing", "refs/heads/feature/My_Thing", "feature/my_thing", "feature/my-thing",
              "feature/JIRA-42: fix the $merge!")}
    assert names["feature/My_Thing"] == names["refs/heads/feature/My_Thing"]  # the same branch
    assert re.fullmatch(r"my-thing-[0-9a-f]{6}", names["feature/My_Thing"])
    assert len({names["feature/My_Thing"], names["feature/my_thing"], names["feature/my-thing"]}) == 3
    assert re.fullmatch(r"jira-42-fix-the-merge-[0-9a-f]{6}", names["feature/JIRA-42: fix the $merge!"])
    assert environment_name(names["feature/My_Thing"]) == names["feature/My_Thing"]  # stable when given back
    assert environment_name("feature/feature-x") != environment_name("feature/x")


def test_long_names_fit_the_workspace_limit_and_stay_distinct():
    first = environment_name("feature/" + "a" * 80 + "-one")
    second = environment_name("feature/" + "a" * 80 + "-two")
    assert first != second
    assert len(workspace_name(first)) <= MAX_WORKSPACE and len(workspace_name(second)) <= MAX_WORKSPACE


@pytest.mark.parametrize("given", ["feature/", "feature/___", "  ", "refs/heads/feature/**"])
def test_a_name_without_letters_or_digits_is_refused(given):
    with pytest.raises(ConfigError, match="no usable feature environment name"):
        environment_name(given)


def _base(tmp_path: Path, config: str) -> Path:
    env = tmp_path / "environments" / "base"
    env.mkdir(parents=True)
    (env / "config.env").write_text(config)
    (env / "thresholds.json").write_text('{"memory_mb": 512}')
    return tmp_path


BASE = ("ATLAS_BASE_URL=https://cloud.mongodb.com\nPROJECT_ID=${MONGODB_ATLAS_PROJECT_ID}\n"
        "WORKSPACE_NAME=sp-base\nDEFAULT_TIER=SP30\nALLOW_CREATE_WORKSPACE=false\nCLUSTER_NAME=base-cluster\n")
ENVIRON = {"MONGODB_ATLAS_PROJECT_ID": "0123456789abcdef01234567"}


def test_derived_environment_keeps_the_base_project_and_variables_with_its_own_workspace(tmp_path):
    root = _base(tmp_path, BASE)
    env = derive.derive(root, "feature/my-thing", base="base", environ=ENVIRON)
    assert (env.name, env.workspace, env.base) == ("my-thing", "feature-my-thing", "base")
    settings = load_settings("my-thing", root, ENVIRON)
    base = load_settings("base", root, ENVIRON)
    assert settings.project_id == base.project_id and settings.lookup("CLUSTER_NAME") == "base-cluster"
    assert settings.workspace == "feature-my-thing" and settings.create_workspace
    assert settings.default_tier == "SP30"  # the base's tier
    assert settings.thresholds == {"memory_mb": 512}
    assert settings.config_file == ".sp/environments/my-thing/config.env"


def test_tier_is_the_given_one_else_the_base_one_else_sp2(tmp_path):
    root = _base(tmp_path, BASE.replace("DEFAULT_TIER=SP30\n", ""))
    derive.derive(root, "cheap", base="base", environ=ENVIRON)
    assert load_settings("cheap", root, ENVIRON).default_tier == "SP2"
    derive.derive(root, "big", base="base", tier="SP50", environ=ENVIRON)
    assert load_settings("big", root, ENVIRON).default_tier == "SP50"
    with pytest.raises(ConfigError, match="--tier"):
        derive.derive(root, "odd", base="base", tier="SP7", environ=ENVIRON)


def test_deriving_again_gives_the_same_files(tmp_path):
    root = _base(tmp_path, BASE)
    env = derive.derive(root, "demo", base="base", environ=ENVIRON)
    first = (root / env.directory / "config.env").read_bytes()
    derive.derive(root, "feature/demo", base="base", environ=ENVIRON)
    assert (root / env.directory / "config.env").read_bytes() == first
    assert derive.existing(root, "demo") == env


def test_a_committed_environment_name_is_never_shadowed(tmp_path):
    root = _base(tmp_path, BASE)
    with pytest.raises(ConfigError, match="committed environment"):
        derive.derive(root, "feature/base", base="base", environ=ENVIRON)
    assert not (root / ".sp").exists()


def test_a_feature_environment_cannot_be_a_base(tmp_path):
    root = _base(tmp_path, BASE)
    derive.derive(root, "demo", base="base", environ=ENVIRON)
    with pytest.raises(ConfigError, match="committed environment under environments/"):
        derive.derive(root, "other", base="demo", environ=ENVIRON)


def test_an_unusable_base_is_reported_before_anything_is_written(tmp_path):
    root = _base(tmp_path, BASE)
    with pytest.raises(ConfigError, match="MONGODB_ATLAS_PROJECT_ID"):
        derive.derive(root, "demo", base="base", environ={})
    assert not (root / ".sp").exists()


def test_a_derived_environment_leaves_the_git_tree_clean(tmp_path):
    """CI derives environments in its checkout: nothing it writes may show up in `git status`."""
    root = _base(tmp_path, BASE)
    shutil.copy(REPO / ".gitignore", root / ".gitignore")
    git = lambda *a: subprocess.run(["git", "-C", str(root), *a], check=True, capture_output=True,  # noqa: E731
                                    text=True).stdout
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    derive.derive(root, "feature/demo", base="base", environ=ENVIRON)
    assert git("status", "--porcelain", "--untracked-files=all") == ""
