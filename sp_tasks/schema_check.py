"""JSON Schema checks of definition files, turned into :class:`Problem` items with our rule ids.

The schemas are data (``sp_tasks/schemas/*.schema.json``, Draft 2020-12) so editors and other
tools can use them too. ``jsonschema`` is imported on first use only, and each validator is built
once per process: `invoke validate` must stay fast. Rule ids match :mod:`sp_tasks.stage_rules`
(``required-field``, ``unknown-field``, ``field-type``, ``invalid-value``) so one mistake found
by both layers is reported once.
"""
from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any, Iterator

from sp_tasks.diagnostics import Problem
from sp_tasks.jsonpos import join

SCHEMA_DIR = Path(__file__).parent / "schemas"
READ_ONLY = ("_id", "id", "state", "links", "stats", "effectiveTier")  # what Atlas adds on read
_PATTERN_HINTS = {
    "^arn:": "must be an AWS ARN (arn:aws:...)",
    "^https?://": "must be an http(s) URL",
    "^[A-Za-z0-9_-]+$": "may use only letters, digits, '_' and '-'",
    "^[0-9a-fA-F]{24}$": "must be a 24-character hex project id",
}
_JSON_TYPES = {"object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}


@cache
def validator(kind: str) -> Any:
    """The compiled validator for ``processor`` or ``connection`` files."""
    from jsonschema import Draft202012Validator  # deferred: ~80 ms of imports

    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def check_schema(kind: str, doc: Any) -> list[Problem]:
    """Every schema problem of one rendered document, in document order."""
    problems: list[Problem] = []
    for error in validator(kind).iter_errors(doc):
        problems.extend(_problems(error, kind, doc))
    return problems


def _problems(error: Any, kind: str, doc: Any) -> Iterator[Problem]:
    pointer = join("", *error.absolute_path)
    where = _where(pointer, kind, doc)
    keyword = error.validator
    if "propertyNames" in error.schema_path:  # types with no own fields (Sample): the names allowed
        allowed = tuple(error.validator_value) if keyword == "enum" else ()
        yield _unknown(join(pointer, error.instance), where, error.instance, allowed)
    elif keyword == "additionalProperties":
        allowed = tuple(error.schema.get("properties", {}))
        for name in error.instance:
            if name not in allowed:
                yield _unknown(join(pointer, name), where, name, allowed)
    elif keyword == "required":
        name = error.message.split("'")[1]
        yield Problem(join(pointer, name), "required-field", f"{where} needs \"{name}\"; add it")
    elif keyword == "type":
        yield Problem(pointer, "field-type", f"{where} must be {_JSON_TYPES.get(error.validator_value, 'valid')}, "
                                             f"not {_json_type(error.instance)}")
    elif keyword in ("enum", "const"):
        allowed = error.validator_value if keyword == "enum" else [error.validator_value]
        yield Problem(pointer, "invalid-value", f"{where} must be one of {', '.join(map(str, allowed))}, "
                                                f"not {error.instance!r}")
    elif keyword == "pattern":
        hint = _PATTERN_HINTS.get(error.validator_value, f"must match {error.validator_value}")
        yield Problem(pointer, "invalid-value", f"{where} {hint} (got {error.instance!r})")
    elif keyword in ("minItems", "minLength", "maxLength"):
        yield Problem(pointer, "invalid-value", f"{where}: {error.message}")
    else:
        yield Problem(pointer, "schema", f"{where}: {error.message}")


def _unknown(pointer: str, where: str, name: str, allowed: tuple[str, ...]) -> Problem:
    if name in READ_ONLY:
        return Problem(pointer, "unknown-field", f"{where} has \"{name}\", a read-only field Atlas sets; remove it")
    choices = [a for a in allowed if not a.startswith("$")]  # "descripton" → "description" too
    hint = difflib.get_close_matches(name, choices, n=1)
    fix = f"did you mean \"{hint[0]}\"?" if hint else "Atlas rejects unknown fields; remove it"
    return Problem(pointer, "unknown-field", f"{where} has no field \"{name}\"; {fix}")


def _where(pointer: str, kind: str, doc: Any) -> str:
    if pointer:
        return pointer[1:].replace("/", ".")
    if kind == "connection" and isinstance(doc, dict) and isinstance(doc.get("type"), str):
        return f"a {doc['type']} connection"
    return f"a {kind} file"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", int: "an integer", float: "a number"}.get(
        type(value), "a value")
