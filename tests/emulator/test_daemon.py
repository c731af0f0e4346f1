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
