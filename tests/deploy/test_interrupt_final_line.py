"""Ctrl-C in the middle of a real deploy (a separate process, a real SIGINT): the deploy is rolled
back and the last line says so; exit 130. Never a traceback, never silence."""
import os
import signal
import subprocess
import sys
from pathlib import Path

from deploy_project import Project

REPO = Path(__file__).resolve().parents[2]
RUN = ("import sys; from pathlib import Path; import tasks; tasks.ROOT = Path(sys.argv[1]); "
       "from invoke import Program; Program(namespace=tasks.ns).run(['invoke', 'deploy', '-e', 'test', '-y'])")


def test_an_interrupted_deploy_ends_with_a_final_line_saying_what_was_done(project: Project):
    env = {**os.environ, **project.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    # Every start answers after 2 s, so the signal surely lands while the deploy is applying.
    project.emulator.faults({"method": "POST", "path": ":start", "delay_ms": 2000})
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(project.root)], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []
    for line in proc.stderr:  # wait until it is applying
        seen.append(line)
        if "start processor:" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    proc.wait(timeout=120)
    err = "".join(seen) + rest
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "interrupted by SIGINT" in last and "rolled back" in last, last
    project.emulator.faults()
    assert not project.live_processors()  # as before the deploy: nothing
