"""The problem collector of the stage rules: :class:`Findings` and its field checks.

Pure. One :class:`Findings` travels through :mod:`sp_tasks.pipeline_rules` and
:mod:`sp_tasks.stage_rules` and collects :class:`~sp_tasks.diagnostics.Problem` items. Its methods
are the checks every stage shares (required, known, object, one-of and duration fields, and
connection names against the connection registry), so each rule id and message wording lives
in one place.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from sp_tasks.diagnostics import Problem
from sp_tasks.jsonpos import join

DURATION_UNITS = ("ms", "second", "minute", "hour", "day")
CONNECTION_TYPES = ("Sample", "Cluster", "Kafka", "Https", "AWSLambda", "S3", "AWSKinesisDataStreams",
                    "SchemaRegistry", "AzureBlobStorage", "GCPPubSub", "TestLog")


@dataclass
class Findings:
    """Problems found so far plus what the checks need to know about connections."""

    connection_types: Mapping[str, str]
    problems: list[Problem] = field(default_factory=list)

    def add(self, pointer: str, rule: str, message: str) -> None:
        self.problems.append(Problem(pointer, rule, message))

    def require(self, body: dict, names: Iterable[str], pointer: str, where: str) -> bool:
        missing = [n for n in names if body.get(n) in (None, "")]
        for name in missing:
            self.add(join(pointer, name), "required-field", f"{where} needs \"{name}\"; add it")
        return not missing

    def known(self, body: dict, allowed: set[str], pointer: str, where: str) -> None:
        for name in body:
            if name not in allowed:
                hint = difflib.get_close_matches(name, sorted(allowed), n=1)
                fix = f"did you mean \"{hint[0]}\"?" if hint else f"allowed: {', '.join(sorted(allowed))}"
                self.add(join(pointer, name), "unknown-field", f"{where} has no field \"{name}\"; {fix}")

    def object(self, value: Any, pointer: str, where: str) -> bool:
        if isinstance(value, dict):
            return True
        self.add(pointer, "field-type", f"{where} must be an object, not {_kind(value)}")
        return False

    def one_of(self, body: dict, name: str, allowed: tuple, pointer: str, where: str) -> None:
        if name in body and body[name] not in allowed:
            self.add(join(pointer, name), "invalid-value",
                     f"{where}.{name} must be one of {', '.join(map(str, allowed))}, not {body[name]!r}")

    def duration(self, body: dict, name: str, pointer: str, where: str, *, zero_ok: bool = False) -> None:
        value, at = body.get(name), join(pointer, name)
        if value is None or (zero_ok and value == 0 and not isinstance(value, bool)):
            return
        size = value.get("size") if isinstance(value, dict) else None
        if not (isinstance(value, dict) and set(value) == {"size", "unit"} and _number(size) and size > 0
                and value["unit"] in DURATION_UNITS):
            self.add(at, "duration", f"{where}.{name} must be {{\"size\": <positive number>, \"unit\": "
                                     f"{'|'.join(DURATION_UNITS)}}}" + (" or 0" if zero_ok else ""))

    def connection(self, body: dict, pointer: str, where: str, allowed: tuple[str, ...]) -> str | None:
        """Check ``body.connectionName``; returns the connection's type when it is known."""
        name, at = body.get("connectionName"), join(pointer, "connectionName")
        if name is None:
            return None
        if not isinstance(name, str):
            self.add(at, "field-type", f"{where}.connectionName must be a string")
            return None
        if name not in self.connection_types:
            hint = difflib.get_close_matches(name, sorted(self.connection_types), n=1)
            fix = f"did you mean \"{hint[0]}\"?" if hint else f"add connections/{name}.json"
            self.add(at, "unknown-connection", f"{where}: connection \"{name}\" does not exist; {fix}")
            return None
        kind = self.connection_types[name]
        if kind in CONNECTION_TYPES and kind not in allowed:
            wanted = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
            self.add(at, "connection-type", f"{where}: connection \"{name}\" is a {kind} connection; "
                                            f"use a {wanted} connection")
        return kind if kind in CONNECTION_TYPES else None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")
