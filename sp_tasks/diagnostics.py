"""Diagnostics about definition files, and their three renderings: text, JSON, GitHub annotations.

A :class:`Problem` is what a pure check finds inside one document (pointer relative to that
document); a :class:`Diagnostic` is a problem placed in a file and line, with a severity. The
JSON shape is a contract for CI (issue 3): ``{"diagnostics": [...], "errors": N, "warnings": M}``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

ERROR = "error"
WARNING = "warning"
FORMATS = ("text", "json", "github")


@dataclass(frozen=True)
class Problem:
    """One finding inside a document: ``pointer`` (RFC 6901), a stable ``rule`` id, one-line message."""

    pointer: str
    rule: str
    message: str


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str  # relative to the project root, POSIX separators
    line: int  # 1-based; 1 when the whole file is meant
    pointer: str
    rule: str
    severity: str  # "error" | "warning"
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def count(diagnostics: Iterable[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    items = list(diagnostics)
    errors = sum(d.is_error for d in items)
    return errors, len(items) - errors


def render(diagnostics: Sequence[Diagnostic], fmt: str = "text") -> str:
    """Render in one of :data:`FORMATS`; unknown formats are the caller's bug (KeyError)."""
    return {"text": render_text, "json": render_json, "github": render_github}[fmt](diagnostics)


def render_text(diagnostics: Sequence[Diagnostic]) -> str:
    """Compiler-style lines (``file:line: severity: message [rule] at pointer``) plus a summary."""
    lines = [
        f"{d.file}:{d.line}: {d.severity}: {d.message} [{d.rule}]" + (f" at {d.pointer}" if d.pointer else "")
        for d in sorted(diagnostics)
    ]
    errors, warnings = count(diagnostics)
    if errors or warnings:
        lines.append(f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}")
    else:
        lines.append("all definitions are valid")
    return "\n".join(lines)


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    errors, warnings = count(diagnostics)
    body = {"diagnostics": [asdict(d) for d in sorted(diagnostics)], "errors": errors, "warnings": warnings}
    return json.dumps(body, indent=2)


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    """Workflow commands GitHub Actions turns into annotations on the changed files."""
    return "\n".join(
        f"::{d.severity} file={_prop(d.file)},line={d.line},title={_prop(d.rule)}::{_data(d.message)}"
        for d in sorted(diagnostics)
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _data(text: str) -> str:
    # Escaping rules of GitHub's workflow commands (actions/toolkit command.ts).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
