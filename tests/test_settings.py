"""Environment settings: config.env dialect, required keys, thresholds, credentials precedence."""
from __future__ import annotations

from pathlib import Path

import pytest

from sp_tasks.errors import ConfigError
from sp_tasks.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
PID = "0123456789abcdef01234567"
MINIMAL = f"PROJECT_ID={PID}\nWORKSPACE_NAME=ws\n"


def project(tmp_path: Path, config: str = MINIMAL, thresholds: str | None = None, env: str = "dev") -> Path:
    folder = tmp_path / "environments" / env
    folder.mkdir(parents=True)
    (folder / "config.env").write_text(config)
    if thresholds is not None:
        (folder / "thresholds.json").write_text(thresholds)
    return tmp_path


def test_committed_local_environment_targets_the_emulator_with_no_variables_needed():
    settings = load_settings("local", REPO, environ={})
    assert settings.is_emulator and settings.create_workspace
    assert len(settings.project_id) == 24 and settings.default_tier in ("SP2", "SP5", "SP10", "SP30", "SP50", "auto")
    assert settings.thresholds["memory_mb"] > 0 and "processors" in settings.thresholds


@pytest.mark.parametrize("env", ["staging", "production"])
def test_committed_remote_environments_take_everything_from_the_environment(env):
    environ = {"MONGODB_ATLAS_PROJECT_ID": PID, "KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_USERNAME": "u"}
    settings = load_settings(env, REPO, environ=environ)
    assert settings.base_url == "https://cloud.mongodb.com" and not settings.create_workspace
    assert settings.project_id == PID
    with pytest.raises(ConfigError) as info:
        load_settings(env, REPO, environ={})
    assert all(v in str(info.value) for v in ("MONGODB_ATLAS_PROJECT_ID", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_USERNAME"))


def test_defaults(tmp_path):
    settings = load_settings("dev", project(tmp_path), environ={})
    assert (settings.base_url, settings.default_tier, settings.emulator_port) == ("https://cloud.mongodb.com", "SP10", 27999)
    assert settings.emulator_data_dir == Path(".sp/emulator") and settings.create_workspace is False
    assert (settings.cloud_provider, settings.region, settings.thresholds) == ("AWS", "VIRGINIA_USA", {})


def test_config_env_dialect(tmp_path):
    config = MINIMAL + """
# a comment
export A=1
B="x $A \\$A \\"q\\"" # trailing comment
C='literal $A'
D=${UNSET:-fallback}/${HOME}
E=$A$A   # comment
"""
    settings = load_settings("dev", project(tmp_path, config), environ={"HOME": "/h", "A": "env"})
    assert {k: settings.variables[k] for k in "ABCDE"} == {
        "A": "1", "B": 'x 1 $A "q"', "C": "literal $A", "D": "fallback//h", "E": "11"}


def test_lookup_prefers_config_env_then_process_environment(tmp_path):
    settings = load_settings("dev", project(tmp_path, MINIMAL + "X=file\n"), environ={"X": "env", "Y": "env"})
    assert (settings.lookup("X"), settings.lookup("Y"), settings.lookup("Z")) == ("file", "env", None)


def test_project_id_may_come_from_the_atlas_cli_variable(tmp_path):
    root = project(tmp_path, "WORKSPACE_NAME=ws\n")
    assert load_settings("dev", root, environ={"MONGODB_ATLAS_PROJECT_ID": PID}).project_id == PID


def test_every_problem_is_listed_in_one_error(tmp_path):
    config = "PROJECT_ID=${MISSING_ID}\nDEFAULT_TIER=SP3\nATLAS_BASE_URL=ftp://x\nEMULATOR_PORT=http\nnonsense\n" \
             "ALLOW_CREATE_WORKSPACE=maybe\n"
    with pytest.raises(ConfigError) as info:
        load_settings("dev", project(tmp_path, config, thresholds='{"memory_mb": "lots"}'), environ={})
    message = str(info.value)
    for needle in ("MISSING_ID", "WORKSPACE_NAME is missing", "DEFAULT_TIER 'SP3'", "ATLAS_BASE_URL", "EMULATOR_PORT",
                   "line 5", "ALLOW_CREATE_WORKSPACE", "memory_mb must be a number"):
        assert needle in message


def test_missing_environment_names_the_ones_that_exist(tmp_path):
    root = project(tmp_path)
    with pytest.raises(ConfigError, match=r"environment 'prod' not found.*available: dev"):
        load_settings("prod", root, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings("../dev", root, environ={})


def test_thresholds_global_and_per_processor(tmp_path):
    thresholds = '{"memory_mb": 512, "latency_p99_ms": 2000, "processors": {"p1": {"latency_p99_ms": 9000}}}'
    settings = load_settings("dev", project(tmp_path, thresholds=thresholds), environ={})
    assert settings.threshold("latency_p99_ms", "p1") == 9000
    assert settings.threshold("latency_p99_ms", "p2") == 2000
    assert settings.threshold("memory_mb", "p1") == 512
    assert settings.threshold("throughput_min", "p1", default=1) == 1


def test_malformed_thresholds_are_reported_with_line_and_column(tmp_path):
    with pytest.raises(ConfigError, match=r"thresholds.json:2:1: malformed JSON"):
        load_settings("dev", project(tmp_path, thresholds='{"a": 1,\n}'), environ={})


CREDENTIALS = {
    "MONGODB_ATLAS_CLIENT_ID": "sa-id", "MONGODB_ATLAS_CLIENT_SECRET": "sa-secret",
    "MONGODB_ATLAS_PUBLIC_API_KEY": "pub", "MONGODB_ATLAS_PRIVATE_API_KEY": "priv",
    "ATLAS_PUBLIC_KEY": "seed-pub", "ATLAS_PRIVATE_KEY": "seed-priv",
}


@pytest.mark.parametrize("drop, expected", [
    ((), ("service_account", "sa-id", "sa-secret")),
    (("MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET"), ("api_key", "pub", "priv")),
    (("MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET", "MONGODB_ATLAS_PUBLIC_API_KEY",
      "MONGODB_ATLAS_PRIVATE_API_KEY"), ("api_key", "seed-pub", "seed-priv")),
])
def test_credentials_precedence(tmp_path, drop, expected):
    environ = {k: v for k, v in CREDENTIALS.items() if k not in drop}
    creds = load_settings("dev", project(tmp_path), environ=environ).credentials()
    assert (creds.kind, creds.user, creds.secret) == expected


def test_credentials_never_show_the_secret(tmp_path):
    settings = load_settings("dev", project(tmp_path, MINIMAL + "TOKEN=hunter2\n"), environ=CREDENTIALS)
    creds = settings.credentials()
    assert "sa-secret" not in repr(creds) and "sa-secret" not in str(creds)
    assert "sa-secret" not in repr(settings) and "hunter2" not in repr(settings)


def test_half_a_credential_pair_or_none_is_a_clear_error(tmp_path):
    root = project(tmp_path)
    with pytest.raises(ConfigError, match="MONGODB_ATLAS_CLIENT_SECRET is not"):
        load_settings("dev", root, environ={"MONGODB_ATLAS_CLIENT_ID": "x"}).credentials()
    with pytest.raises(ConfigError, match="no Atlas credentials"):
        load_settings("dev", root, environ={}).credentials()


def test_a_complete_pair_wins_over_a_half_pair_earlier_in_the_order(tmp_path):
    environ = {"MONGODB_ATLAS_CLIENT_ID": "org-wide-id", "ATLAS_PUBLIC_KEY": "pub", "ATLAS_PRIVATE_KEY": "priv"}
    creds = load_settings("dev", project(tmp_path), environ=environ).credentials()
    assert (creds.kind, creds.user) == ("api_key", "pub")


def test_emulator_uses_its_own_key_pair_never_atlas_credentials(tmp_path):
    root = project(tmp_path, MINIMAL + "ATLAS_BASE_URL=emulator\n")
    creds = load_settings("dev", root, environ=CREDENTIALS).credentials()
    assert (creds.kind, creds.user, creds.secret) == ("api_key", "local", "local")
    environ = {"SP_EMULATOR_PUBLIC_KEY": "me", "SP_EMULATOR_PRIVATE_KEY": "pw"}
    assert load_settings("dev", root, environ=environ).credentials().user == "me"
    assert load_settings("dev", root, environ={}).create_workspace is True


def test_github_actions_flag_is_captured(tmp_path):
    root = project(tmp_path)
    assert load_settings("dev", root, environ={"GITHUB_ACTIONS": "true"}).github_actions
    assert not load_settings("dev", root, environ={}).github_actions
