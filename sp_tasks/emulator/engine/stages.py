"""Stage operators between source and sink: library stages, ``$validate``, ``$lookup``, ``$https``.

Library stages run a whole micro-batch through the adapter; when that raises, the batch runs
again one document at a time and each failing document goes to the DLQ with the error, so one
bad document never stops the processor. ``$validate``, ASP's ``$lookup`` (``from: {connectionName,
db, coll}`` against the document store) and the HTTP stages are written here. The emulator makes
no outbound calls: ``$https`` and ``$externalFunction`` treat every request as failed, so documents
go to the DLQ (``onError: dlq``, the default), pass on unchanged (``ignore``) or fail the
processor (``fail``).
"""
from __future__ import annotations

from typing import Any

from sp_tasks.emulator.engine import adapter
from sp_tasks.emulator.engine.extjson import canonical_key
from sp_tasks.emulator.engine.batch import Ctx, Operator, Rec, describe
from sp_tasks.errors import SpTasksError

ONE_TO_ONE = {"$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith"}
WHOLE_BATCH = {"$group", "$sort", "$limit", "$count", "$skip"}  # window inner pipelines only
LIBRARY_STAGES = ONE_TO_ONE | WHOLE_BATCH | {"$match", "$unwind", "$redact"}


class LibraryStage(Operator):
    """A stage the library evaluates (see ``adapter``), batch first, one document at a time on error."""

    def __init__(self, stage: dict, name: str):
        super().__init__(name)
        self.stage = adapter.substitute(stage, keep_window=True)
        (self.kind, _), = stage.items()
        self.rewrites = self.kind != "$match"
        self.dynamic = adapter.mentions(self.stage, "$$NOW", "stream.window.")

    def _spec(self, ctx: Ctx) -> dict:
        return adapter.substitute(self.stage, now=ctx.now, window=ctx.window) if self.dynamic else self.stage

    def process(self, recs: list[Rec], ctx: Ctx) -> list[Rec]:
        if not recs:
            return recs
        stage = self._spec(ctx)
        if self.kind == "$match":
            query = stage["$match"]
            return [r for r in recs if self.attempt(r, ctx, lambda d: adapter.matches(query, d) or None)]
        if self.kind in WHOLE_BATCH:
            return self._whole(stage, recs, ctx)
        if self.kind in ONE_TO_ONE:
            try:
                outs = adapter.run_stage(stage, [r.doc for r in recs])
                if len(outs) == len(recs):
                    return [Rec(d, r.ts, r.ingest) for d, r in zip(outs, recs)]
            except Exception:
                pass  # find the culprits one document at a time
        out: list[Rec] = []
        for rec in recs:
            for doc in self.attempt(rec, ctx, lambda d: adapter.run_stage(stage, [d])) or ():
                out.append(Rec(doc, rec.ts, rec.ingest))
        return out

    def _whole(self, stage: dict, recs: list[Rec], ctx: Ctx) -> list[Rec]:
        try:
            outs = adapter.run_stage(stage, [r.doc for r in recs])
        except Exception as err:
            for rec in recs:
                ctx.dead_letter(self, describe(err), rec.doc)
            return []
        ts, ingest = max(r.ts for r in recs), min(r.ingest for r in recs)
        return [Rec(d, ts, ingest) for d in outs]


def set_stream_meta(spec: dict) -> dict:
    """``$setStreamMeta {"stream.x": expr}`` is ``$addFields {"_stream_meta.x": expr}`` here."""
    fields = {}
    for key, expr in (spec or {}).items():
        if not isinstance(key, str) or not key.startswith("stream."):
            raise ValueError(f"$setStreamMeta keys must start with 'stream.', got {key!r}")
        fields["_stream_meta" + key[len("stream"):]] = expr
    return {"$addFields": fields}


_BSON_TYPES = {
    "double": lambda v: isinstance(v, float), "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
    "bool": lambda v: isinstance(v, bool), "null": lambda v: v is None,
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and -2**31 <= v < 2**31,
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "date": lambda v: hasattr(v, "year") and hasattr(v, "hour"),
    "objectId": lambda v: type(v).__name__ == "ObjectId",
    "decimal": lambda v: type(v).__name__ == "Decimal128",
    "binData": lambda v: isinstance(v, (bytes, bytearray)),
}


def _schema_validator(schema: dict) -> Any:
    import jsonschema  # heavy import: only for processors that use $jsonSchema

    def bson_type(validator, types, instance, schema):
        names = [types] if isinstance(types, str) else list(types)
        if not any(_BSON_TYPES.get(n, lambda v: False)(instance) for n in names):
            yield jsonschema.ValidationError(f"{instance!r} is not of bsonType {types!r}")

    cls = jsonschema.validators.extend(jsonschema.Draft4Validator, {"bsonType": bson_type})
    return cls(schema)


class ValidateStage(Operator):
    """``$validate``: query operators and/or ``$jsonSchema``; discard (default) or dlq."""

    name = "ValidateOperator"
    rewrites = False

    def __init__(self, spec: dict):
        super().__init__()
        self.to_dlq = spec.get("validationAction", "discard") == "dlq"
        self.check = self._compile(spec.get("validator") or {})

    def _compile(self, validator: dict):
        checks = []
        query = {}
        for key, value in validator.items():
            if key == "$jsonSchema":
                schema = _schema_validator(value)
                checks.append(lambda d, s=schema: next((e.message for e in s.iter_errors(d)), None))
            elif key in ("$and", "$or", "$nor") and any("$jsonSchema" in v for v in value):
                subs = [self._compile(v) for v in value]
                checks.append(lambda d, k=key, subs=subs: _combine(k, [s(d) for s in subs]))
            else:
                query[key] = value
        if query:
            checks.append(lambda d: None if adapter.matches(query, d) else "document does not match the validator")
        return lambda d: next((r for r in (c(d) for c in checks) if r), None)

    def process(self, recs: list[Rec], ctx: Ctx) -> list[Rec]:
        out = []
        for rec in recs:
            try:
                problem = self.check(rec.doc)
            except Exception as err:
                problem = describe(err)
            if problem is None:
                out.append(rec)
            elif self.to_dlq:
                ctx.dead_letter(self, f"Input document found to be invalid in $validate stage: {problem}", rec.doc)
        return out


def _combine(op: str, problems: list[str | None]) -> str | None:
    failing = [p for p in problems if p]
    if op == "$and":
        return failing[0] if failing else None
    if op == "$or":
        return failing[0] if len(failing) == len(problems) else None
    return None if len(failing) == len(problems) else "document matches a $nor clause"


class LookupStage(Operator):
    """ASP ``$lookup`` / ``$cachedLookup`` against a collection of the document store."""

    name = "LookupOperator"

    def __init__(self, spec: dict, fetch_collection, name: str | None = None):
        super().__init__(name)
        self.spec, self.fetch = spec, fetch_collection
        self.as_path = spec["as"].split(".")
        self.local, self.foreign = spec.get("localField"), spec.get("foreignField")
        self.pipeline, self.let = list(spec.get("pipeline") or []), dict(spec.get("let") or {})

    def process(self, recs: list[Rec], ctx: Ctx) -> list[Rec]:
        if not recs:
            return recs
        foreign = self.fetch()
        index = _index(foreign, self.foreign) if self.local and self.foreign else None
        out = []
        for rec in recs:
            found = self.attempt(rec, ctx, lambda d: [self._join(d, foreign, index, ctx)])
            if found:
                out.append(Rec(found[0], rec.ts, rec.ingest))
        return out

    def _join(self, doc: dict, foreign: list[dict], index: dict | None, ctx: Ctx) -> dict:
        matched = foreign
        if index is not None:
            value = adapter.evaluate("$" + self.local, doc)
            keys = value if isinstance(value, list) else [value]
            hits = sorted({i for k in keys for i in index.get(canonical_key(k), ())})
            matched = [foreign[i] for i in hits]
        if self.pipeline:
            user_vars = {name: adapter.evaluate(expr, doc) for name, expr in self.let.items()}
            for stage in adapter.substitute(self.pipeline, now=ctx.now):
                matched = adapter.run_stage(stage, matched, user_vars=user_vars)
        out = adapter.copy_doc(doc)
        target = out
        for part in self.as_path[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[self.as_path[-1]] = [adapter.copy_doc(m) for m in matched]
        return out


def _index(docs: list[dict], field: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        value = adapter.evaluate("$" + field, doc)
        for v in ([value] + value if isinstance(value, list) else [value]):
            index.setdefault(canonical_key(v), []).append(i)
    return index


class UnreachableStage(Operator):
    """``$https`` / ``$externalFunction``: the emulator makes no outbound calls (see docstring)."""

    def __init__(self, kind: str, spec: dict):
        super().__init__("HttpsOperator" if kind == "$https" else "ExternalFunctionOperator")
        self.kind, self.on_error = kind, spec.get("onError", "dlq")
        self.target = spec.get("connectionName", "")
        self.rewrites = False

    def process(self, recs: list[Rec], ctx: Ctx) -> list[Rec]:
        if not recs or self.on_error == "ignore":
            return recs
        reason = (f"{self.kind} request to connection {self.target!r} failed: the local emulator does not "
                  "make outbound calls")
        if self.on_error == "fail":
            raise SpTasksError(reason)
        for rec in recs:
            ctx.dead_letter(self, reason, rec.doc)
        return []
