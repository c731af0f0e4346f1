"""Deploy strategies: turn a Plan into ordered Steps (in-place, blue-green, canary). Pure.

Strategies differ only in how a processor ``update``/``update-reset`` that ends STARTED is
carried out; creates, deletes, starts, stops and connections are the same in all of them.

- in-place: stop → modify (``resumeFromCheckpoint: false`` for update-reset) → start.
- blue-green (X): create ``X__green`` with the new definition → start it → health-check it →
  stop X → park an older ``X__blue`` as ``X__retired`` → rename X → ``X__blue`` (kept stopped as
  the rollback target, same ``_id`` and checkpoint) → stop green → rename green → X → start X,
  resuming green's checkpoint; ``X__retired`` is deleted only after the final health gate, so a
  failed deploy can rename every processor back. The new X starts without X's old checkpoint;
  green writes to the same sinks as X while it is verified.
- canary (X, running): create ``X__canary`` writing to shadow sinks → start → compare it with
  X → delete it → apply X in place. Shadow sinks: ``$merge.into.coll``, ``$emit.topic``, a
  time-series ``$emit.coll`` and ``options.dlq.coll`` get the ``__canary`` suffix; ``$emit`` to
  ``__testLog`` is left alone. Any other sink (S3, Kinesis, a terminal ``$externalFunction``/
  ``$https``, a target given by an expression) cannot be shadowed safely: StrategyError.

A connection being replaced is deleted and created again, so every running processor using it
is stopped first (phase HOLD) and restored to its planned state afterwards. Every plan that
starts processors ends with one ``verify_health`` over all of them (phase HEALTH), before any
delete. Rollback is not a strategy: it is a plan from a snapshot, applied in place.

Repairs (``Change.repair``: leftovers of an interrupted deploy, originals renamed back) run first,
in plan order, as one chain (phase REPAIR); every other step is built against live state as the
repairs leave it (``planning.repairs.project``).

Every step that sends a definition (create, modify, a green or canary copy) carries the change's
``secret_paths``; copies name their original in ``secrets_from``. A plan with ``missing_secrets``
is refused here, before any step exists, so nothing is half-applied for want of a secret.
"""
from __future__ import annotations

from typing import Any

from sp_tasks.deploy.shadow import shadow_definition
from sp_tasks.deploy.steps import Chain, Phase, Step, Target, flatten
from sp_tasks.deploy.steps import StepKind as K
from sp_tasks.errors import ConfigError, PlanError
from sp_tasks.model import BLUE_SUFFIX, CANARY_SUFFIX, GREEN_SUFFIX, RETIRED_SUFFIX, LiveState
from sp_tasks.planning.connections import referenced_connections
from sp_tasks.planning.plan import Action, Change, Plan
from sp_tasks.planning.processors import RUNNING
from sp_tasks.planning.repairs import project, repairs_of

STRATEGIES = ("in-place", "blue-green", "canary")
BLUE_NOTE = (
    "keeps the old definition and checkpoint, stopped, as the rollback target; "
    "Atlas discards its state after 45 days stopped"
)
RETIRED_NOTE = "the older rollback target, parked (same _id) until the new processor passes the final health gate"


def build_steps(plan: Plan, *, strategy: str = "in-place", live: LiveState) -> tuple[Step, ...]:
    """Every step apply will take for ``plan``, in total order (phase, target kind, name)."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown deploy strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    _refuse_missing_secrets(plan)
    repairs = repairs_of(plan.changes)
    states = {p.name: p.state for p in project(live, repairs).processors}
    held = _held(plan, states)
    chains = [_repair_chain(repairs, plan.workspace)] + [_hold_chain(name) for name in sorted(held)]
    for change in plan.changes:
        if change.repair:
            continue
        if change.kind == "connection":
            chains.append(_connection_chain(change))
        elif _staged(change, strategy, held):
            chains += _blue_green(change, states) if strategy == "blue-green" else [_canary(change, states)]
        else:
            chains.append(_processor_chain(change, held))
    chains.append(_health_chain(plan.workspace, chains))
    return flatten([c for c in chains if c.steps])


def _refuse_missing_secrets(plan: Plan) -> None:
    missing = [c for c in plan.changes if c.missing_secrets]
    if missing:
        what = "; ".join(f"{c.kind} {c.name} ({c.action.value}) needs {', '.join(c.missing_secrets)}" for c in missing)
        raise PlanError(f"nothing sent: {what}, and no Git file of the same name and type supplies it (Atlas and "
                        "snapshots never hold secret values); add the file with its secrets as ${VAR}, then run again")


def _held(plan: Plan, states: dict[str, str]) -> set[str]:
    """Running processors that use a connection this plan replaces."""
    replaced = {c.name for c in plan.changes if c.kind == "connection" and c.action is Action.REPLACE}
    return {
        c.name
        for c in plan.changes
        if c.kind == "processor" and c.before and states.get(c.name) in RUNNING
        and referenced_connections(c.before["pipeline"], c.before.get("options")) & replaced
    }


def _repair_chain(repairs: list[Change], workspace: str) -> Chain:
    """Sequential, in plan order: a rename's target name is free only once the step before ran."""
    chain = Chain(Phase.REPAIR, "workspace", workspace)
    for change in repairs:
        current = change.renamed_from or change.name
        if change.live_state in RUNNING:
            chain.add(K.STOP_PROCESSOR, Target("processor", current), note="repair")
        if change.action is Action.RENAME:
            chain.add(K.RENAME_PROCESSOR, Target("processor", current), {"name": change.name},
                      note="repair: same _id, checkpoint and counters")
        else:
            chain.add(K.DELETE_PROCESSOR, Target("processor", current), note="repair: " + change.reason)
    return chain


def _hold_chain(name: str) -> Chain:
    note = "a connection it uses is being replaced"
    return Chain(Phase.HOLD, "processor", name).add(K.STOP_PROCESSOR, Target("processor", name), note=note)


def _connection_chain(change: Change) -> Chain:
    target = Target("connection", change.name)
    if change.action is Action.DELETE:
        return Chain(Phase.CONNECTION_DELETES, "connection", change.name).add(K.DELETE_CONNECTION, target)
    chain = Chain(Phase.CONNECTIONS, "connection", change.name)
    secrets = dict(secret_paths=change.secret_paths)
    if change.action is Action.REPLACE:
        chain.add(K.DELETE_CONNECTION, target).add(K.CREATE_CONNECTION, target, change.after, **secrets)
    elif change.action is Action.CREATE:
        chain.add(K.CREATE_CONNECTION, target, change.after, **secrets)
    elif change.action is Action.UPDATE:
        chain.add(K.UPDATE_CONNECTION, target, change.after, **secrets)
    if chain.steps:
        chain.add(K.WAIT_CONNECTION_READY, target)
    return chain


def _staged(change: Change, strategy: str, held: set[str]) -> bool:
    """Blue-green/canary apply to updates that end STARTED; a canary needs a running X to compare."""
    updating = change.action in (Action.UPDATE, Action.UPDATE_RESET)
    if strategy == "canary" and change.live_state not in RUNNING:
        return False
    return strategy != "in-place" and updating and change.desired_state == "STARTED" and change.name not in held


def _processor_chain(change: Change, held: set[str], chain: Chain | None = None) -> Chain:
    """In-place steps for one processor change (appended to ``chain`` when given)."""
    name, target = change.name, Target("processor", change.name)
    deleting = change.action is Action.DELETE
    chain = chain or Chain(Phase.PROCESSOR_DELETES if deleting else Phase.PROCESSORS, "processor", name)
    running = change.live_state in RUNNING and name not in held
    secrets = dict(secret_paths=change.secret_paths)
    if change.action is Action.CREATE:
        chain.add(K.CREATE_PROCESSOR, target, dict(change.after), **secrets)
    if running and (deleting or change.action in (Action.STOP, Action.UPDATE, Action.UPDATE_RESET)):
        chain.add(K.STOP_PROCESSOR, target)
    if deleting:
        return chain.add(K.DELETE_PROCESSOR, target)
    if change.action in (Action.UPDATE, Action.UPDATE_RESET) and _needs_modify(change):
        chain.add(K.MODIFY_PROCESSOR, target, _modify_body(change), **secrets)
    if _ends_started(change, held):
        chain.add(K.START_PROCESSOR, target, _start_body(change))
    return chain


def _ends_started(change: Change, held: set[str]) -> bool:
    if change.action in (Action.CREATE, Action.START, Action.UPDATE, Action.UPDATE_RESET):
        return change.desired_state == "STARTED"
    # Held for a connection replace: restore what the plan keeps (no-op, desired or live-only).
    return change.action is Action.NOOP and change.name in held


def _needs_modify(change: Change) -> bool:
    """Only a tier change on a processor that restarts is carried by startWith alone."""
    paths = {f.path for f in change.fields} - {"/state"}
    return paths != {"/tier"} or change.desired_state != "STARTED"


def _modify_body(change: Change) -> dict:
    after, before = change.after, change.before or {}
    body: dict = {"pipeline": after["pipeline"]}
    options = dict(after.get("options") or {})
    if "dlq" not in options and "dlq" in (before.get("options") or {}):
        options["dlq"] = {}  # Atlas removes a DLQ only when told so explicitly
    if change.action is Action.UPDATE_RESET:
        options["resumeFromCheckpoint"] = False
    if options:
        body["options"] = options
    if after.get("tier"):
        body["tier"] = after["tier"]
    return body


def _start_body(change: Change) -> dict:
    body: dict = {"resumeFromCheckpoint": change.action is not Action.UPDATE_RESET}
    tier = change.tier or (change.before or {}).get("tier")
    return {"tier": tier, **body} if tier else body


def _copy_secrets(change: Change) -> dict[str, Any]:
    """A copy (green, canary) is sent with its original's secrets, from the original's Git file."""
    return dict(secret_paths=change.secret_paths, secrets_from=change.name if change.secret_paths else "")


def _renamed(change: Change, name: str, after: dict | None = None) -> dict:
    return {**(after or change.after), "name": name}


def _remove_copy(chain: Chain, name: str, states: dict[str, str], note: str) -> None:
    if name not in states:
        return
    if states[name] in RUNNING:
        chain.add(K.STOP_PROCESSOR, Target("processor", name), note=note)
    chain.add(K.DELETE_PROCESSOR, Target("processor", name), note=note)


def _blue_green(change: Change, states: dict[str, str]) -> list[Chain]:
    x = change.name
    blue, green, retired = x + BLUE_SUFFIX, x + GREEN_SUFFIX, x + RETIRED_SUFFIX
    chain = Chain(Phase.PROCESSORS, "processor", x)
    _remove_copy(chain, green, states, "left over by an interrupted deploy")
    start = {"tier": change.tier, "resumeFromCheckpoint": True}
    note = f"new definition without a checkpoint; writes to {x}'s sinks while it is verified"
    chain.add(K.CREATE_PROCESSOR, Target("processor", green), _renamed(change, green), note=note,
              **_copy_secrets(change))
    chain.add(K.START_PROCESSOR, Target("processor", green), start)
    chain.add(K.VERIFY_HEALTH, Target("processor", green), {"processors": [green]})
    if states.get(x) in RUNNING:
        chain.add(K.STOP_PROCESSOR, Target("processor", x))
    cleanup = Chain(Phase.PROCESSOR_DELETES, "processor", retired)
    if blue in states:
        _remove_copy(chain, retired, states, "an even older rollback target")
        if states[blue] in RUNNING:
            chain.add(K.STOP_PROCESSOR, Target("processor", blue))
        chain.add(K.RENAME_PROCESSOR, Target("processor", blue), {"name": retired}, note=RETIRED_NOTE)
        cleanup.add(K.DELETE_PROCESSOR, Target("processor", retired), note="the new rollback target is " + blue)
    chain.add(K.RENAME_PROCESSOR, Target("processor", x), {"name": blue}, note=BLUE_NOTE)
    chain.add(K.STOP_PROCESSOR, Target("processor", green))
    chain.add(K.RENAME_PROCESSOR, Target("processor", green), {"name": x})
    chain.add(K.START_PROCESSOR, Target("processor", x), start, note="resumes the green copy's checkpoint")
    return [chain, cleanup]


def _canary(change: Change, states: dict[str, str]) -> Chain:
    x = change.name
    canary = x + CANARY_SUFFIX
    chain = Chain(Phase.PROCESSORS, "processor", x)
    _remove_copy(chain, canary, states, "left over by an earlier canary")
    shadow = _renamed(change, canary, shadow_definition(change.after, source=x))
    chain.add(K.CREATE_PROCESSOR, Target("processor", canary), shadow, note="writes to shadow sinks only",
              **_copy_secrets(change))
    chain.add(K.START_PROCESSOR, Target("processor", canary), {"tier": change.tier, "resumeFromCheckpoint": True})
    chain.add(K.COMPARE_CANARY, Target("processor", canary), {"baseline": x, "canary": canary})
    chain.add(K.STOP_PROCESSOR, Target("processor", canary))
    chain.add(K.DELETE_PROCESSOR, Target("processor", canary))
    return _processor_chain(change, set(), chain)


def _health_chain(workspace: str, chains: list[Chain]) -> Chain:
    """One gate over every processor the plan (re)starts under its own name."""
    starts = [
        s for c in chains if c.phase == Phase.PROCESSORS for s in c.steps
        if s.kind is K.START_PROCESSOR and s.target.name == c.sort_key[2]
    ]
    chain = Chain(Phase.HEALTH, "workspace", workspace)
    if starts:
        names = sorted(s.target.name for s in starts)
        chain.add(K.VERIFY_HEALTH, Target("workspace", workspace), {"processors": names})
    return chain
