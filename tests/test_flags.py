"""The flag convention, for every task and every sp command: one letter, one meaning; -h is help;
the exit codes are in --help. A task added without @sp_task fails here."""
from __future__ import annotations

import argparse

import pytest
from invoke import Program

import tasks
from sp_tasks.cli import build_parser
from sp_tasks.taskkit import SHORT_FLAGS, SpTask

SP_SHORT = {"-e": "env", "-f": "format", "-p": "processor", "-y": "yes", "-t": "tier", "-h": "help",
            "-n": "samples"}  # -n: the seed's `schema -n`, kept to explain it is not supported


def all_tasks():
    for name in tasks.ns.task_names:
        yield name, tasks.ns[name]


@pytest.mark.parametrize("name, task", list(all_tasks()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_task_uses_only_the_standard_short_flags(name, task):
    assert isinstance(task, SpTask), f"declare {name} with @sp_task (sp_tasks/taskkit.py)"
    for arg in task.get_arguments():
        shorts = [n for n in arg.names if len(n) == 1]
        key = arg.attr_name or arg.name
        expected = [SHORT_FLAGS[key]] if key in SHORT_FLAGS else []
        assert shorts == expected, f"{name} --{arg.name}: short flags {shorts}, convention says {expected}"
    assert "Exit codes:" in task.__doc__ and "  130  interrupted" in task.__doc__


@pytest.mark.parametrize("name", sorted(tasks.ns.task_names))
def test_dash_h_is_help_for_every_task(name, capsys):
    with pytest.raises(SystemExit) as info:
        Program(namespace=tasks.ns).run(["invoke", name, "-h"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and f"{name} [--options]" in out and "Exit codes:" in out


def sp_parsers(parser=None, path="sp"):
    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from sp_parsers(sub, f"{path} {name}")


@pytest.mark.parametrize("path, parser", list(sp_parsers()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_sp_command_uses_the_same_short_flags(path, parser):
    for action in parser._actions:
        for flag in action.option_strings:
            if len(flag) == 2:
                assert SP_SHORT.get(flag) == action.dest, f"{path}: {flag} means {action.dest}"
    is_group = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
    if path == "sp" or not is_group:  # the top level and every command (not the groups between)
        assert "Exit codes:" in parser.format_help() and "  130  interrupted" in parser.format_help()


def test_reading_a_tasks_arguments_keeps_its_help_texts():
    """invoke pops help texts as it reads them; the second reader (a test, --help twice) must see them too."""
    before = dict(tasks.profile.help)
    tasks.profile.get_arguments()
    assert tasks.profile.help == before and "output" in before
