"""Golden plan scenarios: load tests/cases/plan/<scenario>/ into desired, live and plan arguments.

A scenario holds ``desired/processors/*.json`` and ``desired/connections/*.json`` (files as a
user writes them; ``"state"`` in a processor file is its desired state) or ``snapshot.json``
(rollback: the snapshot is the desired state), ``live.json`` (a snapshot-format document with
API documents exactly as GET/list return them, noise included), optional ``args.json``
(``prune``, ``rotate_secrets``, ``exact``, ``default_tier``, ``strategy``, ``lock``; a snapshot's
``_id``s are the rollback's identities), and the expected
``expected.json`` (plan JSON without created_at), ``expected.txt`` and ``expected_steps.json``.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sp_tasks.deploy.strategies import build_steps
from sp_tasks.model import ConnectionSpec, DesiredState, ProcessorSpec, ProcessorState
from sp_tasks.planning.normalize import get_pointer, secret_pointers
from sp_tasks.planning.planner import compute_plan
from sp_tasks.planning.snapshot_desired import desired_from_snapshot, identities_from_snapshot, live_from_snapshot

CASES = Path(__file__).resolve().parents[1] / "cases" / "plan"
CREATED_AT = "2024-06-01T12:00:00Z"


def scenario_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if p.is_dir())


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_desired(case: Path) -> DesiredState:
    if (case / "snapshot.json").exists():
        return desired_from_snapshot(_read(case / "snapshot.json"))
    processors = tuple(_processor(p) for p in sorted((case / "desired" / "processors").glob("*.json")))
    connections = tuple(_connection(p) for p in sorted((case / "desired" / "connections").glob("*.json")))
    return DesiredState(processors=processors, connections=connections)


def _processor(path: Path) -> ProcessorSpec:
    doc = _read(path)
    return ProcessorSpec(
        name=doc["name"],
        pipeline=doc["pipeline"],
        options=doc.get("options"),
        tier=doc.get("tier"),
        desired_state=ProcessorState(doc.get("state", "STARTED")),
        file=f"processors/{path.name}",
    )


def _connection(path: Path) -> ConnectionSpec:
    doc = _read(path)
    return ConnectionSpec(name=doc["name"], type=doc["type"], body=doc, file=f"connections/{path.name}")


def secret_values(desired: DesiredState) -> list[str]:
    """Every secret value in the desired connections: none may appear in any output."""
    values = []
    for conn in desired.connections:
        values += [str(get_pointer(conn.body, p)) for p in secret_pointers(conn.body, conn.secret_paths)]
    return values


def run_scenario(case: Path):
    """(plan, steps, secret values) for one scenario directory."""
    args = _read(case / "args.json") if (case / "args.json").exists() else {}
    desired, live = load_desired(case), live_from_snapshot(_read(case / "live.json"))
    snapshot = case / "snapshot.json"
    plan = compute_plan(
        desired,
        live,
        environment="staging",
        workspace="ws-staging",
        project_id="0123456789abcdef01234567",
        default_tier=args.get("default_tier", "SP10"),
        prune=args.get("prune", False),
        rotate_secrets=args.get("rotate_secrets", False),
        exact=args.get("exact", False),
        identities=identities_from_snapshot(_read(snapshot)) if snapshot.exists() else None,
        lock=args.get("lock"),
        created_at=CREATED_AT,
    )
    steps = build_steps(plan, strategy=args.get("strategy", "in-place"), live=live)
    return plan, steps, secret_values(desired)


def steps_document(steps) -> list[dict[str, Any]]:
    return [{**asdict(s), "kind": s.kind.value, "endpoint": s.endpoint} for s in steps]
