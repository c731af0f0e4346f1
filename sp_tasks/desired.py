"""Desired state from Git: reads ``processors/*.json`` and ``connections/*.json`` and renders
``${VAR}`` placeholders from the environment's settings.

Two forms: :func:`load_project` keeps everything validation needs (raw and rendered documents,
pointer -> line maps, load-time problems such as malformed JSON or unset variables);
:func:`load_desired` validates that project and returns the :class:`DesiredState` the planner
uses, raising :class:`ValidationFailed` with every diagnostic when anything is wrong. Key order
is kept throughout (it matters in MongoDB pipelines). Placeholder syntax is in
docs/file-formats.md: only ``${NAME}`` (never ``$NAME``: that is a MongoDB field path), with an
optional type for whole-string values, ``"${PARTITIONS:int}"`` -> 8. A value rendered from a
variable whose name looks like a credential (``${API_TOKEN}``) is a secret wherever it sits: its
pointer joins the spec's ``secret_paths`` next to those the rules of ``sp_tasks.secrets`` find.
An environment with ``SINK_SUFFIX`` (every feature environment) gets its own sink databases and
topics here, right after rendering (``sp_tasks.feature.isolation``), so validation, plan and
deploy all see the names that will be sent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sp_tasks import inputfiles, jsonpos, pointers, redaction
from sp_tasks.diagnostics import Problem
from sp_tasks.errors import DataFileError, MalformedFile, MalformedJson, ValidationFailed
from sp_tasks.feature import isolation
from sp_tasks.model import ConnectionSpec, DesiredState, ProcessorSpec, ProcessorState, SinkRename
from sp_tasks.secrets import connection_secrets, document_secrets, is_secret_name, processor_secrets

if TYPE_CHECKING:
    from sp_tasks.settings import EnvSettings

PROCESSOR, CONNECTION = "processor", "connection"
FILE_ONLY_KEYS = ("$schema", "$comment", "description")  # documentation; never sent to Atlas
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
UNCLOSED = re.compile(r"\$\{[^}]*$")  # an opening with no closing brace after it
_NAME_AND_TYPE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::(int|number|bool|string))?$")


@dataclass(frozen=True)
class SourceFile:
    """One definition file as read: ``raw`` before and ``doc`` after ${VAR} rendering."""

    path: str  # relative to the project root, POSIX separators, e.g. "processors/x.json"
    kind: str  # PROCESSOR | CONNECTION
    raw: Any = None  # None when the file did not parse (see ``syntax_error``)
    doc: Any = None
    json: jsonpos.JsonDocument | None = None
    syntax_error: MalformedJson | None = None
    problems: tuple[Problem, ...] = ()  # load-time: unset variables, bad placeholders, duplicate keys
    secret_places: tuple[str, ...] = ()  # pointers of values rendered from a secret-looking ${VAR}

    @property
    def stem(self) -> str:
        return Path(self.path).stem

    def line_of(self, pointer: str) -> int:
        return self.json.line_of(pointer) if self.json else 1


@dataclass(frozen=True)
class Project:
    files: tuple[SourceFile, ...]
    config_file: str = ""  # where variables are set, for messages
    default_tier: str | None = None
    sinks: tuple[SinkRename, ...] = ()  # what SINK_SUFFIX renamed (feature/isolation.py)

    def of_kind(self, kind: str) -> list[SourceFile]:
        return [f for f in self.files if f.kind == kind]


def load_project(settings: "EnvSettings") -> Project:
    """Read every definition file under ``settings.root``; never raises for bad content."""
    files = [
        _load_file(settings.root, path, kind, settings)
        for kind, folder in ((PROCESSOR, "processors"), (CONNECTION, "connections"))
        for path in sorted((settings.root / folder).glob("*.json"))
    ]
    for source in files:  # a secret's value may travel where its place is unknown: an echoed error
        if isinstance(source.doc, dict):
            redaction.remember(*(pointers.get(source.doc, p)
                                 for p in document_secrets(source.kind, source.doc, source.secret_places)))
    files, sinks = _own_sinks(files, settings.sink_suffix) if settings.sink_suffix else (files, [])
    return Project(tuple(files), settings.config_file, settings.default_tier, tuple(sinks))


def _own_sinks(files: list[SourceFile], suffix: str) -> tuple[list[SourceFile], list[SinkRename]]:
    """SINK_SUFFIX applied to every processor, as rendering applies ${VAR}: its problems are the file's."""
    processors = [f.doc for f in files if f.kind == PROCESSOR and isinstance(f.doc, dict)]
    chained = set().union(*map(isolation.written, processors))
    out, renames = [], []
    for source in files:
        if source.kind == PROCESSOR and isinstance(source.doc, dict):
            doc, renamed, problems = isolation.isolate(source.doc, suffix, chained)
            source = replace(source, doc=doc, problems=source.problems + tuple(problems))
            renames += renamed
        out.append(source)
    return out, renames


def load_desired(settings: "EnvSettings") -> DesiredState:
    """Validated desired state; raises ValidationFailed (exit 4) listing every error."""
    from sp_tasks.validation import validate_project  # validation imports this module's types

    project = load_project(settings)
    diagnostics = validate_project(project)
    if any(d.is_error for d in diagnostics):
        raise ValidationFailed(diagnostics)
    return build_state(project)


def build_state(project: Project) -> DesiredState:
    """DesiredState from an already validated project. Pure."""
    processors = tuple(_processor_spec(f) for f in project.of_kind(PROCESSOR))
    connections = tuple(_connection_spec(f) for f in project.of_kind(CONNECTION))
    return DesiredState(processors, connections, project.sinks)


def _processor_spec(source: SourceFile) -> ProcessorSpec:
    doc = source.doc
    definition = {k: doc[k] for k in ("pipeline", "options") if k in doc}
    declared = _places_under(source.secret_places, definition)
    return ProcessorSpec(name=doc["name"], pipeline=doc["pipeline"], options=doc.get("options"),
                         tier=doc.get("tier"), desired_state=ProcessorState(doc.get("state", "STARTED")),
                         file=source.path, secret_paths=processor_secrets(definition, declared))


def _connection_spec(source: SourceFile) -> ConnectionSpec:
    body = {k: v for k, v in source.doc.items() if k not in FILE_ONLY_KEYS}
    declared = _places_under(source.secret_places, body)
    return ConnectionSpec(name=body["name"], type=body["type"], body=body, file=source.path,
                          secret_paths=connection_secrets(body, body["type"], declared))


def _places_under(places: tuple[str, ...], doc: dict[str, Any]) -> list[str]:
    """Secret places inside the part of a file that is sent (not its name, tier or description)."""
    return [p for p in places if p and jsonpos.split(p)[0] in doc]


def _load_file(root: Path, path: Path, kind: str, settings: "EnvSettings") -> SourceFile:
    relative = path.relative_to(root).as_posix()
    try:
        parsed = jsonpos.parse(inputfiles.read_text(path, relative, what="definition file"), relative)
    except MalformedJson as err:
        return SourceFile(relative, kind, syntax_error=err)
    except MalformedFile as err:  # bytes that are not UTF-8
        return SourceFile(relative, kind, syntax_error=MalformedJson(relative, err.line, err.column, err.reason))
    except DataFileError as err:  # a directory named *.json, a file we may not read
        return SourceFile(relative, kind, syntax_error=MalformedJson(relative, 1, 1, str(err)))
    problems = [Problem(p, "duplicate-key", f"key \"{jsonpos.split(p)[-1]}\" appears twice in one object; "
                                            "keep one (JSON parsers silently drop the first)")
                for p in parsed.duplicate_keys]
    secret_places: list[str] = []
    doc = render(parsed.value, settings.lookup, "", problems, settings.config_file, secret_places=secret_places)
    return SourceFile(relative, kind, parsed.value, doc, parsed, None, tuple(problems), tuple(secret_places))


Lookup = Callable[[str], "str | None"]


def render(value: Any, lookup: Lookup, pointer: str, problems: list[Problem], config_file: str = "config.env",
           *, secret_places: list[str] | None = None) -> Any:
    """Copy of ``value`` with every ``${VAR}`` in string values replaced via ``lookup(VAR)``.

    Keys are never rendered. An unset variable leaves the placeholder in place and adds an
    ``unset-variable`` problem; a typed whole-string placeholder converts the value. The pointer
    of every value that used a secret-looking variable (``${API_TOKEN}``) goes to ``secret_places``."""
    def inner(item: Any, key: Any) -> Any:
        return render(item, lookup, jsonpos.join(pointer, key), problems, config_file, secret_places=secret_places)

    if isinstance(value, dict):
        return {k: inner(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [inner(v, i) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    if secret_places is not None and any(is_secret_name(m.group(1).split(":")[0]) for m in PLACEHOLDER.finditer(value)):
        secret_places.append(pointer)
    unclosed = UNCLOSED.search(value)
    if unclosed:  # "${HIGH_COLL" would otherwise be sent as a collection name
        problems.append(Problem(pointer, "placeholder-syntax", f"\"{unclosed.group(0)}\" has no closing brace: "
                                                               f"write ${{{_name_in(unclosed.group(0))}}}"))
        return value
    whole = PLACEHOLDER.fullmatch(value)
    spec = _NAME_AND_TYPE.match(whole.group(1)) if whole else None
    if spec and spec.group(2):
        return _typed(value, spec.group(1), spec.group(2), lookup, pointer, problems, config_file)
    return PLACEHOLDER.sub(lambda m: _substitute(m, lookup, pointer, problems, config_file), value)


def _name_in(text: str) -> str:
    """The variable name an unclosed "${NAME..." most likely meant (NAME when it has none)."""
    found = re.match(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?)", text)
    return found.group(1) if found else "NAME"


def _substitute(match: re.Match, lookup: Lookup, pointer: str, problems: list[Problem], config_file: str) -> str:
    spec = _NAME_AND_TYPE.match(match.group(1))
    if not spec:
        problems.append(Problem(pointer, "placeholder-syntax", f"\"{match.group(0)}\" is not a placeholder: "
                                                               "write ${NAME} or ${NAME:int|number|bool|string}"))
        return match.group(0)
    if spec.group(2) and spec.group(2) != "string":
        problems.append(Problem(pointer, "placeholder-syntax", f"typed placeholder {match.group(0)} must be the "
                                                               "whole string value"))
        return match.group(0)
    value = lookup(spec.group(1))
    if value is None:
        problems.append(_unset(spec.group(1), pointer, config_file))
        return match.group(0)
    return value


def _typed(text: str, name: str, kind: str, lookup: Lookup, pointer: str, problems: list[Problem],
           config_file: str) -> Any:
    value = lookup(name)
    if value is None:
        problems.append(_unset(name, pointer, config_file))
        return text
    try:
        return {"int": int, "number": _number, "bool": _bool, "string": str}[kind](value.strip())
    except ValueError:
        problems.append(Problem(pointer, "placeholder-type", f"${{{name}:{kind}}}: value of {name} is not "
                                                             f"a valid {kind}; fix it in {config_file}"))
        return text


def _unset(name: str, pointer: str, config_file: str) -> Problem:
    return Problem(pointer, "unset-variable", f"${{{name}}} is not set: add {name}=... to {config_file} "
                                              f"or export {name}")


def _number(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError(text)
    return text.lower() == "true"
