"""``sp connections`` (also ``sp workspaces connections``): list, create, delete and test connections.

``create`` deploys ``connections/<name>.json`` through the planner (created when absent, updated
when changed, never re-created blindly), with ``${VAR}`` secrets taken from the environment and
never printed; ``test`` validates the files offline and then checks that each connection exists
in the workspace and is READY; ``delete`` refuses while a processor uses the connection.
"""
from __future__ import annotations

import json

from sp_tasks.cli import add_command, views
from sp_tasks.desired import CONNECTION
from sp_tasks.errors import ConfigError, ExitStatus


def register(groups, common) -> None:
    group = groups.add_parser("connections", parents=[common], help="connections of the env's workspace")
    _commands(group, common, "sp connections")


def register_under(commands, common) -> None:
    """The seed's spelling: ``sp workspaces connections …``."""
    group = commands.add_parser("connections", parents=[common], help="connections of the env's workspace")
    _commands(group, common, "sp workspaces connections")


def _commands(group, common, prefix: str) -> None:
    commands = group.add_subparsers(dest="connection_command", metavar="COMMAND", required=True)

    def add(name, run, help_text):
        return add_command(commands, name, run, help_text, [common], prefix)

    add("list", cmd_list, "connections in the workspace, and whether Git defines them")
    create = add("create", cmd_create, "create or update connections from connections/<name>.json")
    create.add_argument("names", nargs="*", metavar="NAME", help="connections to deploy (default: all in Git)")
    create.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    create.add_argument("--dry-run", action="store_true", help="show the plan only, send nothing")
    delete = add("delete", cmd_delete, "delete one connection from the workspace (asks first)")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    test = add("test", cmd_test, "validate connection files offline, then check each exists and is READY")
    test.add_argument("names", nargs="*", metavar="NAME", help="connections to test (default: all in Git)")
    test.add_argument("--offline", action="store_true", help="only validate the files; do not call Atlas")
    # The seed's flag for "check against the live service too", which sp always does unless --offline.
    test.add_argument("--require-mongodb", action="store_true", help="accepted for the seed: the default check")


def cmd_list(ctx) -> int:
    docs = ctx.client.list_connections()
    git = ctx.git_names(CONNECTION)
    if ctx.json:
        ctx.emit_json({"connections": [{**views.safe_connection(d), "state": d.get("state"), "in_git": d.get("name") in git}
                                       for d in docs]})
    else:
        rows = [views.connection_row(d, d.get("name") in git) for d in docs]
        ctx.emit(views.table(views.CONNECTION_HEADERS, rows, empty="no connections"))
    return 0


def cmd_create(ctx) -> int:
    from sp_tasks.cli.changes import connections_subset, deploy_subset
    from sp_tasks.desired import load_desired

    subset = connections_subset(load_desired(ctx.settings), ctx.args.names)
    if not subset.connections:
        raise ConfigError(f"{ctx.settings.root / 'connections'} has no connection files to deploy")
    return deploy_subset(ctx, subset)


def cmd_delete(ctx) -> int:
    from sp_tasks.planning.connections import referenced_connections

    name = ctx.args.name
    live = ctx.runner().live()
    if not any(c.name == name for c in live.connections):
        raise ConfigError(f"connection {name} does not exist in workspace {ctx.settings.workspace}")
    users = sorted(p.name for p in live.processors if name in referenced_connections(p.pipeline, p.options))
    if users:
        raise ConfigError(f"connection {name} is used by processor(s) {', '.join(users)}: drop or change them first")
    again = " (it is defined in Git: the next deploy creates it again)" if name in ctx.git_names(CONNECTION) else ""
    ctx.confirm(f"Delete connection {name} from workspace {ctx.settings.workspace}{again}?",
                declined="cancelled: nothing deleted")
    ctx.client.delete_connection(name)
    if ctx.json:
        ctx.emit_json({"connection": name, "deleted": True})
    else:
        ctx.emit(f"connection {name} deleted")
    return 0


def cmd_test(ctx) -> int:
    from sp_tasks import diagnostics
    from sp_tasks.validation import validate_project

    files = ctx.git_names(CONNECTION)
    names = ctx.args.names or sorted(files)
    unknown = [n for n in names if n not in files]
    if unknown:
        raise ConfigError(f"no connections/{unknown[0]}.json defines connection {unknown[0]!r} "
                          f"(defined in Git: {', '.join(sorted(files)) or 'none'})")
    found = [d for d in validate_project(ctx.project) if d.file in {files[n] for n in names}]
    live = {} if ctx.args.offline else {c["name"]: c for c in ctx.client.list_connections()}
    results = [_result(n, files[n], found, live, ctx.args.offline) for n in names]
    if ctx.json:
        ctx.emit_json({"connections": results, **json.loads(diagnostics.render_json(found))})
    else:
        rows = [[r["name"], r["file"], r["errors"], r["warnings"], r["live"]] for r in results]
        ctx.emit(views.table(("NAME", "FILE", "ERRORS", "WARNINGS", "LIVE"), rows, empty="no connection files"))
        if found:
            ctx.emit(diagnostics.render_text(found))
    if diagnostics.count(found)[0]:
        return int(ExitStatus.INVALID)
    return int(ExitStatus.ERROR) if any(r["live"] not in ("READY", "not checked") for r in results) else 0


def _result(name: str, file: str, found, live: dict, offline: bool) -> dict:
    mine = [d for d in found if d.file == file]
    state = "not checked" if offline else (live[name].get("state", "READY") if name in live else "missing")
    return {"name": name, "file": file, "errors": sum(d.is_error for d in mine),
            "warnings": sum(not d.is_error for d in mine), "live": state}

