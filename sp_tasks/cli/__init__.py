"""The ``sp`` command: the seed tool's surface (workspaces, connections, processors) on sp-tasks.

``main(argv)`` parses the command line, runs one command and returns the exit code of
DESIGN §4 (0 success, 1 error, 3 threshold breach, 4 invalid definitions); it is also the one
place an :class:`~sp_tasks.errors.SpTasksError` becomes an exit code and a message on stderr.
Usage errors exit 1 (argparse's 2 would read as "plan has changes"). Each command group lives in
its own module and registers itself through ``register(groups, common)``; the command reference
is docs/sp-cli.md.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from sp_tasks.errors import ExitStatus, SpTasksError

FORMATS = ("text", "json")


class Parser(argparse.ArgumentParser):
    """argparse with usage errors exiting 1 instead of 2."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(int(ExitStatus.ERROR), f"{self.prog}: error: {message}\n")


def common_options(env=argparse.SUPPRESS, root=argparse.SUPPRESS, fmt=argparse.SUPPRESS) -> Parser:
    """--env/--root/--format, accepted before the group and after the command alike.

    Two instances: the top level's carries the defaults, the commands' suppress theirs so a value
    given before the group is not overwritten (parents share action objects, hence not one)."""
    common = Parser(add_help=False)
    common.add_argument("--env", default=env, help="environment under environments/ (default: $SP_ENV or local)")
    common.add_argument("--root", default=root,
                        help="project root holding environments/, processors/, connections/ (default: .)")
    common.add_argument("--format", choices=FORMATS, default=fmt, help="text tables (default) or json for machines")
    return common


def add_command(commands, name: str, run, help_text: str, parents: list, prefix: str) -> Parser:
    """One leaf command: ``run(ctx) -> exit code``; ``command_path`` names it in messages."""
    parser = commands.add_parser(name, parents=parents, help=help_text, description=help_text)
    parser.set_defaults(run=run, command_path=f"{prefix} {name}")
    return parser


def build_parser() -> Parser:
    from sp_tasks.cli import connections, processors, workspaces

    common = common_options()
    top = common_options(os.environ.get("SP_ENV", "local"), ".", "text")
    parser = Parser(prog="sp", parents=[top],
                    description="Atlas Stream Processing from a GitOps repo: the seed `sp` commands, made safe.",
                    epilog="Reference: docs/sp-cli.md. Exit codes: 0 ok, 1 error, 3 threshold breach, "
                           "4 invalid definitions.")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    workspaces.register(groups, common)
    connections.register(groups, common)
    processors.register(groups, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``sp`` command; returns the process exit code."""
    from sp_tasks.cli.context import Context

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error (already printed)
        return stop.code if isinstance(stop.code, int) else int(ExitStatus.ERROR)
    ctx = Context(args)
    try:
        return int(args.run(ctx) or ExitStatus.SUCCESS)
    except SpTasksError as err:
        _report(err)
        return int(err.exit_status)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if "client" in ctx.__dict__:
            ctx.client.close()


def _report(err: SpTasksError) -> None:
    """Everything an error carries, on stderr: each diagnostic, or what a deploy did, then the message."""
    from sp_tasks.errors import DeployError, ValidationFailed

    if isinstance(err, ValidationFailed):
        from sp_tasks import diagnostics

        github = os.environ.get("GITHUB_ACTIONS") == "true"
        print(diagnostics.render(err.diagnostics, "github" if github else "text"), file=sys.stderr)
    elif isinstance(err, DeployError) and hasattr(err.result, "plan"):
        from sp_tasks.deploy.render import render_outcome_text

        print(render_outcome_text(err.result), file=sys.stderr)
    print(f"error: {err}", file=sys.stderr)
