"""``env.destroy``: remove everything a feature environment put in Atlas, in the order Atlas needs.

Processors first (running ones stopped, then deleted), then connections (Atlas refuses to delete
one a processor still uses), then the workspace (refused while processors exist). Deletes are
asynchronous in Atlas (DELETING, then 404), so each stage waits until the listing is empty before
the next begins, and the end is verified: the workspace must answer 404. Every stage is
idempotent, so an interrupted destroy is finished by running it again. Before anything is deleted
a snapshot of the workspace is saved (``.sp/snapshots/<env>/``), as ``sp processors drop`` does.

Between processors and connections, what the processors wrote goes too (``sinkdata``): the
databases and topics named with the environment's ``SINK_SUFFIX`` are dropped on the emulator,
and listed as left, with the command that drops each, on Atlas (its API cannot drop them).

Only a derived environment (``.sp/environments/<name>/`` with the ``FEATURE_BASE`` marker and the
workspace ``feature-<name>``) can be destroyed: a hand-edited file pointing ``WORKSPACE_NAME`` at
staging's workspace is refused before any call is made.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sp_tasks.deploy import waiting
from sp_tasks.deploy.lock import clear_before_workspace_delete
from sp_tasks.deploy.steps import Chain, Phase, Step, StepKind, Target, flatten
from sp_tasks.errors import ConfigError, DeployError
from sp_tasks.feature.derive import MARKER, FeatureEnv
from sp_tasks.feature.naming import workspace_name
from sp_tasks.feature import sinkdata
from sp_tasks.feature.sinkdata import SinkData
from sp_tasks.model import DesiredState
from sp_tasks.settings import DERIVED_ENVIRONMENTS

RUNNING = ("STARTED", "STARTING", "STOPPING")  # stop first; anything else can be deleted as it is
PROCESSORS_TIMEOUT = 300.0  # Atlas checkpoints on stop and deletes asynchronously
CONNECTIONS_TIMEOUT = 600.0  # the deploy's own connection wait
WORKSPACE_TIMEOUT = 900.0  # workspace deletion is the slowest of all (reference §3.2)


@dataclass
class Teardown:
    environment: str
    workspace: str
    processors: tuple[str, ...] = ()
    connections: tuple[str, ...] = ()
    snapshot: Path | None = None
    suffix: str = ""  # SINK_SUFFIX: every name it wrote ends in it
    data: tuple[SinkData, ...] = ()  # what the processors wrote (sinkdata.written_data)
    data_left: tuple[SinkData, ...] = ()  # of it, what this tool could not remove (Atlas)
    on_emulator: bool | None = None  # None: not asked (nothing was destroyed)
    steps: list[Any] = field(default_factory=list)  # StepResults of both stages
    complete: bool = False  # the workspace is verified gone
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "workspace": self.workspace, "complete": self.complete,
                "sink_suffix": self.suffix,
                "message": self.message, "processors": list(self.processors), "connections": list(self.connections),
                "snapshot": str(self.snapshot) if self.snapshot else None,
                "data_removed": [d.to_json() for d in self.data if d not in self.data_left],
                "data_left": [{**d.to_json(), "drop_with": d.how_to_drop()} for d in self.data_left],
                "steps": [r.to_json() for r in self.steps]}


def check_feature(settings, env: FeatureEnv) -> None:
    """Refuse (ConfigError) unless ``settings`` are the derived feature environment ``env``."""
    derived = Path(settings.directory).parts[:2] == DERIVED_ENVIRONMENTS.parts if settings.directory else False
    if not derived or settings.variables.get(MARKER) != env.base or settings.workspace != workspace_name(env.name):
        raise ConfigError(f"environment {settings.name} is not the feature environment {env.name} made by "
                          f"`invoke env.create` (expected {DERIVED_ENVIRONMENTS.as_posix()}/{env.name}/ with "
                          f"WORKSPACE_NAME={workspace_name(env.name)} and {MARKER}={env.base}); nothing was deleted")


def teardown_steps(processors: dict[str, str], connections: list[str]) -> tuple[tuple[Step, ...], ...]:
    """(stops of the running processors, processor deletes, connection deletes). Pure."""
    stops = [Chain(Phase.HOLD, "processor", n).add(StepKind.STOP_PROCESSOR, Target("processor", n))
             for n, state in sorted(processors.items()) if state in RUNNING]
    deletes = [Chain(Phase.PROCESSOR_DELETES, "processor", n).add(StepKind.DELETE_PROCESSOR, Target("processor", n))
               for n in sorted(processors)]
    connection_deletes = [Chain(Phase.CONNECTION_DELETES, "connection", n).add(StepKind.DELETE_CONNECTION,
                                                                               Target("connection", n))
                          for n in sorted(connections)]
    return flatten(stops), flatten(deletes), flatten(connection_deletes)


def destroy(runner, *, confirm: Callable[[str], bool], desired: DesiredState | None = None) -> Teardown:
    """Delete the environment's processors, what they wrote, its connections and workspace, verifying
    each stage. ``desired``: Git's definitions, when valid (they name data a rolled-back deploy wrote)."""
    settings, client = runner.settings, runner.client
    live = runner.live()
    out = Teardown(settings.name, settings.workspace, suffix=settings.sink_suffix)
    if live.workspace is None:
        out.complete, out.message = True, f"workspace {settings.workspace} does not exist: nothing to destroy"
        return out
    out.processors = tuple(p.name for p in live.processors)
    out.connections = tuple(c.name for c in live.connections)
    question = (f"Destroy feature environment {settings.name}: workspace {settings.workspace} with its "
                f"{len(out.processors)} processor(s) and {len(out.connections)} connection(s)?")
    if not confirm(question):
        out.message = "cancelled: nothing deleted"
        return out
    clear_before_workspace_delete(runner, live)  # a deploy running there refuses; a dead one's lock goes
    out.snapshot = runner.snapshot(live, "pre-destroy")
    runner.progress(f"snapshot saved: {out.snapshot}")
    stops, deletes, connection_steps = teardown_steps({p.name: p.state for p in live.processors},
                                                      list(out.connections))
    _stage(runner, out, stops, client.list_processors, "its processors to stop", PROCESSORS_TIMEOUT,
           done=lambda docs: not any(d.get("state") in RUNNING for d in docs))
    # Nothing writes any more, and the processors that say what was written still exist: an
    # interrupted destroy run again finds them and drops the same data (idempotent).
    _remove_data(runner, out, live, desired)
    _stage(runner, out, deletes, client.list_processors, "its processors to be deleted", PROCESSORS_TIMEOUT)
    _stage(runner, out, connection_steps, client.list_connections, "its connections to be deleted",
           CONNECTIONS_TIMEOUT)
    runner.progress(f"delete workspace: {settings.workspace}")
    client.delete_workspace()
    waiting.wait_until(client.get_workspace, lambda doc: doc is None, clock=runner.clock,
                       what=f"workspace {settings.workspace} to be deleted", timeout=WORKSPACE_TIMEOUT)
    out.complete = True
    out.message = (f"destroyed {settings.workspace}: {len(out.processors)} processor(s), "
                   f"{len(out.connections)} connection(s), the workspace and "
                   f"{_data_words(out)}; verified gone{_left_lines(out)}")
    return out


def _stage(runner, out: Teardown, steps: tuple[Step, ...], listing, what: str, timeout: float,
           done: Callable[[list], bool] = lambda docs: not docs) -> None:
    if steps:
        result = runner.apply(steps, DesiredState())
        out.steps += result.results
        if result.failure:
            out.message = f"destroy stopped: {result.failure}; run `invoke env.destroy {out.environment}` again"
            raise DeployError(out.message, out)
    waiting.wait_until(listing, done, clock=runner.clock, timeout=timeout, what=f"workspace {out.workspace}: {what}")


def _remove_data(runner, out: Teardown, live, desired: DesiredState | None) -> None:
    if not out.suffix:
        runner.progress("no SINK_SUFFIX in this environment: it wrote to its base's sinks, which destroy leaves alone")
    named = sinkdata.written_data([*live.processors, *(desired.processors if desired else ())],
                                  [*live.connections, *(desired.connections if desired else ())], out.suffix)
    out.on_emulator = sinkdata.is_emulator(runner.settings, runner.client.transport.base_url)
    try:
        removed, left = sinkdata.remove_data(runner.settings, runner.client, named)
    except DeployError as err:
        out.message = f"destroy stopped: {err}; run `invoke env.destroy {out.environment}` again"
        raise DeployError(out.message, out) from None
    for item in removed:
        runner.progress(f"dropped {item.describe()}")
    out.data, out.data_left = tuple(removed + left), tuple(left)


def _data_words(out: Teardown) -> str:
    dropped = [d for d in out.data if d not in out.data_left]
    return f"{len(dropped)} database(s)/topic(s) it wrote" + (f" ({len(out.data_left)} left: see below)"
                                                                if out.data_left else "")


def _left_lines(out: Teardown) -> str:
    """What Atlas keeps: its Admin API cannot drop a database in a cluster or a Kafka topic. Say so, and how."""
    if out.on_emulator or not out.suffix:
        return ""
    lines = ["", f"Left in place: the Atlas Admin API cannot drop data in a cluster or a Kafka topic. Everything "
                 f"this environment wrote is in databases and topics whose names end in {out.suffix}."]
    if out.data_left:
        lines.append("Drop these (read from its processors before they were deleted, and from Git) with:")
        lines += [f"  {d.describe()}:\n    {d.how_to_drop()}" for d in out.data_left]
    return "\n".join(lines)


def render_text(out: Teardown) -> str:
    from sp_tasks.cli import views

    rows = [[r.step.kind.value.replace("_", " "), r.step.target.name, r.status, round(r.seconds, 1), r.detail]
            for r in out.steps]
    table = views.table(views.STEP_HEADERS, rows) + "\n" if rows else ""
    return f"{table}{out.message}"
