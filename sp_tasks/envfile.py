"""The ``config.env`` dialect: ``KEY=VALUE`` lines with shell-like quoting and ``$VAR`` expansion.

Pure: :func:`parse` takes the text and the captured process environment and returns the
variables in file order. Supported (and documented in docs/file-formats.md): blank lines and
``#`` comments, an optional ``export`` prefix, unquoted values (a `` #`` starts a comment),
``'single'`` quotes (literal), ``"double"`` quotes (``\\"``, ``\\\\`` and ``\\$`` escapes, expansion),
``$VAR``, ``${VAR}`` and ``${VAR:-default}``. Expansion looks at keys defined earlier in the file,
then at the environment, as a shell sourcing the file would. Problems go to ``problems``, one per
line, so the caller can report all of them at once.
"""
from __future__ import annotations

import re
from typing import Mapping

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_ESCAPE = re.compile(r"\\([\"\\$])")


def parse(text: str, environ: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """Variables of a config.env text, expanded; appends one message per bad line to ``problems``."""
    variables: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            problems.append(f"config.env line {number}: expected KEY=VALUE, got {line.strip()[:40]!r}")
            continue
        key, raw = match.groups()
        value = _value(raw, number, {**environ, **variables}, problems)
        if value is not None:
            variables[key] = value
    return variables


def _value(raw: str, number: int, scope: Mapping[str, str], problems: list[str]) -> str | None:
    if raw.startswith("'"):
        end = raw.find("'", 1)
        if end < 0 or not _only_comment(raw[end + 1:]):
            problems.append(f"config.env line {number}: unterminated or trailing text after '...' quote")
            return None
        return raw[1:end]
    if raw.startswith('"'):
        match = re.match(r'"((?:[^"\\]|\\.)*)"(.*)$', raw)
        if not match or not _only_comment(match.group(2)):
            problems.append(f"config.env line {number}: unterminated or trailing text after \"...\" quote")
            return None
        return _expand(match.group(1), number, scope, problems, escapes=True)
    return _expand(re.split(r"\s+#", raw, maxsplit=1)[0], number, scope, problems, escapes=False)


def _only_comment(rest: str) -> bool:
    rest = rest.strip()
    return not rest or rest.startswith("#")


def _expand(text: str, number: int, scope: Mapping[str, str], problems: list[str], *, escapes: bool) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        default = match.group(2)
        value = scope.get(name)
        if default is not None and not value:
            return default
        if value is None:
            problems.append(f"config.env line {number}: ${{{name}}} is not set; export {name} "
                            f"or write ${{{name}:-default}}")
            return ""
        return value

    if not escapes:
        return _REFERENCE.sub(substitute, text)
    # Escaped characters must survive expansion untouched, so split on them first.
    parts = re.split(r"(\\.)", text)
    return "".join(_ESCAPE.sub(r"\1", p) if p.startswith("\\") else _REFERENCE.sub(substitute, p) for p in parts)
