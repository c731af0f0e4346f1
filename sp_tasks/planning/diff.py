"""Field-level diff of two normalized documents: which JSON pointers changed, from what to what.

Pure and order-aware. Arrays are aligned with a longest-common-subsequence match, so inserting
one stage reports one added stage rather than every later stage as changed. Below the
``ordered`` prefixes (the pipeline) a dict whose keys were reordered is reported as one change
of the whole dict, because MongoDB reads those keys in order; elsewhere key order is ignored.
Numbers compare canonically (10 == 10.0). Reported values are the documents' own values, as
written, never the canonical form.

Pointer indexes refer to ``after`` for added and changed array items and to ``before`` for
removed ones. ``None`` stands for "absent" on either side.
"""
from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Iterable

from sp_tasks.planning.normalize import canonical_json, same
from sp_tasks.pointers import join as join_pointer
from sp_tasks.secrets import redact_at

ORDERED_PREFIXES = ("/pipeline",)


@dataclass(frozen=True)
class FieldChange:
    """One changed location. ``before`` None = added, ``after`` None = removed."""

    path: str
    before: Any
    after: Any


def compute_diff(before: Any, after: Any, *, ordered: tuple[str, ...] = ORDERED_PREFIXES) -> tuple[FieldChange, ...]:
    """Every changed location between two documents, in document order."""
    return tuple(_diff("", before, after, ordered))


def _is_ordered(path: str, ordered: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ordered)


def _contains_ordered(path: str, ordered: tuple[str, ...]) -> bool:
    return any(p.startswith(path + "/") for p in ordered)


def _diff(path: str, before: Any, after: Any, ordered: tuple[str, ...]) -> list[FieldChange]:
    in_order = _is_ordered(path, ordered)
    # Strict (ordered) comparison when an ordered part lies below, so its key order counts.
    if same(before, after, ordered=in_order or _contains_ordered(path, ordered)):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        return _diff_dicts(path, before, after, ordered, in_order)
    if isinstance(before, list) and isinstance(after, list):
        return _diff_lists(path, before, after, ordered)
    return [FieldChange(path, before, after)]


def _diff_dicts(path: str, before: dict, after: dict, ordered: tuple[str, ...], in_order: bool) -> list[FieldChange]:
    if in_order and _key_order_changed(before, after):
        return [FieldChange(path, before, after)]
    changes: list[FieldChange] = []
    for key in [*after, *(k for k in before if k not in after)]:
        sub = join_pointer(path, key)
        changes += _diff(sub, before.get(key), after.get(key), ordered)
    return changes


def _key_order_changed(before: dict, after: dict) -> bool:
    """Common keys in another order, or no key in common (e.g. a stage's operator changed)."""
    common = set(before) & set(after)
    if not common:
        return True
    return [k for k in before if k in common] != [k for k in after if k in common]


def _diff_lists(path: str, before: list, after: list, ordered: tuple[str, ...]) -> list[FieldChange]:
    in_order = _is_ordered(path, ordered)
    keys_before = [canonical_json(v, ordered=in_order) for v in before]
    keys_after = [canonical_json(v, ordered=in_order) for v in after]
    matcher = SequenceMatcher(None, keys_before, keys_after, autojunk=False)
    changes: list[FieldChange] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(paired):
            changes += _diff(join_pointer(path, j1 + k), before[i1 + k], after[j1 + k], ordered)
        changes += [FieldChange(join_pointer(path, i), before[i], None) for i in range(i1 + paired, i2)]
        changes += [FieldChange(join_pointer(path, j), None, after[j]) for j in range(j1 + paired, j2)]
    return changes


def redacted(changes: tuple[FieldChange, ...], secret_pointers: Iterable[str]) -> tuple[FieldChange, ...]:
    """``changes`` with every secret value (at ``secret_pointers`` of the documents) hidden; a
    changed secret becomes ``(secret) → (secret)``, which renders as "(secret changed)"."""
    secret_pointers = tuple(secret_pointers)
    return tuple(FieldChange(c.path, redact_at(c.before, c.path, secret_pointers),
                             redact_at(c.after, c.path, secret_pointers)) for c in changes)


def changed_stages(changes: tuple[FieldChange, ...]) -> tuple[int, ...]:
    """Indexes of pipeline stages touched by ``changes`` (for stage-level context in renders)."""
    indexes = set()
    for change in changes:
        parts = change.path.split("/")
        if len(parts) > 2 and parts[1] == "pipeline" and parts[2].isdigit():
            indexes.add(int(parts[2]))
    return tuple(sorted(indexes))
