"""``sp workspaces`` (alias ``sp instances``): list, details, create and delete the env's workspace.

The workspace is the environment's ``WORKSPACE_NAME``: create and delete act on it alone (a
different NAME is refused, so a typo cannot delete the wrong workspace), ``details`` may look at
any workspace of the project. Create goes through ``Runner.ensure_workspace`` (the env's
CLOUD_PROVIDER, REGION, DEFAULT_TIER and its ALLOW_CREATE_WORKSPACE policy); delete refuses while
processors run and asks for confirmation unless ``--yes``. The one other name ``create`` accepts is
the seed guide's ``feature-X``: it derives the feature environment X from ``--env``
(``sp_tasks.feature``, docs/feature-environments.md) and creates that environment's workspace.
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
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
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
                          f"choose the environment with --env, or set WORKSPACE_NAME in {ctx.settings.config_file} "
                          "(create also accepts feature-NAME: a feature environment derived from --env)")
    return own


def cmd_create(ctx) -> int:
    from sp_tasks.feature.naming import is_feature_workspace

    if ctx.args.name and ctx.args.name != ctx.settings.workspace and is_feature_workspace(ctx.args.name):
        return _create_feature(ctx, ctx.args.name)
    return _create(ctx, ctx.runner(), _own_workspace(ctx))


def _create(ctx, runner, name: str, extra: dict | None = None, hint: str = "") -> int:
    live = runner.live()
    existed = live.workspace is not None
    runner.ensure_workspace(live)
    doc = runner.client.get_workspace()
    if ctx.json:
        ctx.emit_json({"workspace": name, "created": not existed, **(extra or {}), "details": doc})
    else:
        ctx.emit((f"workspace {name} already exists" if existed else f"workspace {name} created") + hint)
    return 0


def _create_feature(ctx, given: str) -> int:
    """The seed's ``sp workspaces create feature-X``: derive environment X from --env, create its workspace."""
    from sp_tasks.atlas.connect import open_client
    from sp_tasks.deploy.service import Runner
    from sp_tasks.feature.derive import derive
    from sp_tasks.settings import load_settings

    env = derive(ctx.settings.root, given, base=ctx.settings.name)
    ctx.progress(env.describe())
    settings = load_settings(env.name, ctx.settings.root)
    with open_client(settings) as client:
        hint = (f"\nfeature environment {env.name}: continue with `sp --env {env.name} processors create --all` "
                f"(or `invoke env.create {env.name} --from {env.base}`); remove it with `invoke env.destroy {env.name}`")
        return _create(ctx, Runner(settings, client, progress=ctx.progress), env.workspace,
                       {"environment": env.name, "base": env.base}, hint)


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
    ctx.confirm(f"Delete workspace {name} of environment {ctx.settings.name} with its {doomed}?",
                declined="cancelled: nothing deleted")
    # Atlas refuses to delete a workspace that still has processors (403
    # STREAM_TENANT_HAS_STREAM_PROCESSORS, recorded), so the confirmed processors go first.
    from sp_tasks.deploy.lock import clear_before_workspace_delete

    clear_before_workspace_delete(ctx.runner(), live)  # a deploy running there refuses; a dead one's lock goes
    for processor in live.processors:
        ctx.progress(f"delete processor: {processor.name}")
        ctx.client.delete_processor(processor.name)
    ctx.client.delete_workspace()
    if ctx.json:
        ctx.emit_json({"workspace": name, "deleted": True})
    else:
        ctx.emit(f"workspace {name}: deletion requested (Atlas deletes it asynchronously, with its {doomed})")
    return 0
