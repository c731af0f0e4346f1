"""``sp workspaces`` (alias ``sp instances``): list, details, create and delete the env's workspace.

The workspace is the environment's ``WORKSPACE_NAME``: create and delete act on it alone (a
different NAME is refused, so a typo cannot delete the wrong workspace), ``details`` may look at
any workspace of the project. Create goes through ``Runner.ensure_workspace`` (the env's
CLOUD_PROVIDER, REGION, DEFAULT_TIER and its ALLOW_CREATE_WORKSPACE policy); delete refuses while
processors run and asks for confirmation unless ``--yes``.
"""
from __future__ import annotations

from dataclasses import replace

from sp_tasks.cli import add_command, views
from sp_tasks.errors import ConfigError

RUNNING = ("STARTED", "STARTING")


def register(groups, common) -> None:
    from sp_tasks.cli import connections

    group = groups.add_parser("workspaces", aliases=["instances"], parents=[common],
                              help="the environment's stream processing workspace")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add(commands, common, "list", cmd_list, "every workspace of the project")
    details = _add(commands, common, "details", cmd_details, "one workspace (default: the env's)")
    details.add_argument("name", nargs="?", help="workspace name (default: WORKSPACE_NAME of --env)")
    create = _add(commands, common, "create", cmd_create,
                  "create the env's workspace from CLOUD_PROVIDER, REGION and DEFAULT_TIER")
    create.add_argument("name", nargs="?", help="must be the env's WORKSPACE_NAME when given")
    delete = _add(commands, common, "delete", cmd_delete, "delete the env's workspace (asks first)")
    delete.add_argument("name", nargs="?", help="must be the env's WORKSPACE_NAME when given")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    connections.register_under(commands, common)


def _add(commands, common, name, run, help_text):
    return add_command(commands, name, run, help_text, [common], "sp workspaces")


def cmd_list(ctx) -> int:
    docs = ctx.client.list_workspaces()
    if ctx.json:
        ctx.emit_json({"workspaces": docs})
    else:
        ctx.emit(views.table(views.WORKSPACE_HEADERS, [views.workspace_row(d) for d in docs], empty="no workspaces"))
    return 0


def cmd_details(ctx) -> int:
    from sp_tasks.atlas.connect import open_client

    name = ctx.args.name or ctx.settings.workspace
    if name == ctx.settings.workspace:
        doc = ctx.client.get_workspace()
    else:
        with open_client(replace(ctx.settings, workspace=name)) as other:
            doc = other.get_workspace()
    if doc is None:
        raise ConfigError(f"workspace {name} does not exist in project {ctx.settings.project_id} "
                          f"(see `sp workspaces list --env {ctx.settings.name}`)")
    if ctx.json:
        ctx.emit_json(doc)
        return 0
    region = doc.get("dataProcessRegion") or {}
    config = doc.get("streamConfig") or {}
    rows = [["name", doc.get("name")], ["id", doc.get("_id")], ["project", doc.get("groupId")],
            ["cloud provider", region.get("cloudProvider")], ["region", region.get("region")],
            ["default tier", config.get("tier")], ["max tier", config.get("maxTierSize")],
            *(["hostname", h] for h in doc.get("hostnames") or ())]
    ctx.emit(views.table(("FIELD", "VALUE"), rows))
    return 0


def _own_workspace(ctx) -> str:
    name, own = ctx.args.name, ctx.settings.workspace
    if name and name != own:
        raise ConfigError(f"{name} is not the workspace of environment {ctx.settings.name} ({own}): "
                          f"choose the environment with --env, or set WORKSPACE_NAME in {ctx.settings.config_file}")
    return own


def cmd_create(ctx) -> int:
    name = _own_workspace(ctx)
    runner = ctx.runner()
    live = runner.live()
    existed = live.workspace is not None
    runner.ensure_workspace(live)
    doc = ctx.client.get_workspace()
    message = f"workspace {name} already exists" if existed else f"workspace {name} created"
    if ctx.json:
        ctx.emit_json({"workspace": name, "created": not existed, "details": doc})
    else:
        ctx.emit(message)
    return 0


def cmd_delete(ctx) -> int:
    name = _own_workspace(ctx)
    live = ctx.runner().live()
    if live.workspace is None:
        raise ConfigError(f"workspace {name} does not exist in project {ctx.settings.project_id}")
    running = sorted(p.name for p in live.processors if p.state in RUNNING)
    if running:
        flags = " ".join(f"-p {n}" for n in running)
        raise ConfigError(f"workspace {name} has running processors ({', '.join(running)}): stop them first "
                          f"with `sp processors stop {flags} --env {ctx.settings.name}`")
    doomed = f"{len(live.processors)} processor(s) and {len(live.connections)} connection(s)"
    if not ctx.confirm(f"Delete workspace {name} of environment {ctx.settings.name} with its {doomed}?"):
        ctx.emit("cancelled: nothing deleted")
        return 0
    ctx.client.delete_workspace()
    if ctx.json:
        ctx.emit_json({"workspace": name, "deleted": True})
    else:
        ctx.emit(f"workspace {name}: deletion requested (Atlas deletes it asynchronously, with its {doomed})")
    return 0
