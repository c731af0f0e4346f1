"""Validation of the desired state: every problem across all files, each placed at file and line.

Pure: takes a loaded :class:`~sp_tasks.desired.Project` (no network, no credentials, no
environment reads) and returns sorted :class:`Diagnostic` items. Layers, each reported once per
(file, pointer, rule): malformed JSON; load-time problems (unset ``${VAR}``, duplicate keys);
JSON Schema; file name == ``name``; duplicate names; secrets written inline; the ASP pipeline
rules of :mod:`sp_tasks.pipeline_rules`; and warnings for unused connections and a ``$validate``
that sends to a DLQ the processor does not have.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from sp_tasks import pointers
from sp_tasks.desired import CONNECTION, PLACEHOLDER, PROCESSOR
from sp_tasks.diagnostics import ERROR, WARNING, Diagnostic, Problem
from sp_tasks.model import BUILTIN_CONNECTIONS, RESERVED_SUFFIXES
from sp_tasks.pipeline_rules import WINDOWS, check_processor, stage_op
from sp_tasks.schema_check import check_schema
from sp_tasks.secrets import connection_secrets, processor_secrets

if TYPE_CHECKING:
    from sp_tasks.desired import Project, SourceFile

UNKNOWN_TYPE = "?"  # a connection whose file did not load: referencing it is fine, its type unknown
_WARNING_RULES = ("unused-connection", "validate-without-dlq")


def validate_project(project: "Project") -> list[Diagnostic]:
    """All diagnostics of ``project``; errors and warnings, sorted by file, line, pointer."""
    types = connection_types(project)
    found: list[Diagnostic] = []
    for source in project.files:
        found.extend(_at(source, _file_problems(source, types, project.default_tier)))
    found.extend(_duplicate_names(project))
    found.extend(_unused_connections(project))
    return sorted(_once(found))


def connection_types(project: "Project") -> dict[str, str]:
    """Connection name -> type for every connection file (stem and UNKNOWN_TYPE when unreadable)."""
    types: dict[str, str] = {}
    for source in project.of_kind(CONNECTION):
        doc = source.doc if isinstance(source.doc, dict) else {}
        name = doc.get("name") if isinstance(doc.get("name"), str) else source.stem
        types[name] = doc["type"] if isinstance(doc.get("type"), str) else UNKNOWN_TYPE
    return types


def _file_problems(source: "SourceFile", types: dict[str, str], default_tier: str | None) -> Iterator[Problem]:
    if source.syntax_error:
        err = source.syntax_error
        yield Problem("", "json-syntax", f"malformed JSON at line {err.line}, column {err.column}: {err.reason}")
        return
    yield from source.problems
    doc = source.doc
    if not isinstance(doc, dict):
        yield Problem("", "file-shape", f"a {source.kind} file must hold one JSON object")
        return
    yield from check_schema(source.kind, doc)
    if isinstance(doc.get("name"), str):
        yield from _name_problems(source, doc)
    if source.kind == CONNECTION:
        yield from _inline_secrets(source.raw, connection_secrets(source.raw), doc.get("name") or source.stem)
    elif isinstance(doc.get("pipeline"), list) and doc["pipeline"]:
        yield from _processor_rules(source, doc, types, default_tier)


def _name_problems(source: "SourceFile", doc: dict) -> Iterator[Problem]:
    name = doc["name"]
    if name != source.stem:
        yield Problem("/name", "name-mismatch", f"name \"{name}\" must equal the file name "
                                                f"\"{source.stem}\"; rename the file or the {source.kind}")
    if source.kind == PROCESSOR and name.endswith(RESERVED_SUFFIXES):
        yield Problem("/name", "reserved-name", f"names ending in {', '.join(RESERVED_SUFFIXES)} are the copies "
                                                "deploy strategies make; rename the processor")
    builtin = BUILTIN_CONNECTIONS.get(name)
    if source.kind == CONNECTION and builtin and doc.get("type") != builtin:
        yield Problem("/name", "reserved-name", f"\"{name}\" is the built-in {builtin} connection; "
                                                "choose another name")


def _processor_rules(source: "SourceFile", doc: dict, types: dict[str, str], default_tier: str | None) -> Iterator[Problem]:
    tier = doc.get("tier") or default_tier
    # UNKNOWN_TYPE is not a connection type, so stage rules skip the type-fit check for it.
    yield from check_processor(doc.get("name", source.stem), doc["pipeline"], doc.get("options"),
                               connection_types=types, tier=None if tier == "auto" else tier)
    yield from _inline_secrets(source.raw, processor_secrets(source.raw), doc.get("name") or source.stem)
    yield from _validate_without_dlq(doc)


def _inline_secrets(raw: Any, places: Iterable[str], owner: str) -> Iterator[Problem]:
    for pointer in places:
        value = pointers.get(raw, pointer)
        if value in (None, "") or isinstance(value, bool) or (isinstance(value, str) and PLACEHOLDER.search(value)):
            continue
        key = pointer.rsplit("/", 1)[-1]
        var = f"{owner}_{key}".upper().replace("-", "_")
        yield Problem(pointer, "inline-secret", f"{pointer[1:].replace('/', '.')} is a secret written inline; "
                                                f"write \"${{{var}}}\" and export {var} (never commit the value)")


def _validate_without_dlq(doc: dict) -> Iterator[Problem]:
    has_dlq = isinstance(doc.get("options"), dict) and bool(doc["options"].get("dlq"))
    for pointer, op, body in _stages(doc["pipeline"], "/pipeline"):
        if op == "$validate" and isinstance(body, dict) and body.get("validationAction") == "dlq" and not has_dlq:
            yield Problem(f"{pointer}/{op}/validationAction", "validate-without-dlq",
                          "validationAction is dlq but the processor has no options.dlq: invalid documents "
                          "will be dropped; add options.dlq")


def _stages(pipeline: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    """(pointer, op, body) of every stage, window inner pipelines included."""
    for index, stage in enumerate(pipeline if isinstance(pipeline, list) else ()):
        op = stage_op(stage)
        if op:
            yield f"{pointer}/{index}", op, stage[op]
            if op in WINDOWS and isinstance(stage[op], dict):
                yield from _stages(stage[op].get("pipeline"), f"{pointer}/{index}/{op}/pipeline")


def _at(source: "SourceFile", problems: Iterable[Problem]) -> Iterator[Diagnostic]:
    for p in problems:
        line = source.syntax_error.line if source.syntax_error else source.line_of(p.pointer)
        severity = WARNING if p.rule in _WARNING_RULES else ERROR
        yield Diagnostic(source.path, line, p.pointer, p.rule, severity, p.message)


def _duplicate_names(project: "Project") -> Iterator[Diagnostic]:
    for kind in (PROCESSOR, CONNECTION):
        by_name: dict[str, list["SourceFile"]] = defaultdict(list)
        for source in project.of_kind(kind):
            if isinstance(source.doc, dict) and isinstance(source.doc.get("name"), str):
                by_name[source.doc["name"]].append(source)
        for name, sources in by_name.items():
            for source in sources if len(sources) > 1 else ():
                others = ", ".join(s.path for s in sources if s is not source)
                yield from _at(source, [Problem("/name", "duplicate-name",
                                                f"{kind} name \"{name}\" is also used by {others}; names must be unique")])


def _unused_connections(project: "Project") -> Iterator[Diagnostic]:
    used = {name for source in project.of_kind(PROCESSOR) for name in _connection_names(source.doc)}
    for source in project.of_kind(CONNECTION):
        name = source.doc.get("name") if isinstance(source.doc, dict) else None
        if isinstance(name, str) and name not in used:
            yield from _at(source, [Problem("/name", "unused-connection", f"connection \"{name}\" is not used by "
                                                                          "any processor; remove it or reference it")])


def _connection_names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "connectionName" and isinstance(item, str):
                yield item
            else:
                yield from _connection_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _connection_names(item)


def _once(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Drop repeats of (file, pointer, rule): schema and stage rules may both see one mistake."""
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for d in diagnostics:
        if (d.file, d.pointer, d.rule) not in seen:
            seen.add((d.file, d.pointer, d.rule))
            unique.append(d)
    return unique
