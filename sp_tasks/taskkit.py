"""How a task in tasks.py is declared: :func:`sp_task`, the standard flags, and the console it runs in.

Every task is ``@sp_task(help={...}, exits=(...))``. That gives it the team's flag convention —
explicit short flags only, the same letter meaning the same thing everywhere (``-e`` env,
``-p`` processor, ``-f`` format, ``-y`` yes, ``-t`` tier; ``-h`` is always help; invoke's
automatic short flags are off) — standard help texts for those flags, the exit codes in
``--help``, and a :class:`~sp_tasks.console.Console` built from ``--format``/``--yes`` in
which the body runs (:func:`sp_tasks.console.run` turns errors into exits). The body returns
nothing or an :class:`ExitStatus`. Kept free of heavy imports so ``invoke --list`` stays fast.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterable

from invoke import Exit, Task, task

from sp_tasks import console as con
from sp_tasks.errors import ExitStatus, UsageError

FORMATS = ("text", "json", "markdown")
SHORT_FLAGS = {"env": "e", "processor": "p", "format": "f", "yes": "y", "tier": "t"}
STANDARD_HELP = {
    "env": "environment under environments/ (default: local, or INVOKE_SP_ENV)",
    "processor": "only this processor (repeatable, like terraform -target); others are left untouched",
    "yes": "do not ask for confirmation (CI)",
}


class SpTask(Task):
    """An invoke Task whose only short flags are the standard ones of :data:`SHORT_FLAGS`."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs["auto_shortflags"] = False
        super().__init__(*args, **kwargs)

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list:
        # invoke pops each help text it uses: a second call (invoke --help, tests) would lose them.
        saved = dict(self.help)
        try:
            return super().get_arguments(ignore_unknown_help)
        finally:
            self.help = saved

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        if short and short not in taken_names:
            opts["names"].append(short)
        return opts


def sp_task(*, help: dict[str, str] | None = None, exits: Iterable[int] = (), iterable: Iterable[str] = (),
            **task_kwargs: Any) -> Callable[[Callable], Task]:
    """Declare an invoke task that follows the convention (see the module docstring).

    ``exits`` lists the exit codes beyond 0, 1 and 130 that the task can end with (2, 3, 4).
    A ``processor`` parameter is repeatable automatically."""
    def decorate(func: Callable) -> Task:
        params = inspect.signature(func).parameters
        texts = {k: v for k, v in STANDARD_HELP.items() if k in params}
        texts.update(help or {})
        repeatable = [*iterable, *(["processor"] if "processor" in params else [])]
        made: list[Task] = []
        wrapped = reports_errors(func, made)
        wrapped.__doc__ = f"{inspect.cleandoc(func.__doc__ or '')}\n\n{con.exit_codes_help(tuple(exits))}"
        made.append(task(klass=SpTask, help=texts, iterable=list(dict.fromkeys(repeatable)), **task_kwargs)(wrapped))
        return made[0]

    return decorate


def reports_errors(func: Callable, made: list[Task] | None = None) -> Callable:
    """Run ``func`` in a console of its own; an error or Ctrl-C becomes its final line and exit code."""
    name = func.__name__.replace("_", "-")

    @functools.wraps(func)  # invoke reads the task signature through __wrapped__
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = inspect.signature(func).bind(*args, **kwargs)
        bound.apply_defaults()
        if made and any(bound.arguments.get(p) in ("-h", "--help") for p in made[0].positional):
            _print_help(made[0])
        fmt = bound.arguments.get("format") or "text"
        console = con.Console(fmt if fmt in FORMATS else "text", yes=bool(bound.arguments.get("yes")),
                              command=f"invoke {_registered(made[0])[1] if made else name}")
        report: list[str] = []  # invoke prints an Exit's message on stderr: the console's final lines
        code = con.run(console, lambda: func(*args, **kwargs), say=report.append)
        if code != ExitStatus.SUCCESS:
            raise Exit("\n".join(line.rstrip("\n") for line in report) or None, code=code)

    return wrapper


def _print_help(the_task: Task) -> None:
    """``invoke env.create -h``: invoke fills a positional argument before it looks for core flags,
    so a task with one would run with the name "-h". Show its help instead, as for every task."""
    from invoke import Program

    namespace, name = _registered(the_task)
    Program(namespace=namespace).run(["invoke", "--help", name], exit=False)
    raise Exit(code=0)


def _registered(the_task: Task) -> tuple[Any, str]:
    """(namespace, name) a task is called by: "env.destroy", not its function's env_destroy."""
    import sys

    from invoke import Collection

    namespace = getattr(sys.modules.get("tasks"), "ns", None)  # invoke imports tasks.py as "tasks"
    name = next((n for n in (namespace.task_names if namespace else ()) if namespace[n] is the_task), None)
    return (namespace, name) if name else (Collection(the_task), the_task.name)


def check_format(fmt: str | None, allowed: tuple[str, ...] = FORMATS) -> str:
    fmt = fmt or "text"
    if fmt not in allowed:
        from sp_tasks.options import choice

        return choice("--format", fmt, allowed)
    return fmt


def emit(text_or_data: Any, fmt: str = "text") -> None:
    """Print a result on stdout: a rendered string as is, data as JSON."""
    con.current().result(text_or_data)


def exit_with(status: ExitStatus) -> None:
    if status != ExitStatus.SUCCESS:
        raise Exit(code=int(status))


__all__ = ["SpTask", "sp_task", "reports_errors", "check_format", "emit", "exit_with", "UsageError", "FORMATS"]
