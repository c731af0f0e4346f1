"""The ``sp`` command: the seed tool's surface (workspaces, connections, processors) on sp-tasks.

``main(argv)`` parses the command line, runs one command in a :class:`~sp_tasks.console.Console`
and returns the exit code of DESIGN §4 (0 success, 1 error, 3 threshold breach, 4 invalid
definitions, 130 interrupted): errors become exits in ``sp_tasks.console.run``, the same place
as for the invoke tasks. Usage errors are :class:`UsageError` (exit 1; argparse's 2 would read
as "plan has changes"), in JSON too with ``--format json``. Short flags mean what they mean in
the tasks: -e env, -f format, -p processor, -y yes, -t tier, -h help. Each command group lives
in its own module and registers itself through ``register(groups, common)``; the command
reference is docs/sp-cli.md.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from sp_tasks.console import Console, exit_codes_help, result_format, run
from sp_tasks.errors import UsageError

FORMATS = ("text", "json")


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are :class:`UsageError` (reported by the console, exit 1)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def common_options(env=argparse.SUPPRESS, root=argparse.SUPPRESS, fmt=argparse.SUPPRESS) -> Parser:
    """--env/--root/--format, accepted before the group and after the command alike.

    Two instances: the top level's carries the defaults, the commands' suppress theirs so a value
    given before the group is not overwritten (parents share action objects, hence not one)."""
    common = Parser(add_help=False)
    common.add_argument("-e", "--env", default=env,
                        help="environment under environments/ (default: $SP_ENV or local)")
    common.add_argument("--root", default=root,
                        help="project root holding environments/, processors/, connections/ (default: .)")
    common.add_argument("-f", "--format", choices=FORMATS, default=fmt,
                        help="text tables or json (default: text on a terminal, json when piped, as the seed printed)")
    return common


def checked(validator, *args):
    """An argparse ``type=`` from a check of ``sp_tasks.options``: the same message as the tasks give."""
    def convert(value: str):
        try:
            return validator(*args, value)
        except UsageError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return convert


def add_command(commands, name: str, run, help_text: str, parents: list, prefix: str,
                exits: tuple[int, ...] = ()) -> Parser:
    """One leaf command: ``run(ctx) -> exit code``; ``command_path`` names it in messages; its
    --help ends with its exit codes (0, 1, 4, 130 and ``exits``)."""
    parser = commands.add_parser(name, parents=parents, help=help_text, description=help_text,
                                 epilog=exit_codes_help(exits), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(run=run, command_path=f"{prefix} {name}")
    return parser


def build_parser() -> Parser:
    from sp_tasks.cli import connections, processors, workspaces

    common = common_options()
    top = common_options(os.environ.get("SP_ENV", "local"), ".", None)
    parser = Parser(prog="sp", parents=[top],
                    description="Atlas Stream Processing from a GitOps repo: the seed `sp` commands, made safe.",
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    epilog=f"Reference: docs/sp-cli.md.\n\n{exit_codes_help((3, 4))}")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    workspaces.register(groups, common)
    connections.register(groups, common)
    processors.register(groups, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``sp`` command; returns the process exit code."""
    from sp_tasks.cli.context import Context

    argv = list(sys.argv[1:] if argv is None else argv)
    console = Console(_sniff_format(argv), command="sp")
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # name the command they were given to, not just "sp"
            where = getattr(args, "command_path", "sp")
            raise UsageError(f"{where}: unrecognized arguments: {' '.join(extra)} (see `{where} --help`)")
    except SystemExit as stop:  # --help (already printed)
        return stop.code if isinstance(stop.code, int) else 0
    except UsageError as err:
        return console.fail(err)
    args.format = args.format or result_format(sys.stdout)
    console = Console(args.format, yes=getattr(args, "yes", False), command=args.command_path)
    ctx = Context(args, console)
    try:
        return run(console, lambda: args.run(ctx))
    finally:
        if "client" in ctx.__dict__:
            ctx.client.close()


def _sniff_format(argv: list[str]) -> str:
    """The --format asked for, before parsing: a usage error is reported in that format too."""
    for i, arg in enumerate(argv):
        if arg in ("-f", "--format") and i + 1 < len(argv) and argv[i + 1] in FORMATS:
            return argv[i + 1]
        if arg.startswith("--format=") and arg.split("=", 1)[1] in FORMATS:
            return arg.split("=", 1)[1]
    return result_format(sys.stdout)
