"""``env.destroy``: remove everything a feature environment put in Atlas, in the order Atlas needs.

Processors first (running ones stopped, then deleted), then connections (Atlas refuses to delete
one a processor still uses), then the workspace (refused while processors exist). Deletes are
asynchronous in Atlas (DELETING, then 404), so each stage waits until the listing is empty before
the next begins, and the end is verified: the workspace must answer 404. Every stage is
idempotent, so an interrupted destroy is finished by running it again. Before anything is deleted
a snapshot of the workspace is saved (``.sp/snapshots/<env>/``), as ``sp processors drop`` does.

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
    steps: list[Any] = field(default_factory=list)  # StepResults of both stages
    complete: bool = False  # the workspace is verified gone
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "workspace": self.workspace, "complete": self.complete,
                "message": self.message, "processors": list(self.processors), "connections": list(self.connections),
                "snapshot": str(self.snapshot) if self.snapshot else None,
                "steps": [r.to_json() for r in self.steps]}


def check_feature(settings, env: FeatureEnv) -> None:
    """Refuse (ConfigError) unless ``settings`` are the derived feature environment ``env``."""
    derived = Path(settings.directory).parts[:2] == DERIVED_ENVIRONMENTS.parts if settings.directory else False
    if not derived or settings.variables.get(MARKER) != env.base or settings.workspace != workspace_name(env.name):
        raise ConfigError(f"environment {settings.name} is not the feature environment {env.name} made by "
                          f"`invoke env.create` (expected {DERIVED_ENVIRONMENTS.as_posix()}/{env.name}/ with "
                          f"WORKSPACE_NAME={workspace_name(env.name)} and {MARKER}={env.base}); nothing was deleted")


def teardown_steps(processors: dict[str, str], connections: list[str]) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """(processor steps, connection steps): stop the running ones, delete all. Pure."""
    chains = []
    for name, state in sorted(processors.items()):
        chain = Chain(Phase.PROCESSOR_DELETES, "processor", name)
        if state in RUNNING:
            chain.add(StepKind.STOP_PROCESSOR, Target("processor", name))
        chains.append(chain.add(StepKind.DELETE_PROCESSOR, Target("processor", name)))
    deletes = [Chain(Phase.CONNECTION_DELETES, "connection", n).add(StepKind.DELETE_CONNECTION, Target("connection", n))
               for n in sorted(connections)]
    return flatten(chains), flatten(deletes)


def destroy(runner, *, confirm: Callable[[str], bool]) -> Teardown:
    """Delete the environment's processors, connections and workspace, verifying each stage."""
    settings, client = runner.settings, runner.client
    live = runner.live()
    out = Teardown(settings.name, settings.workspace)
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
    processor_steps, connection_steps = teardown_steps({p.name: p.state for p in live.processors},
                                                       list(out.connections))
    _stage(runner, out, processor_steps, client.list_processors, "its processors to be deleted", PROCESSORS_TIMEOUT)
    _stage(runner, out, connection_steps, client.list_connections, "its connections to be deleted",
           CONNECTIONS_TIMEOUT)
    runner.progress(f"delete workspace: {settings.workspace}")
    client.delete_workspace()
    waiting.wait_until(client.get_workspace, lambda doc: doc is None, clock=runner.clock,
                       what=f"workspace {settings.workspace} to be deleted", timeout=WORKSPACE_TIMEOUT)
    out.complete = True
    out.message = (f"destroyed {settings.workspace}: {len(out.processors)} processor(s), "
                   f"{len(out.connections)} connection(s) and the workspace; verified gone")
    return out


def _stage(runner, out: Teardown, steps: tuple[Step, ...], listing, what: str, timeout: float) -> None:
    if steps:
        result = runner.apply(steps, DesiredState())
        out.steps += result.results
        if result.failure:
            out.message = f"destroy stopped: {result.failure}; run `invoke env.destroy {out.environment}` again"
            raise DeployError(out.message, out)
    waiting.wait_until(listing, lambda docs: not docs, clock=runner.clock, timeout=timeout,
                       what=f"workspace {out.workspace}: {what}")


def render_text(out: Teardown) -> str:
    from sp_tasks.cli import views

    rows = [[r.step.kind.value.replace("_", " "), r.step.target.name, r.status, round(r.seconds, 1), r.detail]
            for r in out.steps]
    table = views.table(views.STEP_HEADERS, rows) + "\n" if rows else ""
    return f"{table}{out.message}"
