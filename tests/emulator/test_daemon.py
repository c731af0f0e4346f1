"""The background emulator: start (or reuse), status, stop, with pid and log files."""
import socket

from sp_tasks.emulator import daemon
from sp_tasks.emulator.db import DB_FILE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_start_reuse_status_and_stop(tmp_path):
    port = _free_port()
    assert not daemon.status(tmp_path, port).running
    started = daemon.start(tmp_path, port)
    try:
        assert started.running and started.started_now and started.pid
        assert (tmp_path / daemon.PID_FILE).exists() and (tmp_path / daemon.LOG_FILE).exists()
        again = daemon.start(tmp_path, port)
        assert again.running and not again.started_now and again.pid == started.pid
        assert daemon.status(tmp_path, port).data_dir.endswith(DB_FILE)
    finally:
        assert daemon.stop(tmp_path, port)
    assert not daemon.status(tmp_path, port).running
    assert not (tmp_path / daemon.PID_FILE).exists()
    assert daemon.stop(tmp_path, port) is False


def test_an_emulator_running_other_code_is_restarted_with_its_state(tmp_path, monkeypatch):
    port = _free_port()
    first = daemon.start(tmp_path, port)
    try:
        monkeypatch.setattr(daemon, "code_fingerprint", lambda: "edited-since")
        second = daemon.start(tmp_path, port)
        assert second.started_now and second.pid != first.pid
    finally:
        daemon.stop(tmp_path, port)


def test_a_second_emulator_on_the_same_data_directory_is_refused(tmp_path):
    import pytest

    from sp_tasks.errors import ConfigError

    port, other = _free_port(), _free_port()
    daemon.start(tmp_path, port)
    try:
        with pytest.raises(ConfigError, match="already used by the emulator"):
            daemon.start(tmp_path, other)
    finally:
        daemon.stop(tmp_path, port)


def test_an_emulator_of_another_data_directory_on_our_port_is_left_alone(tmp_path):
    import pytest

    from sp_tasks.errors import ConfigError

    port = _free_port()
    theirs = daemon.start(tmp_path / "theirs", port)
    try:
        with pytest.raises(ConfigError, match="set EMULATOR_PORT"):
            daemon.start(tmp_path / "ours", port)
        assert daemon.status(tmp_path / "theirs", port).pid == theirs.pid
    finally:
        daemon.stop(tmp_path / "theirs", port)


def test_a_task_that_starts_the_emulator_says_so_and_where(tmp_path):
    import io

    from sp_tasks import console
    from sp_tasks.atlas.connect import base_url
    from sp_tasks.settings import load_settings

    port = _free_port()
    env = tmp_path / "environments" / "dev"
    env.mkdir(parents=True)
    (env / "config.env").write_text(f"ATLAS_BASE_URL=emulator\nPROJECT_ID=0123456789abcdef01234567\n"
                                    f"WORKSPACE_NAME=w\nEMULATOR_PORT={port}\nEMULATOR_DATA_DIR=emu\n")
    settings = load_settings("dev", tmp_path, environ={})
    said = io.StringIO()
    try:
        for _ in range(2):  # started, then reused (and then nothing is said)
            console.run(console.Console(stderr=said), lambda: base_url(settings) and None)
    finally:
        daemon.stop(tmp_path / "emu", port)
    lines = said.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"  emulator started at http://127.0.0.1:{port} (pid ")
    assert f"{tmp_path / 'emu'}" in lines[0] and "`invoke emulator.stop -e dev` stops it" in lines[0]


def test_the_foreground_emulator_on_a_busy_port_says_what_to_do(tmp_path):
    import subprocess
    import sys

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        ran = subprocess.run([sys.executable, "-m", "sp_tasks.emulator", "--port", str(port), "--data-dir",
                              str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in ran.stderr and "--port 0 for any free one" in ran.stderr
    assert not (tmp_path / DB_FILE).exists()  # refused before opening (and resuming) any state
