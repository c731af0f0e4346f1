"""Known secret values are scrubbed from every message: errors, API error bodies echoed back,
tracebacks, log lines; the background emulator never inherits them."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sp_tasks import redaction
from sp_tasks.errors import AtlasApiError, DeployError

PASSWORD = "kafka-pw-9d2c4e"


def test_every_form_of_a_remembered_value_is_scrubbed():
    redaction.remember("p@ss w/rd\"1", "Bearer tok-123456", "short")
    text = 'raw p@ss w/rd"1, json "p@ss w/rd\\"1", url p%40ss%20w%2Frd%221 and p%40ss+w%2Frd%221, tok-123456'
    assert redaction.scrub(text) == "raw (secret), json \"(secret)\", url (secret) and (secret), (secret)"
    assert redaction.scrub("short stays: a 5-character value is hidden by place only") == \
        "short stays: a 5-character value is hidden by place only"
    assert redaction.scrub_data({"k": ["x p@ss w/rd\"1"], "p@ss w/rd\"1": 1}) == {"k": ["x (secret)"], "(secret)": 1}


def test_errors_scrub_their_text_and_api_errors_their_echoed_body():
    redaction.remember(PASSWORD)
    err = AtlasApiError(400, "INVALID_ATTRIBUTE", f"bad password {PASSWORD}", method="POST", path="/x",
                        reason=PASSWORD, parameters=[{"password": PASSWORD}])
    wrapped = DeployError(f"create failed unexpectedly (ValueError: {PASSWORD})")
    for text in (str(err), err.detail, err.reason, json.dumps(err.parameters), str(wrapped), repr(wrapped)):
        assert PASSWORD not in text
    assert "(secret)" in str(err) and "(secret)" in str(wrapped)


def test_settings_remember_credentials_and_credential_named_variables(tmp_path):
    from sp_tasks.settings import load_settings

    env = tmp_path / "environments" / "x"
    env.mkdir(parents=True)
    (env / "config.env").write_text("PROJECT_ID=0123456789abcdef01234567\nWORKSPACE_NAME=w\n"
                                    "SCHEMA_REGISTRY_PASSWORD=sr-pass-77aa\nCLUSTER_NAME=Cluster-Name-1\n")
    settings = load_settings("x", tmp_path, {"MONGODB_ATLAS_CLIENT_ID": "mdb_sa_id_1",
                                             "MONGODB_ATLAS_CLIENT_SECRET": "mdb_sa_sk_secret", "PWD": "/home/me"})
    settings.credentials()
    assert redaction.scrub("sr-pass-77aa mdb_sa_sk_secret mdb_sa_id_1 Cluster-Name-1 /home/me") == \
        "(secret) (secret) mdb_sa_id_1 Cluster-Name-1 /home/me"  # PWD is a directory, not a password


SCRIPT = """
import logging, threading, sys
from sp_tasks import redaction
redaction.remember(sys.argv[1])
logging.basicConfig(level=logging.INFO, format="%(message)s")
logging.getLogger("x").info("connecting with %s", sys.argv[1])
try:
    raise ValueError("inner " + sys.argv[1])
except ValueError:
    logging.getLogger("x").exception("failed")
t = threading.Thread(target=lambda: (_ for _ in ()).throw(RuntimeError("thread " + sys.argv[1])))
t.start(); t.join()
raise RuntimeError("a bug showing " + sys.argv[1])
"""


def test_tracebacks_and_log_lines_are_scrubbed(tmp_path):
    ran = subprocess.run([sys.executable, "-c", SCRIPT, PASSWORD], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1])
    assert ran.returncode == 1
    assert "a bug showing (secret)" in ran.stderr and "thread (secret)" in ran.stderr
    assert "connecting with (secret)" in ran.stderr and "inner (secret)" in ran.stderr
    assert PASSWORD not in ran.stderr + ran.stdout


def test_the_background_emulator_starts_with_a_scrubbed_environment(tmp_path, monkeypatch):
    from sp_tasks.emulator import daemon

    secrets = {"KAFKA_PASSWORD": PASSWORD, "MONGODB_ATLAS_PRIVATE_API_KEY": "pk-1234567",
               "MONGODB_ATLAS_CLIENT_SECRET": "cs-1234567", "AWS_SECRET_ACCESS_KEY": "aws-1234567",
               "SOMETHING_UNRELATED": "kept-out-too"}
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SP_EMULATOR_PRIVATE_KEY", "emulator-own-key")
    env = daemon.emulator_environment(dict(os.environ))
    assert not set(secrets) & set(env) and env["SP_EMULATOR_PRIVATE_KEY"] == "emulator-own-key"
    assert env["PATH"] == os.environ["PATH"]
    if not Path("/proc/self/environ").exists():
        pytest.skip("no /proc to read a process environment from")
    port = _free_port()
    started = daemon.start(tmp_path / "emu", port)
    try:
        environ = Path(f"/proc/{started.pid}/environ").read_bytes().split(b"\0")
        names = {item.split(b"=", 1)[0].decode() for item in environ if item}
        assert not set(secrets) & names and "SP_EMULATOR_PRIVATE_KEY" in names
        assert "listening on" in (tmp_path / "emu" / daemon.OUT_FILE).read_text()
        assert (tmp_path / "emu" / daemon.LOG_FILE).exists()  # its log, rotated by size
    finally:
        daemon.stop(tmp_path / "emu", port)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_logging_without_remembered_values_is_untouched(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("y").info("plain %s", "text")
    assert "plain text" in caplog.text
