"""A deployer in a child process (tests/adversarial/child_task.py) that a test can signal or kill.

The child prints its progress on stderr; ``run_child`` hands every line to ``on_line`` as it comes,
so a test acts at a step boundary it can name ("start processor: hot__green"), not after a sleep.
An emulator delay fault on the request that follows the line holds the child inside that step
while the signal arrives.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from polling import wait_for

CHILD = Path(__file__).resolve().parents[1] / "adversarial" / "child_task.py"


@dataclass
class Run:
    code: int
    lines: list[str]  # stderr: progress and the final line
    out: str

    @property
    def last_line(self) -> str:
        return next((line for line in reversed(self.lines) if line.strip()), "")

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)


def run_child(project, task: str, *args: str, on_line: Callable[[str, subprocess.Popen], None] = lambda *_: None,
              timeout: float = 120.0) -> Run:
    env = {**os.environ, **project.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(project.root), task, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)
    reader.start()
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            on_line(line, proc)
        code = proc.wait()
    finally:
        watchdog.cancel()
    reader.join(timeout=5)
    return Run(code, lines, "".join(out))


def at(project, *steps: tuple[str, str | None, int]) -> Callable[[str, subprocess.Popen], None]:
    """Send each signal once, in order: when a line containing its marker appears and — when a held
    request is named (the path of a one-shot delay fault) — once the emulator is holding that request,
    so the child is inside the step, not just before it: at(project, ("marker", "/path$", SIGTERM), …)."""
    pending = list(steps)

    def held(path: str) -> bool:
        return not any(rule["path"] == path for rule in project.emulator.admin("GET", "faults")["rules"])

    def on_line(line: str, proc: subprocess.Popen) -> None:
        if pending and pending[0][0] in line:
            _, path, sig = pending.pop(0)
            if path:
                wait_for(lambda: held(path), timeout=30)
            proc.send_signal(sig)

    return on_line


KILL = signal.SIGKILL
