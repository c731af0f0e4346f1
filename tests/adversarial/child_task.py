"""Run one tasks.py task against a throwaway project in a process of its own, as `invoke` would:
the signal and kill -9 tests need a deployer they can interrupt.

    python tests/adversarial/child_task.py PROJECT_ROOT TASK [name=value ...]

Values "true"/"false" become booleans. Credentials and the rest come from the environment; the
environment is "test" (tests/deploy/deploy_project.py). Exits with the task's exit code; invoke
prints an Exit's message on stderr, and so does this.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tasks.py at the repository root


def main(argv: list[str]) -> int:
    import tasks
    from invoke import Config, Context, Exit

    root, name, *pairs = argv
    tasks.ROOT = Path(root)
    kwargs = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        kwargs[key.replace("-", "_")] = {"true": True, "false": False}.get(value, value)
    try:
        getattr(tasks, name.replace("-", "_"))(Context(Config(overrides={"sp": {"env": "test"}})), **kwargs)
    except Exit as done:
        if done.message:
            print(done.message, file=sys.stderr, flush=True)
        return done.code or 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
