"""A readable diff of two definitions for people: the pipeline stage by stage, each changed stage
as indented JSON with ``~`` (changed value, old → new), ``+`` (added) and ``-`` (removed) lines.

Pure. The plan's JSON keeps the exact JSON pointers (``Change.fields``); this is what a terminal
and a PR comment show instead. Stages are aligned as ``planning.diff`` aligns them (one inserted
stage is one ``+`` stage, not every later stage changed); runs of unchanged stages and long runs
of unchanged lines are folded into one ``#`` line. Small objects stay on one line, so a value
change reads ``~ "$gt": 100 → 120``. Documents hold "(secret)" marks, never secret values: a
changed secret, identical as text on both sides, is listed from the fields by its path.
"""
from __future__ import annotations

import json
from difflib import SequenceMatcher
from typing import Any, Iterable

from sp_tasks.planning.normalize import canonical_json

INLINE_WIDTH = 64  # an object or array whose JSON fits stays on one line
CONTEXT = 2  # unchanged lines kept around a change inside a stage
Line = tuple[str, str]  # (marker, text): marker is " ", "+", "-", "~" or "#"; text carries its indent


def document_diff(before: dict[str, Any], after: dict[str, Any], secret_changes: Iterable[str] = ()) -> list[Line]:
    """Lines describing how ``before`` becomes ``after`` (both normalized definitions)."""
    has_pipeline = "pipeline" in before or "pipeline" in after
    lines = _pipeline(before.get("pipeline"), after.get("pipeline")) if has_pipeline else []
    for key in [*after, *(k for k in before if k not in after)]:
        if key != "pipeline" and not _same(before.get(key), after.get(key)):
            lines += _value(key, before.get(key), after.get(key))
    return lines + [("~", f"{_dotted(path)}: (secret changed)") for path in secret_changes]


def _pipeline(before: Any, after: Any) -> list[Line]:
    old, new = list(before or []), list(after or [])
    keys = [[canonical_json(s, ordered=True) for s in side] for side in (old, new)]  # key order counts in stages
    lines: list[Line] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, keys[0], keys[1], autojunk=False).get_opcodes():
        if tag == "equal":
            lines.append(("#", f"{_count(i2 - i1, 'unchanged stage')} ({', '.join(_op(s) for s in old[i1:i2])})"))
        else:
            lines += _changed_stages(old, range(i1, i2), new, range(j1, j2))
    return lines if any(marker != "#" for marker, _ in lines) else []


def _changed_stages(old: list, olds: range, new: list, news: range) -> list[Line]:
    """Stages that differ: paired by operator (a changed $match next to a new one is one ~ and one +)."""
    ops = SequenceMatcher(None, [_op(old[i]) for i in olds], [_op(new[j]) for j in news], autojunk=False)
    lines: list[Line] = []
    for tag, a1, a2, b1, b2 in ops.get_opcodes():
        if tag == "equal":
            lines += [line for a, b in zip(olds[a1:a2], news[b1:b2]) for line in _stage_pair(a, old[a], b, new[b])]
        else:
            lines += [line for i in olds[a1:a2] for line in _whole_stage("-", i, old[i])]
            lines += [line for j in news[b1:b2] for line in _whole_stage("+", j, new[j])]
    return lines


def _stage_pair(i: int, old: Any, j: int, new: Any) -> list[Line]:
    if _op(old) != _op(new) or not isinstance(old, dict) or not isinstance(new, dict):
        return _whole_stage("-", i, old) + _whole_stage("+", j, new)
    where = f"stage {j}" if i == j else f"stage {j} (was {i})"
    return [("~", f"pipeline {where}: {_op(new)}")] + _indented(json_diff(old[_op(old)], new[_op(new)]), "    ")


def _whole_stage(marker: str, index: int, stage: Any) -> list[Line]:
    head = [(marker, f"pipeline stage {index}: {_op(stage)}")]
    body = stage[_op(stage)] if isinstance(stage, dict) and len(stage) == 1 else stage
    return head + [(marker, f"    {line}") for line in pretty(body)]


def _value(key: str, old: Any, new: Any) -> list[Line]:
    if old is None:
        return _block("+", key, new)
    if new is None:
        return _block("-", key, old)
    if isinstance(old, (dict, list)) and isinstance(new, (dict, list)) and not (_fits(old) and _fits(new)):
        return [("~", f"{key}:")] + _indented(json_diff(old, new), "    ")
    return [("~", f"{key}: {_inline(old)} → {_inline(new)}")]


def _block(marker: str, key: str, value: Any) -> list[Line]:
    body = pretty(value)
    if len(body) == 1:
        return [(marker, f"{key}: {body[0]}")]
    return [(marker, f"{key}:")] + [(marker, f"    {line}") for line in body]


def json_diff(before: Any, after: Any) -> list[Line]:
    """Line diff of the two values as :func:`pretty` prints them (outer level always opened, so a
    change reads per key); a one-line change of one key is "~ key: old → new"."""
    opened = _opened(before) | _opened(after)  # a part too wide on either side is opened on both
    old, new = pretty(before, expand=True, opened=opened), pretty(after, expand=True, opened=opened)
    lines: list[Line] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            lines += _fold([(" ", line) for line in old[i1:i2]], first=not lines, last=i2 == len(old))
        elif tag == "replace" and i2 - i1 == j2 - j1:
            lines += [pair for a, b in zip(old[i1:i2], new[j1:j2]) for pair in _changed_line(a, b)]
        else:
            lines += [("-", line) for line in old[i1:i2]] + [("+", line) for line in new[j1:j2]]
    return lines


def _changed_line(old: str, new: str) -> list[Line]:
    key_old, _, value_old = old.partition(": ")
    key_new, _, value_new = new.partition(": ")
    keyed = key_new.lstrip().startswith('"') and key_new.endswith('"')
    if keyed and value_old and value_new and key_old == key_new and not value_new.endswith(("{", "[")):
        return [("~", f"{key_new}: {value_old} → {value_new}")]
    if not (old.rstrip().endswith(("{", "[")) or new.rstrip().endswith(("{", "["))) and ": " not in old + new:
        return [("~", f"{new[:len(new) - len(new.lstrip())]}{old.strip()} → {new.strip()}")]
    return [("-", old), ("+", new)]


def _fold(lines: list[Line], *, first: bool, last: bool) -> list[Line]:
    keep_head = 0 if first else CONTEXT
    keep_tail = 0 if last else CONTEXT
    if len(lines) <= keep_head + keep_tail + 1:
        return lines
    last = lines[len(lines) - keep_tail - 1][1]  # the fold sits at the depth of what it hides last
    hidden = _count(len(lines) - keep_head - keep_tail, "unchanged line")
    folded = ("#", f"{last[:len(last) - len(last.lstrip())]}… {hidden}")
    return lines[:keep_head] + [folded] + lines[len(lines) - keep_tail:]


def pretty(value: Any, indent: str = "", expand: bool = False, opened: frozenset = frozenset(),
           path: tuple = ()) -> list[str]:
    """JSON lines, no trailing commas (so adding a last key changes one line), small parts inline
    (``expand``: the outer level opened even when it would fit; ``opened``: paths to open too)."""
    if not isinstance(value, (dict, list)) or not value or (_fits(value, len(indent)) and not expand
                                                             and path not in opened):
        return [indent + _inline(value)]
    if isinstance(value, dict):
        lines = [indent + "{"]
        for key, item in value.items():
            inner = pretty(item, indent + "  ", opened=opened, path=(*path, key))
            lines += [f"{indent}  {_inline(key)}: {inner[0].lstrip()}", *inner[1:]]
        return lines + [indent + "}"]
    items = (line for i, item in enumerate(value)
             for line in pretty(item, indent + "  ", opened=opened, path=(*path, i)))
    return [indent + "[", *items, indent + "]"]


def _opened(value: Any, indent: int = 0, path: tuple = ()) -> frozenset:
    """Paths :func:`pretty` opens for ``value`` (those too wide for one line)."""
    if not isinstance(value, (dict, list)) or (path and _fits(value, indent)):
        return frozenset()
    items = value.items() if isinstance(value, dict) else enumerate(value)
    return frozenset({path}).union(*(_opened(v, indent + 2, (*path, k)) for k, v in items))


def _fits(value: Any, indent: int = 0) -> bool:
    return indent + len(_inline(value)) <= INLINE_WIDTH


def _inline(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _indented(lines: list[Line], indent: str) -> list[Line]:
    return [(marker, indent + text) for marker, text in lines]


def _op(stage: Any) -> str:
    return next(iter(stage), "?") if isinstance(stage, dict) and stage else "?"


def _same(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


def _dotted(pointer: str) -> str:
    return pointer.lstrip("/").replace("/", ".") or "(document)"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
