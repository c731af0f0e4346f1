"""Managing a background emulator process: start (or reuse), stop and status, with pid and log files.

Used by ``invoke emulator.start|stop|status`` and by every task whose environment says
``ATLAS_BASE_URL=emulator``. The process is ``python -m sp_tasks.emulator`` detached into its own
session, logging to ``<data-dir>/emulator.log`` (rotated at 5 MB, one old file kept) and its output to
``<data-dir>/emulator.out``; ``<data-dir>/emulator.pid`` records pid and URL.
A running emulator is recognised by its ``/_emulator/health`` answer, so a second start reuses it.
It starts with a scrubbed environment (:func:`emulator_environment`): it outlives the command that
started it and needs none of the caller's credentials or connection passwords.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from sp_tasks.emulator.db import DB_FILE
from sp_tasks.errors import ConfigError

PID_FILE = "emulator.pid"
LOG_FILE = "emulator.log"  # the emulator's log, rotated by size (python -m sp_tasks.emulator --log-file)
OUT_FILE = "emulator.out"  # its stdout/stderr: the start line, or why it could not start
START_TIMEOUT = 20.0
# What the emulator process may inherit: how to run Python and find sp_tasks, its locale and
# temporary directory, and its own key pair. Everything else (Atlas keys, KAFKA_PASSWORD…) stays out.
KEPT_VARIABLES = frozenset({"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT",
                            "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONUTF8", "PYTHONDONTWRITEBYTECODE",
                            "SP_EMULATOR_PUBLIC_KEY", "SP_EMULATOR_PRIVATE_KEY"})


@dataclass(frozen=True)
class EmulatorStatus:
    running: bool
    url: str
    pid: int | None = None
    data_dir: str | None = None  # as reported by the running process
    started_now: bool = False

    def describe(self) -> str:
        if not self.running:
            return f"emulator not running ({self.url})"
        how = "started" if self.started_now else "running"
        return f"emulator {how} at {self.url} (pid {self.pid}, data {self.data_dir})"


def url_for(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}"


def status(data_dir: str | Path, port: int) -> EmulatorStatus:
    url = url_for(port)
    health = _health(url)
    if health is None:
        return EmulatorStatus(False, url)
    return EmulatorStatus(True, url, health.get("pid"), health.get("data"))


def start(data_dir: str | Path, port: int, *, sample_rate: float | None = None) -> EmulatorStatus:
    """Start a background emulator unless one already answers on ``port``.

    A running one started from other code (sp-tasks was upgraded or edited since) is restarted,
    so nobody debugs yesterday's emulator; its state survives the restart."""
    current = status(data_dir, port)
    if current.running and current.data_dir != str(Path(data_dir).resolve() / DB_FILE):
        raise ConfigError(f"port {port} is taken by an emulator serving {current.data_dir}; "
                          f"set EMULATOR_PORT to another port for this project")
    if current.running and (_health(current.url) or {}).get("code") == code_fingerprint():
        return current
    if current.running:
        stop(data_dir, port)
    if _port_taken(port):
        raise ConfigError(f"port {port} (EMULATOR_PORT) is taken by another program, not an sp-tasks emulator: "
                          f"stop that program, or use a free port, e.g. `export EMULATOR_PORT={free_port()}` "
                          "(or set EMULATOR_PORT in the environment's config.env)")
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    _refuse_second_owner(data, url_for(port))
    cmd = [sys.executable, "-m", "sp_tasks.emulator", "--port", str(port), "--data-dir", str(data),
           "--log-file", str(data / LOG_FILE)]
    if sample_rate is not None:
        cmd += ["--sample-rate", str(sample_rate)]
    with open(data / OUT_FILE, "wb") as out:  # a new one per start: the log file is the history
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=emulator_environment(os.environ))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"the emulator exited at start (code {proc.returncode}); "
                              f"see {data / OUT_FILE}:\n{_tail(data / OUT_FILE)}")
        health = _health(url_for(port))
        if health is not None:
            (data / PID_FILE).write_text(json.dumps({"pid": proc.pid, "url": url_for(port)}))
            return EmulatorStatus(True, url_for(port), proc.pid, health.get("data"), started_now=True)
        time.sleep(0.1)
    proc.terminate()
    raise ConfigError(f"the emulator did not answer on {url_for(port)} within {START_TIMEOUT:.0f}s; "
                      f"is the port taken? see {data / OUT_FILE} and {data / LOG_FILE}")


def stop(data_dir: str | Path, port: int, timeout: float = 10.0) -> bool:
    """Stop the emulator answering on ``port``; True if one was stopped."""
    current = status(data_dir, port)
    pid_file = Path(data_dir) / PID_FILE
    pid = current.pid
    if pid is None and pid_file.exists():
        pid = json.loads(pid_file.read_text()).get("pid")
    if not current.running or pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


def emulator_environment(environ) -> dict[str, str]:
    """The variables a background emulator starts with: :data:`KEPT_VARIABLES` and the locale."""
    return {k: v for k, v in environ.items() if k in KEPT_VARIABLES or k.startswith("LC_")}


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Identity of the sp_tasks code on disk (paths, sizes, mtimes): changes whenever it is edited."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha1()
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def _refuse_second_owner(data: Path, url: str) -> None:
    """Two emulators on one data directory would corrupt each other's counters and checkpoints."""
    pid_file = data / PID_FILE
    if not pid_file.exists():
        return
    owner = json.loads(pid_file.read_text() or "{}")
    if owner.get("url") != url and owner.get("pid") and _alive(owner["pid"]) and _health(owner["url"]):
        raise ConfigError(f"{data} is already used by the emulator at {owner['url']} (pid {owner['pid']}); "
                          f"use that port (EMULATOR_PORT) or another EMULATOR_DATA_DIR")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (to suggest one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts connections on ``port`` (checked after it gave no emulator health answer)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def _health(url: str) -> dict | None:
    try:
        resp = requests.get(url + "/_emulator/health", timeout=1.0)
        return resp.json() if resp.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still "exists"; reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
