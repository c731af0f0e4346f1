"""``sp processors create|start|stop|restart|drop``: the commands that change processors.

Each acts only on the processors named with ``-p`` (or, for drop, as arguments) or, with
``--all``, on those defined in Git — never on a whole workspace. ``create`` is a deploy of just
those processors through the planner (``cli.changes``); the others are steps carried out by the
deploy executor, which waits for STOPPED/STARTED instead of sleeping, treats an already stopped or
started processor as done, and reports every step. Any failure exits non-zero.
"""
from __future__ import annotations

from sp_tasks import options
from sp_tasks.cli import Parser, add_command, checked, processor_reads
from sp_tasks.cli.changes import deploy_subset, execute
from sp_tasks.deploy import waiting
from sp_tasks.deploy.steps import StepKind, Target
from sp_tasks.errors import ConfigError

RUNNING = ("STARTED", "STARTING")


def register(groups, common) -> None:
    group = groups.add_parser("processors", parents=[common], help="stream processors (defined in processors/)")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)
    scope = selection_options()
    create = _add(commands, [common, scope], "create", cmd_create,
                  "deploy the named processors from Git through the planner (checkpoints kept)")
    create.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    create.add_argument("--dry-run", action="store_true", help="show the plan only, send nothing")
    create.add_argument("--strategy", default="in-place", type=checked(options.strategy),
                        help="in-place (default), blue-green or canary")
    create.add_argument("-t", "--tier", type=checked(options.tier), help="override DEFAULT_TIER for this deploy")
    for name, run, text in (("start", cmd_start, "start processors (startWith; waits for STARTED)"),
                            ("restart", cmd_restart, "stop, wait for STOPPED, start, wait for STARTED")):
        parser = _add(commands, [common, scope], name, run, text)
        parser.add_argument("-t", "--tier", type=checked(options.tier), help="tier to start on (auto: tier advice)")
        parser.add_argument("--auto", action="store_true", help="the seed's spelling of --tier auto")
        parser.add_argument("--verify", action="store_true", help="run the health gate after starting")
    _add(commands, [common, scope], "stop", cmd_stop, "stop processors (waits for STOPPED; checkpoint kept)")
    drop = _add(commands, [common, scope], "drop", cmd_drop, "delete processors and their state (asks first)")
    drop.add_argument("names", nargs="*", metavar="NAME", help="processors to drop (same as -p NAME)")
    drop.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    processor_reads.register(commands, common, scope)


def selection_options() -> Parser:
    scope = Parser(add_help=False)
    scope.add_argument("-p", "--processor", action="append", metavar="NAME", help="a processor (repeatable)")
    scope.add_argument("--all", action="store_true", help="every processor defined in processors/*.json")
    return scope


def _add(commands, parents, name, run, help_text):
    return add_command(commands, name, run, help_text, parents, "sp processors")


def cmd_create(ctx) -> int:
    from sp_tasks.desired import load_desired

    names = ctx.selected(required=True)
    ctx.require_in_git(names)
    return deploy_subset(ctx, load_desired(ctx.settings), targets=tuple(names), strategy=ctx.args.strategy,
                         tier=ctx.args.tier)


def cmd_stop(ctx) -> int:
    selected = ctx.selected(required=True)  # before any request
    docs = _live_docs(ctx)
    names = deployed(ctx, selected, {n: d.get("state", "") for n, d in docs.items()})
    return execute(ctx, "stop", names, lambda chain, n: chain.add(StepKind.STOP_PROCESSOR, _target(n), _stop(docs[n])))


def cmd_start(ctx) -> int:
    selected = ctx.selected(required=True)  # before any request
    docs = {p["name"]: p for p in ctx.client.list_processors()}
    live = {n: d.get("state", "") for n, d in docs.items()}
    names = deployed(ctx, selected, live)
    tiers = _tiers(ctx, names)
    running = [n for n in names if live[n] in RUNNING]
    if running and ctx.args.auto:
        # The guide runs `start --auto` right after `create --all`, which already started them: done,
        # and say how to apply the advice, which only a restart can.
        for n in running:
            ctx.progress(f"{n} is already running (tier {docs[n].get('tier') or '?'}, advice {tiers[n]}); to move it "
                         f"to the advised tier use `sp processors restart -p {n} --auto`")
        names = [n for n in names if n not in running]
    elif running and ctx.args.tier:
        raise ConfigError(f"processor {running[0]} is already running; to move it to {tiers[running[0]]} use "
                          f"`sp processors restart -p {running[0]} -t {ctx.args.tier}`")
    return execute(ctx, "start", names, lambda chain, n: chain.add(StepKind.START_PROCESSOR, _target(n), _start(tiers[n])))


def cmd_restart(ctx) -> int:
    selected = ctx.selected(required=True)
    docs = _live_docs(ctx)
    names = deployed(ctx, selected, {n: d.get("state", "") for n, d in docs.items()})
    tiers = _tiers(ctx, names)

    def steps(chain, n):
        return (chain.add(StepKind.STOP_PROCESSOR, _target(n), _stop(docs[n]))
                .add(StepKind.START_PROCESSOR, _target(n), _start(tiers[n])))

    return execute(ctx, "restart", names, steps)


def cmd_drop(ctx) -> int:
    selected = ctx.selected(required=True)  # a missing -p is an option error: refused before any request
    runner = ctx.runner()
    live = runner.live()
    names = deployed(ctx, selected, {p.name: p.state for p in live.processors})
    if not names:
        ctx.emit("nothing to drop: none of these processors exists in the workspace")
        return 0
    ctx.confirm(f"Drop {', '.join(names)} from {ctx.settings.workspace} ({ctx.settings.name})? "
                "Their checkpoints and window state are destroyed.", declined="cancelled: nothing dropped")
    ctx.progress(f"snapshot saved: {runner.snapshot(live, 'pre-drop')}")
    return execute(ctx, "drop", names, lambda chain, n: chain.add(StepKind.STOP_PROCESSOR, _target(n))
                    .add(StepKind.DELETE_PROCESSOR, _target(n)))


# -- shared ---------------------------------------------------------------------------------
def _live_docs(ctx) -> dict[str, dict]:
    """Name -> document of every processor in the workspace: one list call."""
    return {p["name"]: p for p in ctx.client.list_processors()}


def deployed(ctx, names: list[str], live: dict[str, str]) -> list[str]:
    """The selected processors that exist; a name given with -p that does not exist is an error,
    a Git-defined one that was never deployed (--all) is skipped with a note."""
    absent = [n for n in names if n not in live]
    if absent and not ctx.args.all:
        raise ConfigError(f"processor {absent[0]} does not exist in workspace {ctx.settings.workspace} "
                          f"(create it with `sp processors create -p {absent[0]}`)")
    if absent:
        ctx.progress(f"not deployed, skipped: {', '.join(absent)}")
    return [n for n in names if n in live]


def _tiers(ctx, names: list[str]) -> dict[str, str | None]:
    """Tier to start each processor on: -t, or the advice for ``auto``; None = its own tier."""
    wanted = "auto" if ctx.args.auto else ctx.args.tier
    if wanted != "auto":
        return {n: wanted for n in names}
    from sp_tasks.desired import load_desired
    from sp_tasks.tiers import advise_all

    ctx.require_in_git(names)
    advice = {a.processor: a for a in advise_all(load_desired(ctx.settings), ctx.settings.baselines_dir / "history.csv")}
    for name in names:
        if advice[name].tier is None:
            raise ConfigError(f"no tier fits processor {name}: {' '.join(advice[name].reasons)}")
    return {n: advice[n].tier for n in names}


def _stop(doc: dict) -> dict:
    """A stop step's payload: a start under way is seen through first (the executor says so)."""
    return {"start_under_way": True} if waiting.Reading.of(doc).verb == "starting" else {}


def _start(tier: str | None) -> dict:
    return {"tier": tier} if tier else {}


def _target(name: str) -> Target:
    return Target("processor", name)
