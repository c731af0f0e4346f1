"""perf-ab's plan on paper: which processors changed between base and head, and their side-by-side copies.

Pure. Each processor is paired by name across the base revision's and the working tree's
definitions and classified:

* ``changed`` — its definition fingerprint differs (pipeline, options, tier), or a connection it
  reads or writes differs (non-secret fields): base and head copies are measured and judged;
* ``unchanged`` — same fingerprint and connections: measured too, as the built-in A/A check
  (identical copies must come out unchanged, else the measurement is not to be trusted);
* ``added`` / ``removed`` — only in head / only in base: nothing to pair, reported as such;
* ``skipped`` — not started in Git (``"state": "STOPPED"``), or a copy could not write to sinks of
  its own (S3/Kinesis sinks, ``$https``/``$externalFunction`` side effects; see
  :func:`sp_tasks.deploy.shadow.shadow_definition`): never copied.

A copy ``X__ab_base`` / ``X__ab_head`` (:data:`sp_tasks.model.AB_BASE_SUFFIX`, reserved, so
validation refuses the names in Git and plans never prune them implicitly) has X's definition
with every sink, DLQ collection and Kafka consumer group suffixed the same way, and is created
STOPPED: perf-ab starts and stops the copies round by round.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Iterable

from sp_tasks.errors import StrategyError
from sp_tasks.model import AB_BASE_SUFFIX, AB_HEAD_SUFFIX, DesiredState, ProcessorSpec, ProcessorState

BASE, HEAD = "base", "head"
SUFFIX = {BASE: AB_BASE_SUFFIX, HEAD: AB_HEAD_SUFFIX}
CHANGED, UNCHANGED, ADDED, REMOVED, SKIPPED = "changed", "unchanged", "added", "removed", "skipped"
MEASURED = (CHANGED, UNCHANGED)


@dataclass(frozen=True)
class Pairing:
    name: str
    status: str
    base: ProcessorSpec | None
    head: ProcessorSpec | None
    why: str = ""  # what changed, or why it is skipped
    base_fingerprint: str = ""
    head_fingerprint: str = ""

    def spec(self, variant: str) -> ProcessorSpec | None:
        return self.base if variant == BASE else self.head

    def fingerprint(self, variant: str) -> str:
        return self.base_fingerprint if variant == BASE else self.head_fingerprint


def copy_name(name: str, variant: str) -> str:
    return name + SUFFIX[variant]


def original_name(copy: str) -> str:
    for suffix in SUFFIX.values():
        if copy.endswith(suffix):
            return copy[: -len(suffix)]
    return copy


def is_copy(name: str) -> bool:
    return name.endswith(tuple(SUFFIX.values()))


def _connection_digest(spec: ProcessorSpec, state: DesiredState) -> str:
    from sp_tasks.planning.connections import referenced_connections
    from sp_tasks.planning.normalize import canonical_document, connection_document

    docs = []
    for name in sorted(referenced_connections(spec.pipeline, spec.options)):
        conn = state.connection(name)
        if conn is not None:
            docs.append(connection_document(conn.body, name=conn.name, type=conn.type, secrets=conn.secret_paths))
    text = json.dumps(canonical_document({"connections": docs}), separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _fingerprint(spec: ProcessorSpec, default_tier: str) -> str:
    from sp_tasks.profiling.fingerprints import definition_fingerprint

    return definition_fingerprint(spec.pipeline, spec.options, spec.tier or default_tier)


def _classify(name: str, base: ProcessorSpec | None, head: ProcessorSpec | None, states: tuple[DesiredState, DesiredState],
              default_tier: str) -> Pairing:
    prints = [_fingerprint(s, default_tier) if s else "" for s in (base, head)]
    if base is None or head is None:
        return Pairing(name, ADDED if base is None else REMOVED, base, head, "", *prints)
    stopped = [v for v, s in ((BASE, base), (HEAD, head)) if s.desired_state is ProcessorState.STOPPED]
    if stopped:
        return Pairing(name, SKIPPED, base, head, f"not started in Git ({' and '.join(stopped)})", *prints)
    why = []
    if prints[0] != prints[1]:
        why.append("definition")
    if _connection_digest(base, states[0]) != _connection_digest(head, states[1]):
        why.append("connection")
    return Pairing(name, CHANGED if why else UNCHANGED, base, head, " and ".join(why), *prints)


def pair_processors(base: DesiredState, head: DesiredState, *, default_tier: str) -> list[Pairing]:
    """Every processor of base or head, by name, classified (see the module docstring)."""
    names = sorted({p.name for p in base.processors} | {p.name for p in head.processors})
    return [_classify(n, base.processor(n), head.processor(n), (base, head), default_tier) for n in names]


def make_copy(spec: ProcessorSpec, variant: str, default_tier: str) -> ProcessorSpec:
    """X's definition as ``X__ab_<variant>``, its sinks suffixed, created STOPPED.

    Raises:
        StrategyError: X's output cannot be redirected to sinks of its own.
    """
    from sp_tasks.deploy.shadow import shadow_definition

    suffix = SUFFIX[variant]
    doc = shadow_definition({"pipeline": spec.pipeline, "options": spec.options}, source=spec.name, suffix=suffix)
    return replace(spec, name=spec.name + suffix, pipeline=doc["pipeline"], options=doc.get("options"),
                   tier=spec.tier or default_tier, desired_state=ProcessorState.STOPPED)


def copies_for(pairings: Iterable[Pairing], default_tier: str) -> tuple[list[Pairing], list[ProcessorSpec]]:
    """(pairings with the uncopyable ones turned ``skipped``, the copies of every measured one)."""
    out, copies = [], []
    for p in pairings:
        if p.status not in MEASURED:
            out.append(p)
            continue
        try:
            made = [make_copy(p.spec(v), v, default_tier) for v in (BASE, HEAD)]
        except StrategyError as err:
            why = str(err).split("(", 1)[-1].split(")", 1)[0]
            out.append(replace(p, status=SKIPPED, why=f"a copy cannot write to sinks of its own: {why}"))
            continue
        out.append(p)
        copies += made
    return out, copies
