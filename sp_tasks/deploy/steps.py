"""Steps: the unit of work the executor carries out, one API call (or one wait/check) each.

A step is data: what to do (``kind``), to what (``target``), the API body to send
(``payload``), when (``phase``) and after what (``depends_on``). Phases run in order; inside a
phase, steps whose dependencies are done may run in parallel (different processors). Every
chain of steps on one object lists its predecessor in ``depends_on``, so the executor needs
no other ordering knowledge. ``note`` is for people only.

Payloads never contain secret values: ``secret_paths`` names the secrets the executor copies in
from the Git definition named ``secrets_from`` (the target itself unless it is a deploy copy such
as ``X__green``) just before sending.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from sp_tasks.secrets import document_secrets, redact, repr_with


class StepKind(str, Enum):
    CREATE_CONNECTION = "create_connection"
    UPDATE_CONNECTION = "update_connection"
    DELETE_CONNECTION = "delete_connection"
    WAIT_CONNECTION_READY = "wait_connection_ready"
    CREATE_PROCESSOR = "create_processor"
    STOP_PROCESSOR = "stop_processor"
    MODIFY_PROCESSOR = "modify_processor"
    START_PROCESSOR = "start_processor"
    DELETE_PROCESSOR = "delete_processor"
    RENAME_PROCESSOR = "rename_processor"
    VERIFY_HEALTH = "verify_health"
    COMPARE_CANARY = "compare_canary"


# The endpoint (``sp_tasks.atlas.paths`` name) each kind calls; None = no write, the executor
# reads (getStreamConnection / getStreamProcessor(s)) until the condition holds or times out.
ENDPOINTS: dict[StepKind, str | None] = {
    StepKind.CREATE_CONNECTION: "createStreamConnection",
    StepKind.UPDATE_CONNECTION: "updateStreamConnection",
    StepKind.DELETE_CONNECTION: "deleteStreamConnection",
    StepKind.WAIT_CONNECTION_READY: None,  # poll getStreamConnection until state READY
    StepKind.CREATE_PROCESSOR: "createStreamProcessor",
    StepKind.STOP_PROCESSOR: "stopStreamProcessor",
    StepKind.MODIFY_PROCESSOR: "updateStreamProcessor",
    StepKind.START_PROCESSOR: "startStreamProcessorWith",
    StepKind.DELETE_PROCESSOR: "deleteStreamProcessor",
    StepKind.RENAME_PROCESSOR: "updateStreamProcessor",  # body {"name": new name}
    StepKind.VERIFY_HEALTH: None,  # health gate over payload["processors"]
    StepKind.COMPARE_CANARY: None,  # compare payload["baseline"] with payload["canary"]
}


class Phase:
    """Phase numbers, in the order they run."""

    REPAIR = 0  # one sequential chain: leftovers removed, originals renamed back (planning/repairs.py)
    HOLD = 1  # stop running processors that use a connection about to be replaced
    CONNECTIONS = 2  # create / update / replace connections, wait until READY
    PROCESSORS = 3  # create, stop → modify → start, blue-green and canary chains
    HEALTH = 4  # the health gate over every processor started in PROCESSORS
    PROCESSOR_DELETES = 5
    CONNECTION_DELETES = 6


@dataclass(frozen=True)
class Target:
    kind: str  # "connection" | "processor" | "workspace"
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    target: Target
    payload: dict[str, Any]
    phase: int
    depends_on: tuple[str, ...] = ()
    secret_paths: tuple[str, ...] = ()
    note: str = ""
    secrets_from: str = ""  # Git definition holding the secrets; "" = the target's own name

    def __repr__(self) -> str:  # payloads hold no secrets; this keeps a hand-made Step honest too
        return repr_with(self, payload=redact(self.payload, document_secrets(self.target.kind, self.payload,
                                                                              self.secret_paths)))

    @property
    def endpoint(self) -> str | None:
        return ENDPOINTS[self.kind]


class Chain:
    """Builds one ordered run of steps; each step depends on the one before it."""

    def __init__(self, phase: int, kind: str, name: str):
        self.phase, self.sort_key = phase, (phase, kind, name)
        self.steps: list[Step] = []

    def add(self, kind: StepKind, target: Target, payload: dict[str, Any] | None = None, **extra: Any) -> "Chain":
        depends = (self.steps[-1].id,) if self.steps else ()
        step_id = f"{kind.value}:{target.name}"
        self.steps.append(Step(step_id, kind, target, payload or {}, self.phase, depends, **extra))
        return self


def flatten(chains: list[Chain]) -> tuple[Step, ...]:
    """Chains in total order (phase, target kind, name), step ids made unique."""
    steps: list[Step] = []
    seen: dict[str, int] = {}
    renamed: dict[str, str] = {}
    for chain in sorted(chains, key=lambda c: c.sort_key):
        for step in chain.steps:
            seen[step.id] = seen.get(step.id, 0) + 1
            unique = step.id if seen[step.id] == 1 else f"{step.id}#{seen[step.id]}"
            depends = tuple(renamed.get(d, d) for d in step.depends_on)
            renamed[step.id] = unique
            steps.append(replace(step, id=unique, depends_on=depends))
    return tuple(steps)


def chains_of(steps: list[Step]) -> list[list[Step]]:
    """The inverse of :func:`flatten`: a phase's steps grouped into their dependency chains (each
    step depends on at most its predecessor), which the executor runs in parallel."""
    by_id = {s.id: s for s in steps}
    heads = [s for s in steps if not any(d in by_id for d in s.depends_on)]
    followers: dict[str, list[Step]] = {}
    for s in steps:
        for d in s.depends_on:
            followers.setdefault(d, []).append(s)
    chains = []
    for head in heads:
        chain, current = [head], head
        while followers.get(current.id):
            current = followers[current.id][0]
            chain.append(current)
        chains.append(chain)
    return chains
