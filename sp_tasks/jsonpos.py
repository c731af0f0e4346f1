"""JSON loading that keeps key order and knows the line of every JSON pointer.

Diagnostics must say ``processors/x.json:12 /pipeline/2``, so a parsed document carries a map
from RFC 6901 pointer to the 1-based line where that member (its key) or array element starts.
The value itself comes from the C ``json`` decoder (fast, exact error positions, key order kept
by ``dict``); a small scanner then walks the already-valid text once to record lines and
duplicate keys. NaN/Infinity are refused: they are not JSON and Atlas would reject them, and so
is nesting deeper than ``max_depth`` (:data:`MAX_DEPTH` by default): every later step (scanner,
rendering, validation, planning) walks documents recursively, and no definition Atlas accepts
nests that deep (MongoDB documents nest at most 100 levels).
"""
from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from json.decoder import scanstring
from json.scanner import NUMBER_RE
from typing import Any, Mapping

from sp_tasks.errors import MalformedJson
from sp_tasks.inputfiles import position
# Pointer syntax is sp_tasks.pointers; re-exported because the rule modules import it from here.
from sp_tasks.pointers import escape, join, split  # noqa: F401

MAX_DEPTH = 100  # MongoDB's limit for nested documents (docs: "Nested Depth for BSON Documents")
ENVELOPE_DEPTH = 10  # what a plan or snapshot file adds around the documents it carries
_WS = re.compile(r"[ \t\n\r]*")
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # strings are skipped whole
_LITERAL = re.compile(r"true|false|null")
_TOO_DEEP = object()


@dataclass(frozen=True)
class JsonDocument:
    """A parsed JSON text: ``value`` plus where each pointer starts in the text."""

    value: Any
    lines: Mapping[str, int] = field(default_factory=dict)
    duplicate_keys: tuple[str, ...] = ()  # pointers of keys repeated in one object; the last wins

    def line_of(self, pointer: str) -> int:
        """Line of ``pointer``, else of its nearest recorded ancestor (1 for the root)."""
        while pointer:
            if pointer in self.lines:
                return self.lines[pointer]
            pointer = pointer.rsplit("/", 1)[0]
        return self.lines.get("", 1)


def parse(text: str, file: str = "<json>", *, max_depth: int = MAX_DEPTH) -> JsonDocument:
    """Parse ``text``; raises :class:`MalformedJson` naming ``file``, line and column."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # deeper than the C decoder goes; the scan below finds where
        value = _TOO_DEEP
    except json.JSONDecodeError as err:
        raise MalformedJson(file, err.lineno, err.colno, err.msg) from None
    except ValueError as err:  # raised by _refuse_constant; json gives no position for it
        line, col = _position_of(text, str(err))
        raise MalformedJson(file, line, col, f"{err} is not valid JSON") from None
    too_deep = _too_deep(text, max_depth)
    if too_deep is None and value is _TOO_DEEP:
        too_deep = 0
    if too_deep is not None:
        line, col = position(text, too_deep)
        raise MalformedJson(file, line, col, f"nested more than {max_depth} levels deep; flatten it "
                                             f"(MongoDB documents nest at most {MAX_DEPTH} levels)")
    scanner = _LineScanner(text)
    scanner.value(_WS.match(text, 0).end(), "")
    return JsonDocument(value, scanner.lines, tuple(scanner.duplicates))


def _too_deep(text: str, limit: int) -> int | None:
    """Index of the first bracket that opens level ``limit + 1``, or None."""
    depth = 0
    for match in _NESTING.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                return match.start()
        elif char in "]}":
            depth -= 1
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _position_of(text: str, token: str) -> tuple[int, int]:
    # The constant follows ':', '[' or ',' (a match inside a string literal is unlikely).
    match = re.search(r"(?:^|[\[:,])\s*(" + re.escape(token) + ")", text)
    return position(text, match.start(1) if match else 0)


class _LineScanner:
    """Walks text that json.loads already accepted, so it needs no error handling."""

    def __init__(self, text: str):
        self.text = text
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]
        self.lines: dict[str, int] = {}
        self.duplicates: list[str] = []

    def line(self, index: int) -> int:
        return bisect_right(self.newlines, index - 1) + 1

    def skip(self, index: int) -> int:
        return _WS.match(self.text, index).end()

    def value(self, i: int, pointer: str, line: int | None = None) -> int:
        self.lines[pointer] = line or self.line(i)
        char = self.text[i]
        if char == "{":
            return self.members(self.skip(i + 1), pointer)
        if char == "[":
            return self.elements(self.skip(i + 1), pointer)
        if char == '"':
            return scanstring(self.text, i + 1)[1]
        match = NUMBER_RE.match(self.text, i) or _LITERAL.match(self.text, i)
        return match.end()

    def members(self, i: int, pointer: str) -> int:
        seen: set[str] = set()
        while self.text[i] != "}":
            key_line = self.line(i)
            key, i = scanstring(self.text, i + 1)
            child = join(pointer, key)
            if key in seen:
                self.duplicates.append(child)
            seen.add(key)
            i = self.skip(self.skip(i) + 1)  # past ':'
            i = self.skip(self.value(i, child, key_line))
            if self.text[i] == ",":
                i = self.skip(i + 1)
        return i + 1

    def elements(self, i: int, pointer: str) -> int:
        index = 0
        while self.text[i] != "]":
            i = self.skip(self.value(i, join(pointer, index)))
            index += 1
            if self.text[i] == ",":
                i = self.skip(i + 1)
        return i + 1
