"""The only door to mongomock-ng: stateless stages, expressions and query filters on plain dicts.

emulator-engine.md §6 is the recipe. The library is imported on first use (keeps ``import
sp_tasks.emulator.runtime`` light) and then called through ``aggregate.process_pipeline`` on
lists we own. What this module fixes on the way in and out:

- input documents are copied (``$addFields``/``$unset`` write into nested dicts of their input);
- ``"$$NOW"`` becomes a literal of the batch time, ``{$meta: "stream.window.*"}`` the window bound;
- tz-aware datetimes (ng's ``$toDate``) come back as naive UTC, like every other date here;
- ``$group`` output puts ``_id`` first; ``$unwind`` sets ``includeArrayIndex`` to null on
  preserved documents, as MongoDB does;
- type errors the library lets through or only ``assert``s (``$multiply`` on a string, which
  returns ``"abab"`` under ``python -O``; ``$concat`` with a number) raise ``TypeError``. This is
  done by a stricter subclass of the library's expression parser installed in its module on
  first use: a contained patch, checked by tests/emulator/test_engine_conformance.py.
"""
from __future__ import annotations

import numbers
import threading
from datetime import datetime, timezone
from typing import Any, Callable

_lock = threading.Lock()
_lib: dict[str, Any] = {}
_DATE_MAKERS = ("$toDate", "$convert", "$dateAdd", "$dateSubtract", "$dateTrunc", "$dateFromParts")


def _library() -> dict[str, Any]:
    if not _lib:
        with _lock:
            if not _lib:
                import mongomock_ng
                from mongomock_ng import aggregate, filtering, helpers

                aggregate._Parser = _strict_parser(aggregate)
                _lib.update(aggregate=aggregate, filtering=filtering, nothing=helpers.NOTHING,
                            db=mongomock_ng.MongoClient().get_database("emulator"))
    return _lib


def _check_number(operator: str, value: Any) -> None:
    ok = value is None or isinstance(value, datetime) or (
        isinstance(value, numbers.Number) and not isinstance(value, bool)
    ) or type(value).__name__ in ("Decimal128", "timedelta", "NoneType", "_Nothing", "Sentinel")
    if not ok:
        raise TypeError(f"{operator} only supports numeric types, not {type(value).__name__}")


def _strict_parser(aggregate: Any) -> type:
    base = aggregate._Parser
    if getattr(base, "_sp_strict", False):
        return base

    class StrictParser(base):  # type: ignore[misc, valid-type]
        _sp_strict = True

        def _handle_arithmetic_operator(self, operator, values):
            if operator in ("$add", "$multiply") and not isinstance(values, list):
                values = [values]  # the library only asserts this (gone under -O)
            if isinstance(values, list):
                parsed = [self.parse(v) for v in values]
                for value in parsed:
                    _check_number(operator, value)
                return super()._handle_arithmetic_operator(operator, [{"$literal": v} for v in parsed])
            value = self.parse(values)
            _check_number(operator, value)
            return super()._handle_arithmetic_operator(operator, {"$literal": value})

        def _handle_string_operator(self, operator, values):
            if operator == "$concat" and isinstance(values, list):
                parsed = [self.parse(v) for v in values]
                for value in parsed:
                    if value is not None and not isinstance(value, str) and value is not _lib["nothing"]:
                        raise TypeError(f"$concat only supports strings, not {type(value).__name__}")
                return super()._handle_string_operator(operator, [{"$literal": v} for v in parsed])
            return super()._handle_string_operator(operator, values)

    return StrictParser


def copy_doc(value: Any) -> Any:
    """Deep copy of a JSON-like document (much faster than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: copy_doc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_doc(v) for v in value]
    return value


def normalise(value: Any) -> Any:
    """tz-aware datetimes → naive UTC, everywhere in a document."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def substitute(spec: Any, *, now: datetime | None = None, window: tuple[datetime, datetime] | None = None,
               keep_window: bool = False) -> Any:
    """Resolve what the library cannot: ``$$NOW`` and ASP's ``{$meta: "stream…"}``.

    ``$$NOW`` becomes a literal of ``now``; ``stream.window.start|end`` the bound of ``window``
    (kept as is with ``keep_window``, for a later pass); any other ``stream`` path reads the
    document's ``_stream_meta`` (``stream.source.topic`` → ``"$_stream_meta.source.topic"``).
    """
    if isinstance(spec, str):
        return {"$literal": now} if spec == "$$NOW" and now is not None else spec
    if isinstance(spec, list):
        return [substitute(v, now=now, window=window, keep_window=keep_window) for v in spec]
    if not isinstance(spec, dict):
        return spec
    path = spec.get("$meta") if len(spec) == 1 else None
    if isinstance(path, str) and (path == "stream" or path.startswith("stream.")):
        bound = path in ("stream.window.start", "stream.window.end")
        if bound and window is not None:
            return {"$literal": window[0] if path.endswith("start") else window[1]}
        if not (bound and keep_window):
            return "$_stream_meta" + path[len("stream"):]
    return {k: substitute(v, now=now, window=window, keep_window=keep_window) for k, v in spec.items()}


def mentions(spec: Any, *needles: str) -> bool:
    """True when any of the strings occurs in the stage (operator names, variables, $meta names)."""
    text = repr(spec)
    return any(n in text for n in needles)


def run_stage(stage: dict, docs: list[dict], *, user_vars: dict | None = None) -> list[dict]:
    """One library stage over copies of ``docs``; output normalised (see module docstring)."""
    lib = _library()
    (name, options), = stage.items()
    out = list(lib["aggregate"].process_pipeline([copy_doc(d) for d in docs], lib["db"], [stage], None,
                                                 user_vars=user_vars))
    if name == "$group":
        out = [{"_id": d.pop("_id"), **d} for d in out]
    elif name == "$unwind" and isinstance(options, dict) and options.get("includeArrayIndex"):
        index_field = options["includeArrayIndex"]
        for doc in out:
            if evaluate("$" + index_field, doc) is None and "." not in index_field:
                doc[index_field] = None
    if mentions(stage, *_DATE_MAKERS):
        out = [normalise(d) for d in out]
    return out


def matches(query: dict, doc: dict, user_vars: dict | None = None) -> bool:
    """MongoDB query semantics (``find`` filter, ``$match``, ``$validate`` query operators)."""
    return bool(_library()["filtering"].filter_applies(query, doc, user_vars=user_vars))


def evaluate(expr: Any, doc: dict, user_vars: dict | None = None) -> Any:
    """Value of an aggregation expression on ``doc``; a missing field gives None."""
    lib = _library()
    value = lib["aggregate"]._parse_expression(expr, doc, user_vars=user_vars)
    return None if value is lib["nothing"] else normalise(value)


def bson_less(a: Any, b: Any) -> bool:
    """``a < b`` in BSON comparison order (types first), for ``$min``/``$max``."""
    import operator

    return bool(_library()["filtering"].bson_compare(operator.lt, a, b))


def _field_getter(path: str) -> Callable[[dict], Any]:
    parts = path.split(".")

    def get(doc: dict) -> Any:
        value: Any = doc
        for part in parts:
            if isinstance(value, dict):
                value = value.get(part)
            elif value is None:
                return None
            else:  # arrays and scalars: MongoDB's path semantics are the library's business
                return evaluate("$" + path, doc)
        return value

    return get


def compile_expression(expr: Any) -> Callable[[dict], Any]:
    """A function doc → value; field paths and constants skip the library (hot path)."""
    expr = substitute(expr)
    if isinstance(expr, str) and expr.startswith("$") and not expr.startswith("$$"):
        return _field_getter(expr[1:])
    if isinstance(expr, (int, float, bool)) or expr is None or (isinstance(expr, str) and not expr.startswith("$")):
        return lambda doc: expr
    if isinstance(expr, dict) and expr and not any(k.startswith("$") for k in expr):
        parts = {k: compile_expression(v) for k, v in expr.items()}
        return lambda doc: {k: f(doc) for k, f in parts.items()}
    return lambda doc: evaluate(expr, doc)
