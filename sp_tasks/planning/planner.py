"""compute_plan: pair desired with live by name, decide each pair, sort into apply order.

Pure: the same desired state, live state and arguments give the same Plan. The decisions
themselves live in ``planning.processors`` and ``planning.connections``; this module pairs,
resolves tiers, works out which connections are still used, and orders the result:
connections (create/update/replace) → processors → processor deletes → connection deletes,
then by kind and name, so the order is total and testable.

Tier: a processor's tier is its file's ``tier``; else ``resolve_tier`` (a callable taking the
ProcessorSpec, or a mapping name → tier, e.g. tier advice for ``auto``); else ``default_tier``.
``auto`` must be resolved by the caller; an unresolved or unknown tier is a ConfigError.

``exact`` is for rollback to a snapshot: everything not in the snapshot is deleted, including
the ``__blue``/``__green``/``__canary`` copies a deploy made (it implies prune for processors).
``identities`` (the snapshot's name → ``_id``) makes a rollback rename a processor back rather
than recreate it; without it, leftovers of an interrupted deploy are repaired unless ``lock``
says a live deploy owns them (``planning.repairs``). Repairs come first, in their own order; the
rest is planned against live state as the repairs leave it. Pruning X also removes its
rollback targets (``X__blue``, ``X__retired``): left alone they would look like an interrupted
cut-over and be renamed back to X.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping

from sp_tasks.errors import ConfigError
from sp_tasks.model import BLUE_SUFFIX, RETIRED_SUFFIX, TIERS, DesiredState, LiveState, ProcessorSpec
from sp_tasks.planning.connections import decide_connection, referenced_connections
from sp_tasks.planning.plan import Action, Change, Plan, fingerprint
from sp_tasks.planning.processors import decide_processor
from sp_tasks.planning.repairs import plan_repairs, project

TierSource = Callable[[ProcessorSpec], str] | Mapping[str, str] | None


def compute_plan(
    desired: DesiredState,
    live: LiveState,
    *,
    environment: str,
    workspace: str,
    project_id: str,
    default_tier: str,
    prune: bool = False,
    rotate_secrets: bool = False,
    resolve_tier: TierSource = None,
    created_at: str = "",
    exact: bool = False,
    identities: Mapping[str, str] | None = None,
    lock: Mapping[str, Any] | None = None,
) -> Plan:
    """Decide what deploy would do to ``live`` to make it match ``desired``."""
    if exact and identities is None:
        identities = {}  # a rollback restores what the snapshot recorded, leftovers included
    repairs = plan_repairs(live, identities=identities, deploy_running=bool(lock and lock.get("live")))
    repaired = project(live, repairs)
    processors = _plan_processors(desired, repaired, default_tier, resolve_tier, prune=prune, exact=exact)
    connections = _plan_connections(desired, repaired, processors, prune=prune or exact, rotate_secrets=rotate_secrets)
    return Plan(
        environment=environment,
        workspace=workspace,
        project_id=project_id,
        created_at=created_at,
        changes=tuple(repairs) + tuple(sorted(connections + processors, key=order_key)),
        live_fingerprint=fingerprint(live),
        prune=prune,
        rotate_secrets=rotate_secrets,
        exact=exact,
        default_tier=default_tier,
        lock=dict(lock) if lock else None,
    )


def order_key(change: Change) -> tuple[int, str, str]:
    """Apply order: connections, processors, processor deletes, connection deletes; then name."""
    if change.action is Action.DELETE:
        group = 2 if change.kind == "processor" else 3
    else:
        group = 0 if change.kind == "connection" else 1
    return group, change.kind, change.name


def _plan_processors(desired, live, default_tier, resolve_tier, *, prune: bool, exact: bool) -> list[Change]:
    tier_of = _tier_resolver(default_tier, resolve_tier)
    live_by_name = {p.name: p for p in live.processors}
    changes = [
        decide_processor(spec, live_by_name.get(spec.name), tier=tier_of(spec), prune=prune, exact=exact)
        for spec in desired.processors
    ]
    wanted = {spec.name for spec in desired.processors}
    changes += [
        decide_processor(None, proc, tier=None, prune=prune, exact=exact)
        for proc in live.processors
        if proc.name not in wanted
    ]
    return _with_targets_of_deleted(changes)


def _with_targets_of_deleted(changes: list[Change]) -> list[Change]:
    """Rollback targets of a pruned processor go with it (see module docstring)."""
    deleted = {c.name for c in changes if c.action is Action.DELETE}
    return [_deleted_target(c) if c.action is Action.NOOP and c.after is None and _target_of(c.name) in deleted
            else c for c in changes]


def _target_of(name: str) -> str:
    for suffix in (BLUE_SUFFIX, RETIRED_SUFFIX):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return ""


def _deleted_target(change: Change) -> Change:
    return replace(change, action=Action.DELETE, reason=f"rollback target of {_target_of(change.name)}, which is "
                   "deleted", consequence="processor, checkpoint and window state are destroyed", stop_window="permanent")


def _tier_resolver(default_tier: str, resolve_tier: TierSource) -> Callable[[ProcessorSpec], str]:
    def tier_of(spec: ProcessorSpec) -> str:
        tier = spec.tier if spec.tier and spec.tier != "auto" else None
        if tier is None and callable(resolve_tier):
            tier = resolve_tier(spec)
        elif tier is None and resolve_tier is not None:
            tier = resolve_tier.get(spec.name)
        tier = tier or default_tier
        if tier not in TIERS:
            raise ConfigError(
                f"processor {spec.name} ({spec.file or 'processors/'}): tier {tier!r} is not one of "
                f"{', '.join(TIERS)}; set \"tier\" in the file or DEFAULT_TIER (auto needs tier advice)"
            )
        return tier

    return tier_of


def _plan_connections(desired, live, processors: list[Change], *, prune: bool, rotate_secrets: bool) -> list[Change]:
    users = _users(processors)
    live_by_name = {c.name: c for c in live.connections}
    flags = dict(prune=prune, rotate_secrets=rotate_secrets)
    changes = [
        decide_connection(spec, live_by_name.get(spec.name), users=users.get(spec.name, ()), **flags)
        for spec in desired.connections
    ]
    wanted = {spec.name for spec in desired.connections}
    changes += [
        decide_connection(None, conn, users=users.get(conn.name, ()), **flags)
        for conn in live.connections
        if conn.name not in wanted
    ]
    return changes


def _users(processors: list[Change]) -> dict[str, tuple[str, ...]]:
    """Connection name → processors using it after apply (desired ones, and live ones kept)."""
    found: dict[str, set[str]] = {}
    for change in processors:
        doc = change.after if change.after is not None else change.before
        if change.action is Action.DELETE or doc is None:
            continue
        for name in referenced_connections(doc.get("pipeline", []), doc.get("options")):
            found.setdefault(name, set()).add(change.name)
    return {name: tuple(sorted(users)) for name, users in found.items()}
