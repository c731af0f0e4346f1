"""What every task in tasks.py shares: error-to-exit translation and output plumbing.

``reports_errors`` is the one place an ``SpTasksError`` becomes a process exit (message on stderr,
the error's exit status); bugs still crash with a traceback. ``emit`` prints a result in the
requested format. Kept free of heavy imports so ``invoke --list`` stays fast.
"""
from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

from invoke import Exit

from sp_tasks.errors import ExitStatus, SpTasksError

FORMATS = ("text", "json", "markdown")


def reports_errors(func: Callable) -> Callable:
    @functools.wraps(func)  # invoke reads the task signature through __wrapped__
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SpTasksError as err:
            raise Exit(_message(err), code=int(err.exit_status)) from None

    return wrapper


def _message(err: SpTasksError) -> str:
    """The exit message: the error, plus what it carries (every diagnostic, or what deploy did)."""
    diagnostics = getattr(err, "diagnostics", None)  # ValidationFailed: show every problem, not a count
    if diagnostics:
        from sp_tasks.diagnostics import render_text

        return f"{render_text(diagnostics)}\nerror: {err}"
    outcome = getattr(err, "result", None)  # DeployError from a deploy: steps run and rollback done
    if hasattr(outcome, "plan"):
        from sp_tasks.deploy.render import render_outcome_text

        return f"{render_outcome_text(outcome)}\nerror: {err}"
    return f"error: {err}"


def check_format(fmt: str, allowed: tuple[str, ...] = FORMATS) -> str:
    if fmt not in allowed:
        raise Exit(f"error: --format must be one of {', '.join(allowed)} (got {fmt!r})", code=int(ExitStatus.ERROR))
    return fmt


def emit(text_or_data: Any, fmt: str = "text") -> None:
    """Print a rendered string, or JSON for data when ``fmt`` is json."""
    if fmt == "json" and not isinstance(text_or_data, str):
        text_or_data = json.dumps(text_or_data, indent=2, sort_keys=False, default=str)
    sys.stdout.write(text_or_data if text_or_data.endswith("\n") else text_or_data + "\n")
    sys.stdout.flush()


def exit_with(status: ExitStatus) -> None:
    if status != ExitStatus.SUCCESS:
        raise Exit(code=int(status))
