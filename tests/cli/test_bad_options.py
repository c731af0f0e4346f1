"""Every invoke task and every sp command, given bad options and bad files: no traceback, an exit
code its --help documents, a message naming the fix — and, for an option error, not one request
(counted at the emulator). Commands are run in-process through their real parsers (invoke's
Program, sp's main), so a crash would fail the test with its exception.

Generic cases reach every command automatically (an unknown environment, for sp also an unknown
flag); a task or command added later is covered by them and may add its own cases here.
"""
from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass

import pytest
from invoke import Program

import tasks
from deploy_project import LOGGER
from sp_tasks.cli import main
from sp_tasks.console import EXIT_CODES
from tests.test_flags import sp_parsers

BROKEN = '{"name": "broken", "pipeline": [ '  # a processor file that does not parse


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    fix: str  # the message names the fix: this text must be in it
    offline: bool = True  # an option or file error: no request at all
    setup: str = ""  # "broken-file", "plan-file", "port-taken", "port-free", "dir"


def case(*args, code=1, fix, offline=True, setup=""):
    return Case(tuple(args), code, fix, offline, setup)


FORMAT = case("-f", "xml", fix="use one of")
BAD_FILE = case(code=4, fix="processors/broken.json:1", setup="broken-file")
INVOKE = {
    "validate": [FORMAT, BAD_FILE],
    "tier-advise": [case("-f", "yaml", fix="use one of text, json"), BAD_FILE],
    "plan": [case("--tier", "SP3", fix="use one of SP2, SP5, SP10, SP30, SP50, auto"),
             case("-t", "sp10", "-p", "nosuch", fix="no such processor defined in processors/"),
             case("--out", "{plan}/plan.json", fix="is a file, not a folder", setup="plan-file"), FORMAT, BAD_FILE],
    "snapshot": [case("--out", "{dir}", fix="give a file name", setup="dir")],
    "deploy": [case("--strategy", "nosuch", fix="use one of in-place, blue-green, canary"),
               case("--strategy", "blue-gren", fix="did you mean --strategy blue-green?"),
               case("--tier", "SP3", fix="use one of SP2"),
               case("--plan", "missing.json", code=4, fix="no such file; check the path"),
               case("--plan", "{dir}", code=4, fix="name the file inside it", setup="dir"),
               case("--plan", "{plan}", "-p", "hot", fix="invoke plan -p NAME --out FILE", setup="plan-file"),
               case("-p", "hott", "-y", fix="did you mean hot?"), FORMAT, BAD_FILE],
    "rollback": [case("--snapshot", "missing.json", code=4, fix="no such file"),
                 case("--snapshot", "a.json", "--to-ref", "HEAD", fix="give either --snapshot FILE or --to-ref REV"),
                 case("-y", code=4, fix="pass --snapshot FILE or --to-ref REV", offline=False), FORMAT],
    "drift": [case("-p", "hott", fix="did you mean hot?"), FORMAT, BAD_FILE],
    "profile": [case("--duration", "abc", fix="give seconds, e.g. --duration 60"),
                case("--runs", "0", fix="give a whole number, at least 1"),
                case("--runs", "two", fix="give a whole number, at least 1"),
                case("--duration", "2.5", "--interval", "0", fix="greater than 0"),
                case("--duration", "1", "--interval", "5", fix="lower --interval or raise --duration"),
                case("--output", "{dir}", fix="give a file name", setup="dir"),
                case("-p", "nosuch", "--duration", "0.2", "--interval", "0.1", fix="nosuch", offline=False,
                     setup="workspace"),
                case("--duration", "0.2", "--interval", "0.1", fix="`invoke deploy` creates it", offline=False)],
    "compare-baseline": [case("--history", "missing.csv", code=4, fix="no such file"),
                         case("--current", "missing.csv", code=4, fix="no such file"), FORMAT],
    "report": [case("--out", "{dir}", fix="give a file name", setup="dir")],
    "charts": [case("--out", "{plan}", fix="is a file, not a folder", setup="plan-file")],
    "doctor": [case("-f", "yaml", fix="use one of text, json")],
    "perf-ab": [case("--runs", "2", fix="at least 3"), case("--duration", "0", fix="greater than 0"),
                case("--interval", "x", fix="is not a number")],
    "emulator.start": [case(fix="taken by another program", setup="port-taken")],
    "emulator.status": [case(fix="start it with `invoke emulator.start -e test`", setup="port-free")],
    "env.create": [case("--tier", "SP3", "feature/x", fix="use one of SP2"),
                   case("-f", "xml", "feature/x", fix="use one of")],
    "env.destroy": [case("-f", "xml", "feature/x", fix="use one of text, json")],
}
SP = {
    "sp processors profile": [case("--duration", "0", fix="greater than 0"),
                              case("--interval", "x", fix="is not a number")],
    "sp processors create": [case("-p", "hot", "-t", "SP3", fix="use one of SP2"),
                             case("-p", "hot", "--strategy", "nosuch", fix="use one of in-place"),
                             case("-p", "nosuch", fix="no processors/nosuch.json"),
                             case("-p", "hot", code=4, fix="processors/broken.json:1", setup="broken-file")],
    "sp processors start": [case("-p", "hot", "-t", "SP3", fix="use one of SP2")],
    "sp processors stop": [case(fix="name processors with -p NAME (repeatable) or use --all")],
    "sp processors restart": [case("-p", "a", "--all", fix="give either -p NAME or --all")],
    "sp processors drop": [case(fix="name processors with -p NAME")],
    "sp processors list": [case(fix="`sp workspaces create`", offline=False)],  # no workspace yet
    "sp processors schema": [case("-n", "5", "hot", fix="query the sink with mongosh instead")],
    "sp processors test": [case(code=4, fix="processors/broken.json:1", setup="broken-file")],
    "sp workspaces delete": [case("other", fix="choose the environment with --env")],
    "sp workspaces create": [case("other", fix="choose the environment with --env")],
    "sp connections delete": [case(fix="the following arguments are required: NAME")],
    "sp connections test": [case("nosuch", "--offline", fix="no connections/nosuch.json")],
}
def _leaf(parser) -> bool:
    return not any(getattr(a, "choices", None) and hasattr(a, "_name_parser_map") for a in parser._actions)


SP_COMMANDS = sorted(path for path, parser in sp_parsers() if _leaf(parser))
# What a command needs besides the option under test, so that option is what it trips over.
SP_REQUIRED = {"sp processors create": ("-p", "hot"), "sp processors start": ("-p", "hot"),
               "sp processors stop": ("-p", "hot"), "sp processors restart": ("-p", "hot"),
               "sp processors drop": ("hot",), "sp processors schema": ("hot",), "connections delete": ("cluster",)}
TASKS = sorted(tasks.ns.task_names)


def invoke_cases():
    for name in TASKS:
        takes_env = any(a.name == "env" for a in tasks.ns[name].get_arguments())
        generic = [case("-e", "nowhere", code=4, fix="(available: test)")] if takes_env else []
        for i, item in enumerate(generic + INVOKE.get(name, [])):
            yield pytest.param(name, item, id=f"{name}-{i}")


def sp_cases():
    for path in SP_COMMANDS:
        words = path.split()[1:]
        canonical = path.replace("sp instances", "sp workspaces")  # the alias reports its command's name
        needed = next((v for k, v in SP_REQUIRED.items() if path.endswith(k)), ())
        generic = [case(*needed, "--nosuch", fix=f"see `{canonical} --help`"),
                   case(*needed, "-e", "nowhere", code=4, fix="(available: test)")]
        for i, item in enumerate(generic + SP.get(path, [])):
            yield pytest.param(words, item, id=f"{'-'.join(words)}-{i}")


def documented_codes(doc: str) -> set[int]:
    return {int(m) for m in re.findall(r"^\s+(\d+)\s{2,}", doc.split("Exit codes:", 1)[1], re.M)}


@pytest.fixture
def prepared(project, monkeypatch, tmp_path):
    monkeypatch.setattr(tasks, "ROOT", project.root)
    listeners = []

    def prepare(item: Case) -> dict[str, str]:
        values = {"dir": str(tmp_path)}
        if item.setup == "broken-file":
            (project.root / "processors" / "broken.json").write_text(BROKEN)
        if item.setup == "plan-file":
            values["plan"] = str(tmp_path / "saved.json")
            (tmp_path / "saved.json").write_text("{}")
        if item.setup == "workspace":  # a workspace with one processor (created, not started)
            runner = project.runner()
            runner.ensure_workspace(runner.live())
            runner.client.create_processor(LOGGER)  # reads the built-in sample, logs to __testLog
        if item.setup in ("port-taken", "port-free"):  # never a port where emulator.start could start one
            holder = socket.socket()
            holder.bind(("127.0.0.1", 0))
            if item.setup == "port-taken":
                holder.listen()
                listeners.append(holder)
            port = holder.getsockname()[1]
            if item.setup == "port-free":
                holder.close()
            with open(project.root / "environments" / "test" / "config.env", "a") as config:
                config.write(f"EMULATOR_PORT={port}\n")
        project.emulator.admin("DELETE", "requests")
        return values

    yield prepare
    for holder in listeners:
        holder.close()


def check(project, item: Case, code: int, printed, documented: set[int]) -> None:
    text = printed.out + printed.err
    assert all(s.endswith("\n") for s in (printed.out, printed.err) if s), printed  # piped: whole lines only
    assert "Traceback" not in text, text
    assert code == item.code and code in documented, (code, text)
    assert item.fix in text, text
    assert code != 0 and text.strip()
    if item.offline:
        served = project.emulator.requests_served()
        assert served["total"] == 0 and served["unauthenticated"] == 0, served


@pytest.mark.parametrize("name, item", list(invoke_cases()))
def test_every_task_refuses_bad_input_without_a_traceback(name, item, prepared, project, capsys):
    values = prepared(item)
    args = [a.format(**values) for a in item.args]
    env = [] if "-e" in args or not any(a.name == "env" for a in tasks.ns[name].get_arguments()) else ["-e", "test"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        Program(namespace=tasks.ns).run(["invoke", name, *env, *args])
    printed = capsys.readouterr()
    check(project, item, stop.value.code, printed, documented_codes(tasks.ns[name].__doc__))


@pytest.mark.parametrize("words, item", list(sp_cases()))
def test_every_sp_command_refuses_bad_input_without_a_traceback(words, item, prepared, project, capsys):
    values = prepared(item)
    args = [a.format(**values) for a in item.args]
    env = [] if "-e" in args else ["--env", "test"]
    capsys.readouterr()
    code = main([*env, "--root", str(project.root), "--format", "text", *words, *args])
    printed = capsys.readouterr()
    check(project, item, code, printed, set(EXIT_CODES))


def test_errors_under_format_json_are_one_json_document(prepared, project, capsys):
    prepared(case(fix=""))
    with pytest.raises(SystemExit):
        Program(namespace=tasks.ns).run(["invoke", "deploy", "-e", "test", "-f", "json", "--strategy", "nosuch"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == 1 and doc["error"]["type"] == "UsageError" and "use one of" in doc["error"]["message"]
    code = main(["--env", "test", "--root", str(project.root), "-f", "json", "processors", "profile", "--duration", "0"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["ok"] is False and "greater than 0" in doc["error"]["message"]


def test_every_task_and_command_has_a_case():
    covered = {name for name, _ in (p.values for p in invoke_cases())}
    assert covered == set(TASKS), f"add a bad-option case for {set(TASKS) - covered} in {__file__}"
    assert set(SP) <= set(SP_COMMANDS), set(SP) - set(SP_COMMANDS)
