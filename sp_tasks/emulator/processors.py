"""API rules for stream processors (reference §5): create/modify checks and the asynchronous state machine.

States: INIT -> CREATING -> CREATED -> STARTED <-> STOPPED, STARTED -> FAILED -> STARTED|STOPPED.
Create, start and stop answer at once and settle later (``lifecycle``): during a pending start
the state still reads CREATED/STOPPED, during a pending stop STARTED (what Terraform's provider
polls past). Modify and delete need a settled processor that is not running. A started
processor really runs in the ``Runtime``; this module owns what the API answers, the runtime
owns execution and counters. Injected failures (``fail_on_start``) are recorded as a due time
and applied lazily, so no timer can race a request. ``resumeFromCheckpoint: false`` (modify or
startWith) drops window state and source position but keeps the counters; delete drops the
whole checkpoint. What a definition must satisfy is ``acceptance`` (the emulator's own rules).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from sp_tasks.atlas import unconfirmed
from sp_tasks.emulator import acceptance, bodies, errors, lifecycle
from sp_tasks.emulator.lifecycle import PENDING
from sp_tasks.emulator.store import ControlStore, new_object_id
from sp_tasks.emulator.vocabulary import tier_index
from sp_tasks.emulator.workspaces import Workspaces, _check_name

FAIL_AFTER_SECONDS = 0.2  # how long an injected fail_on_start processor looks STARTED
STATUS_BY_STATE = {"CREATED": "created", "STARTED": "running", "STOPPED": unconfirmed.STOPPED_STATS_STATUS,
                   "FAILED": "error"}
SETTLING = ("INIT", "CREATING")
TRANSITION_STATUS = {"STARTED": "starting", "STOPPED": "stopping"}  # pending target -> stats.status


class Processors:
    def __init__(self, store: ControlStore, workspaces: Workspaces, runtime: Any,
                 fail_on_start: Callable[[str], bool], clock: Callable[[], float] = time.time,
                 delays: dict[str, float] | None = None, schedule: lifecycle.Schedule | None = None):
        self.store = store
        self.workspaces = workspaces
        self.runtime = runtime
        self.fail_on_start = fail_on_start
        self.clock = clock
        self.delays = dict(delays if delays is not None else lifecycle.ZERO_DELAYS)
        self.schedule = schedule or lifecycle.Schedule()
        self.stats_latency = True  # False: stats without processor-level latency, as in older responses

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
        seconds = self.delays["processor_create"]
        if seconds > 0:  # INIT for the first half, CREATING for the second
            doc = lifecycle.schedule({**doc, "state": "INIT"}, self.clock(),
                                     [("CREATING", seconds / 2), ("CREATED", seconds / 2)])
        self._save(group_id, workspace, doc["name"], doc, insert=True)
        return lifecycle.public(doc)

    def modify(self, group_id: str, workspace: str, name: str, body: Any) -> dict[str, Any]:
        ws = self.workspaces.require(group_id, workspace)
        doc = self._require(group_id, workspace, name)
        body = bodies.checked(body, bodies.PROCESSOR_MODIFY)
        self._refuse_unsettled(doc, "modified")
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
                problem = acceptance.checkpoint_problem(doc["pipeline"], body["pipeline"])
                if problem:
                    raise errors.processor_problem(name, problem)
            new["pipeline"] = body["pipeline"]
        if "dlq" in options_in:
            dlq = options_in["dlq"]
            new["options"] = {"dlq": dlq} if dlq else {}
            if not dlq:
                new.pop("options")
        if "tier" in body:
            new["tier"] = body["tier"]
        self._check_definition(group_id, ws, new["name"], new["pipeline"], new.get("options") or {}, new.get("tier"))
        self._save(group_id, workspace, name, new)
        if not resume and self.runtime:
            self.runtime.reset_state(doc["_id"])  # reference §5.2: only summary stats retained
        return self._with_stats(new)

    def delete(self, group_id: str, workspace: str, name: str) -> None:
        doc = self._require(group_id, workspace, name)
        if doc["state"] == "STARTED" or lifecycle.pending_target(doc) == "STARTED":
            raise errors.processor_problem(name, "stop the stream processor before deleting it (INVALID_STATE)")
        self.store.delete("processors", group_id, name, workspace)
        self.schedule.add(("processors", group_id, workspace, name), {})
        if self.runtime:
            self.runtime.discard(doc["_id"])

    def start(self, group_id: str, workspace: str, name: str, body: Any = None) -> None:
        ws = self.workspaces.require(group_id, workspace)
        doc = self._require(group_id, workspace, name)
        options = bodies.checked(body, bodies.START_WITH) if body is not None else {}
        target = lifecycle.pending_target(doc)
        if target == "STARTED":
            return  # already starting: the same request again changes nothing
        if target == "STOPPED":
            raise errors.processor_problem(name, unconfirmed.START_WHILE_STOPPING_MESSAGE)
        self._refuse_unsettled(doc, "started")
        if doc["state"] == "STARTED":
            raise errors.processor_problem(name, unconfirmed.ALREADY_STARTED_MESSAGE)
        tier = options.get("tier") or doc.get("tier") or ws["streamConfig"]["tier"]
        self._check_definition(group_id, ws, name, doc["pipeline"], doc.get("options") or {}, tier)
        self._check_connections_ready(group_id, workspace, doc)
        if options.get("tier"):
            doc["tier"] = options["tier"]
        extra = {"resume": options.get("resumeFromCheckpoint", True), "fail": self.fail_on_start(name)}
        doc = lifecycle.schedule(doc, self.clock(), [("STARTED", self.delays["processor_start"])], **extra)
        self._save(group_id, workspace, name, doc)
        self.apply_due(group_id, workspace, name)

    def stop(self, group_id: str, workspace: str, name: str) -> None:
        doc = self._require(group_id, workspace, name)
        target = lifecycle.pending_target(doc)
        if target == "STOPPED":
            return
        if target == "STARTED":  # stop wins over a start still pending: it never ran
            self._set_state(group_id, workspace, lifecycle.public(doc), "STOPPED")
            return
        if doc["state"] not in ("STARTED", "FAILED"):
            raise errors.processor_problem(name, unconfirmed.NOT_RUNNING_MESSAGE)
        doc = lifecycle.schedule(doc, self.clock(), [("STOPPED", self.delays["processor_stop"])])
        self._save(group_id, workspace, name, doc)
        self.apply_due(group_id, workspace, name)

    # -- time passing -------------------------------------------------------------------------
    def apply_due(self, group_id: str, workspace: str, name: str) -> None:
        """Enter every state of this processor's pending transition that is due now."""
        doc = self.store.get("processors", group_id, name, workspace)
        if doc is None or PENDING not in doc:
            self.schedule.add(("processors", group_id, workspace, name), {})
            return
        extra = doc[PENDING]
        new, entered = lifecycle.advance(doc, self.clock())
        if not entered:
            return
        self._save(group_id, workspace, name, new)
        if entered[-1] == "STARTED":
            self._run(group_id, workspace, new, resume=extra.get("resume", True), fail=extra.get("fail", False))
        elif entered[-1] == "STOPPED":
            self._set_state(group_id, workspace, new, "STOPPED")

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
                self._set_state(group_id, workspace, lifecycle.public(doc), "FAILED")

    def resume_started(self) -> int:
        """After an emulator restart: run again every processor that was STARTED, re-index pending ones."""
        started = 0
        for group_id, workspace, doc in self.store.all_processors():
            self.schedule.add(("processors", group_id, workspace, doc["name"]), doc)
            if doc["state"] == "STARTED" and self.runtime:
                self.runtime.start(self._run_spec(group_id, workspace, doc), resume=True)
                started += 1
        return started

    # -- helpers ----------------------------------------------------------------------------
    def _require(self, group_id: str, workspace: str, name: str) -> dict[str, Any]:
        self.workspaces.require(group_id, workspace)
        doc = self.store.get("processors", group_id, name, workspace)
        if doc is None:
            raise errors.processor_not_found(name, group_id, workspace)
        return doc

    def _refuse_unsettled(self, doc: dict[str, Any], verb: str) -> None:
        if doc["state"] in SETTLING or PENDING in doc:
            now = TRANSITION_STATUS.get(lifecycle.pending_target(doc), doc["state"])
            raise errors.processor_problem(doc["name"], unconfirmed.UNSETTLED_MESSAGE.format(verb=verb, state=now))

    def _check_connections_ready(self, group_id: str, workspace: str, doc: dict[str, Any]) -> None:
        connections = self._connections(group_id, workspace)
        for used in sorted(acceptance.referenced_connections(doc["pipeline"], doc.get("options"))):
            state = (connections.get(used) or {}).get("state", "READY")
            if state != "READY":
                raise errors.processor_problem(doc["name"], unconfirmed.CONNECTION_NOT_READY_MESSAGE.format(
                    connection=used, state=state))

    def _save(self, group_id: str, workspace: str, name: str, doc: dict[str, Any], insert: bool = False) -> None:
        if insert:
            self.store.insert("processors", group_id, doc, workspace)
        else:
            self.store.replace("processors", group_id, name, doc, workspace)
        self.schedule.add(("processors", group_id, workspace, doc["name"]), doc)

    def _run(self, group_id: str, workspace: str, doc: dict[str, Any], *, resume: bool, fail: bool) -> None:
        if fail:
            self.store.set_fail_at(group_id, workspace, doc["name"], self.clock() + FAIL_AFTER_SECONDS)
        if self.runtime:
            self.runtime.start(self._run_spec(group_id, workspace, doc), resume=resume)

    def _set_state(self, group_id: str, workspace: str, doc: dict[str, Any], state: str) -> None:
        doc = {**doc, "state": state}
        self._save(group_id, workspace, doc["name"], doc)
        self.store.set_fail_at(group_id, workspace, doc["name"], None)
        if self.runtime:
            self.runtime.stop(doc["_id"])

    def _with_stats(self, doc: dict[str, Any]) -> dict[str, Any]:
        # A pending start or stop shows in stats.status before state changes (unconfirmed.
        # TRANSITION_IN_STATS_STATUS); a first start has no counters yet, only that status.
        under_way = TRANSITION_STATUS.get(lifecycle.pending_target(doc))
        doc = lifecycle.public(doc)
        stats = self.runtime.stats(doc["_id"]) if self.runtime else None
        if stats is None and under_way == "starting" and unconfirmed.TRANSITION_IN_STATS_STATUS:
            stats = {}
        if stats is not None:
            status = under_way if under_way and unconfirmed.TRANSITION_IN_STATS_STATUS else None
            stats = {**stats, "name": doc["name"], "processorId": doc["_id"],
                     "status": status or STATUS_BY_STATE.get(doc["state"], "created")}
            if not self.stats_latency:
                stats.pop("latency", None)
            doc = {**doc, "stats": stats}
        return doc

    def _connections(self, group_id: str, workspace: str) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.store.list("connections", group_id, workspace)}

    def _check_definition(self, group_id: str, ws: dict, name: str, pipeline: list, options: dict,
                          tier: str | None) -> None:
        types = {n: c["type"] for n, c in self._connections(group_id, ws["name"]).items()}
        problem = acceptance.definition_problem(pipeline, options, connection_types=types,
                                                tier=tier or ws["streamConfig"]["tier"])
        if problem:
            raise errors.processor_problem(name, problem)
        ceiling = ws["streamConfig"].get("maxTierSize")
        if tier and ceiling and tier_index(tier) > tier_index(ceiling):
            raise errors.processor_problem(name, f"tier {tier} exceeds the workspace's maxTierSize {ceiling}")

    def _run_spec(self, group_id: str, workspace: str, doc: dict[str, Any]):
        from sp_tasks.emulator.runtime import RunSpec

        return RunSpec(processor_id=doc["_id"], name=doc["name"], group_id=group_id, workspace=workspace,
                       pipeline=doc["pipeline"], options=doc.get("options"),
                       connections=self._connections(group_id, workspace))
