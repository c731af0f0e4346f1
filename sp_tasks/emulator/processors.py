"""API rules for stream processors (reference §5): create/modify checks and the state machine.

States: CREATED -> STARTED <-> STOPPED, STARTED -> FAILED -> STARTED|STOPPED. Modify and delete
need a processor that is not running. A started processor really runs in the ``Runtime``; this
module owns what the API answers, the runtime owns execution and counters. Injected failures
(``fail_on_start``) are recorded as a due time and applied lazily on the next request, so no
timer thread can race a request. ``resumeFromCheckpoint: false`` (modify or startWith) drops
window state and source position but keeps the counters; delete drops the whole checkpoint. The
checkpoint-compatibility rules compare pipelines in the planner's canonical form (``10`` equals
``10.0``, key order inside a stage's objects does not matter), so the emulator never refuses a
modify the planner plans as a plain update.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from sp_tasks.atlas import unconfirmed
from sp_tasks.emulator import bodies, errors
from sp_tasks.emulator.store import ControlStore, new_object_id
from sp_tasks.emulator.workspaces import Workspaces, _check_name
from sp_tasks.model import BUILTIN_CONNECTIONS
from sp_tasks.planning.normalize import same

FAIL_AFTER_SECONDS = 0.2  # how long an injected fail_on_start processor looks STARTED
STATUS_BY_STATE = {"CREATED": "created", "STARTED": "running", "STOPPED": unconfirmed.STOPPED_STATS_STATUS,
                   "FAILED": "error"}
WINDOWS = ("$tumblingWindow", "$hoppingWindow", "$sessionWindow")
WINDOW_FIELDS = ("interval", "hopSize", "gap")


class Processors:
    def __init__(self, store: ControlStore, workspaces: Workspaces, runtime: Any,
                 fail_on_start: Callable[[str], bool], clock: Callable[[], float] = time.time):
        self.store = store
        self.workspaces = workspaces
        self.runtime = runtime
        self.fail_on_start = fail_on_start
        self.clock = clock

    # -- reads ------------------------------------------------------------------------------
    def list(self, group_id: str, workspace: str) -> list[dict[str, Any]]:
        self.workspaces.require(group_id, workspace)
        return [self._with_stats(d) for d in self.store.list("processors", group_id, workspace)]

    def get(self, group_id: str, workspace: str, name: str) -> dict[str, Any]:
        return self._with_stats(self._require(group_id, workspace, name))

    # -- writes -----------------------------------------------------------------------------
    def create(self, group_id: str, workspace: str, body: Any) -> dict[str, Any]:
        ws = self.workspaces.require(group_id, workspace)
        body = bodies.checked(body, bodies.PROCESSOR_CREATE, required=("name", "pipeline"))
        _check_name(body["name"], "processor")
        if self.store.get("processors", group_id, body["name"], workspace):
            raise errors.duplicate("stream processor", body["name"])
        options = {k: v for k, v in (body.get("options") or {}).items() if k != "resumeFromCheckpoint"}
        self._check_definition(group_id, ws, body["name"], body["pipeline"], options, body.get("tier"))
        doc = {"_id": new_object_id(), "name": body["name"], "pipeline": body["pipeline"], "state": "CREATED"}
        if options.get("dlq"):
            doc["options"] = {"dlq": options["dlq"]}
        if body.get("tier"):
            doc["tier"] = body["tier"]
        self.store.insert("processors", group_id, doc, workspace)
        return doc

    def modify(self, group_id: str, workspace: str, name: str, body: Any) -> dict[str, Any]:
        ws = self.workspaces.require(group_id, workspace)
        doc = self._require(group_id, workspace, name)
        body = bodies.checked(body, bodies.PROCESSOR_MODIFY)
        if doc["state"] == "STARTED":
            raise errors.processor_problem(name, unconfirmed.MODIFY_WHILE_STARTED_MESSAGE)
        options_in = body.get("options") or {}
        resume = options_in.get("resumeFromCheckpoint", True)
        new = dict(doc)
        if "name" in body and body["name"] != name:
            _check_name(body["name"], "processor")
            if self.store.get("processors", group_id, body["name"], workspace):
                raise errors.duplicate("stream processor", body["name"])
            new["name"] = body["name"]
        if "pipeline" in body:
            if resume and doc["state"] != "CREATED":
                _check_checkpoint_compatible(name, doc["pipeline"], body["pipeline"])
            new["pipeline"] = body["pipeline"]
        if "dlq" in options_in:
            dlq = options_in["dlq"]
            new["options"] = {"dlq": dlq} if dlq else {}
            if not dlq:
                new.pop("options")
        if "tier" in body:
            new["tier"] = body["tier"]
        self._check_definition(group_id, ws, new["name"], new["pipeline"], new.get("options") or {}, new.get("tier"))
        self.store.replace("processors", group_id, name, new, workspace)
        if not resume and self.runtime:
            self.runtime.reset_state(doc["_id"])  # reference §5.2: only summary stats retained
        return self._with_stats(new)

    def delete(self, group_id: str, workspace: str, name: str) -> None:
        doc = self._require(group_id, workspace, name)
        if doc["state"] == "STARTED":
            raise errors.processor_problem(name, "stop the stream processor before deleting it (INVALID_STATE)")
        self.store.delete("processors", group_id, name, workspace)
        if self.runtime:
            self.runtime.discard(doc["_id"])

    def start(self, group_id: str, workspace: str, name: str, body: Any = None) -> None:
        ws = self.workspaces.require(group_id, workspace)
        doc = self._require(group_id, workspace, name)
        options = bodies.checked(body, bodies.START_WITH) if body is not None else {}
        if doc["state"] == "STARTED":
            raise errors.processor_problem(name, unconfirmed.ALREADY_STARTED_MESSAGE)
        tier = options.get("tier") or doc.get("tier") or ws["streamConfig"]["tier"]
        self._check_definition(group_id, ws, name, doc["pipeline"], doc.get("options") or {}, tier)
        if options.get("tier"):
            doc["tier"] = options["tier"]
        doc["state"] = "STARTED"
        self.store.replace("processors", group_id, name, doc, workspace)
        if self.fail_on_start(name):
            self.store.set_fail_at(group_id, workspace, name, self.clock() + FAIL_AFTER_SECONDS)
        if self.runtime:
            self.runtime.start(self._run_spec(group_id, workspace, doc),
                               resume=options.get("resumeFromCheckpoint", True))

    def stop(self, group_id: str, workspace: str, name: str) -> None:
        doc = self._require(group_id, workspace, name)
        if doc["state"] not in ("STARTED", "FAILED"):
            raise errors.processor_problem(name, unconfirmed.NOT_RUNNING_MESSAGE)
        self._set_state(group_id, workspace, doc, "STOPPED")

    def apply_due_failures(self) -> None:
        for group_id, workspace, name in self.store.due_failures(self.clock()):
            doc = self.store.get("processors", group_id, name, workspace)
            self.store.set_fail_at(group_id, workspace, name, None)
            if doc and doc["state"] == "STARTED":
                self._set_state(group_id, workspace, doc, "FAILED")

    def fail(self, processor_id: str) -> None:
        """Mark a processor FAILED by id (the runtime reported a processor-level error)."""
        for group_id, workspace, doc in self.store.all_processors():
            if doc["_id"] == processor_id and doc["state"] == "STARTED":
                self._set_state(group_id, workspace, doc, "FAILED")

    def resume_started(self) -> int:
        """After an emulator restart: run again every processor that was STARTED."""
        started = [(g, w, d) for g, w, d in self.store.all_processors() if d["state"] == "STARTED"]
        for group_id, workspace, doc in started:
            if self.runtime:
                self.runtime.start(self._run_spec(group_id, workspace, doc), resume=True)
        return len(started)

    # -- helpers ----------------------------------------------------------------------------
    def _require(self, group_id: str, workspace: str, name: str) -> dict[str, Any]:
        self.workspaces.require(group_id, workspace)
        doc = self.store.get("processors", group_id, name, workspace)
        if doc is None:
            raise errors.processor_not_found(name, group_id, workspace)
        return doc

    def _set_state(self, group_id: str, workspace: str, doc: dict[str, Any], state: str) -> None:
        doc["state"] = state
        self.store.replace("processors", group_id, doc["name"], doc, workspace)
        self.store.set_fail_at(group_id, workspace, doc["name"], None)
        if self.runtime:
            self.runtime.stop(doc["_id"])

    def _with_stats(self, doc: dict[str, Any]) -> dict[str, Any]:
        stats = self.runtime.stats(doc["_id"]) if self.runtime else None
        if stats is not None:
            doc = {**doc, "stats": {**stats, "name": doc["name"], "processorId": doc["_id"],
                                    "status": STATUS_BY_STATE.get(doc["state"], "created")}}
        return doc

    def _connections(self, group_id: str, workspace: str) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.store.list("connections", group_id, workspace)}

    def _check_definition(self, group_id: str, ws: dict, name: str, pipeline: list, options: dict,
                          tier: str | None) -> None:
        from sp_tasks.pipeline_rules import check_processor  # pure rules shared with `invoke validate`

        types = {**BUILTIN_CONNECTIONS, **{n: c["type"] for n, c in self._connections(group_id, ws["name"]).items()}}
        problems = check_processor(name, pipeline, options, connection_types=types,
                                   tier=tier or ws["streamConfig"]["tier"])
        if problems:
            raise errors.processor_problem(name, problems[0].message)
        if tier and _tier_index(tier) > _tier_index(ws["streamConfig"]["maxTierSize"]):
            raise errors.processor_problem(
                name, f"tier {tier} exceeds the workspace's maxTierSize {ws['streamConfig']['maxTierSize']}")

    def _run_spec(self, group_id: str, workspace: str, doc: dict[str, Any]):
        from sp_tasks.emulator.runtime import RunSpec

        return RunSpec(processor_id=doc["_id"], name=doc["name"], group_id=group_id, workspace=workspace,
                       pipeline=doc["pipeline"], options=doc.get("options"),
                       connections=self._connections(group_id, workspace))


def _tier_index(tier: str) -> int:
    from sp_tasks.model import TIERS

    return TIERS.index(tier)


def _check_checkpoint_compatible(name: str, old: list, new: list) -> None:
    """Reference §5.2: with resumeFromCheckpoint (default) some changes are refused."""
    if same(old, new, ordered=True):
        return  # the same pipeline re-sent (a DLQ or tier change) modifies nothing
    if not same(_stage(old, "$source"), _stage(new, "$source")):
        raise errors.processor_problem(
            name, "the $source stage cannot be changed while resuming from a checkpoint; "
                  "set options.resumeFromCheckpoint to false")
    old_window, new_window = _window(old), _window(new)
    if old_window is None:
        return
    if new_window is None:
        raise errors.processor_problem(name, "a window stage cannot be removed while resuming from a checkpoint; "
                                             "set options.resumeFromCheckpoint to false")
    (old_kind, old_spec), (new_kind, new_spec) = old_window, new_window
    if old_kind != new_kind or not all(same(old_spec.get(k), new_spec.get(k)) for k in WINDOW_FIELDS):
        raise errors.processor_problem(name, "a window's type or interval cannot be changed while resuming "
                                             "from a checkpoint; set options.resumeFromCheckpoint to false")
    inner = [next(iter(s)) for s in new_spec.get("pipeline", []) if isinstance(s, dict) and s]
    if "$group" not in inner and "$sort" not in inner:
        raise errors.processor_problem(name, "a windowed pipeline can be modified with its checkpoint only when the "
                                             "window pipeline has $group or $sort")


def _stage(pipeline: list, key: str) -> Any:
    return next((s[key] for s in pipeline if isinstance(s, dict) and key in s), None)


def _window(pipeline: list) -> tuple[str, dict] | None:
    for stage in pipeline:
        for kind in WINDOWS:
            if isinstance(stage, dict) and kind in stage:
                return kind, stage[kind]
    return None
