"""Apply: carry out a tuple of Steps against Atlas — the only code that writes to a workspace.

Phases run in order. Inside a phase, each chain of dependent steps (one object's stop → modify →
start, say) runs sequentially, and independent chains run in parallel up to ``max_parallel``.
The first failure stops new steps from starting; in-flight ones finish, and the caller rolls back.
So does ``cancel`` (a signal, a lost deploy lock): set from outside, it is seen before each step.

Writes are never blindly retried (the transport retries only what is safe). When a POST or PATCH
fails in a way that may have taken effect (5xx, timeout), the executor re-reads the object and
decides again: already applied → done; not applied → send once more; otherwise fail. Steps are
idempotent: stopping a stopped processor or deleting a missing one is "already done".
"""
from __future__ import annotations

import copy
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from sp_tasks import pointers
from sp_tasks.atlas import unconfirmed
from sp_tasks.deploy import waiting
from sp_tasks.deploy.canary import compare_canary
from sp_tasks.deploy.health import HealthPolicy, HealthVerdict, run_health_gate
from sp_tasks.deploy.landed import connection_matches, exists, idempotent_delete, processor_matches, still_working
from sp_tasks.deploy.states import ProcessorStates
from sp_tasks.deploy.steps import Step, StepKind as K, chains_of
from sp_tasks.errors import (AtlasApiError, AtlasNotFound, AtlasUnavailable, DeployError, DeployInterrupted,
                             HealthGateFailed, SpTasksError)
from sp_tasks.model import DesiredState
from sp_tasks.secrets import has_value

STOP_TIMEOUT = 300.0  # Atlas checkpoints on stop; Terraform waits up to 5 minutes too
CONNECTION_TIMEOUT = 600.0
CREATE_TIMEOUT = 300.0  # INIT/CREATING → CREATED (Terraform allows 5 minutes for any transition)


@dataclass(frozen=True)
class StepResult:
    step: Step
    status: str  # done | already-done | failed | not-run
    detail: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.step.id, "kind": self.step.kind.value, "target": str(self.step.target),
                "status": self.status, "detail": self.detail, "seconds": round(self.seconds, 3)}


@dataclass
class ApplyResult:
    results: list[StepResult] = field(default_factory=list)
    health: list[HealthVerdict] = field(default_factory=list)
    failure: SpTasksError | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "failure": str(self.failure) if self.failure else None,
                "steps": [r.to_json() for r in self.results], "health": [h.to_json() for h in self.health]}


class Executor:
    def __init__(self, client, desired: DesiredState, *, clock, policy: HealthPolicy,
                 progress: Callable[[str], None] = lambda _: None, max_parallel: int = 8,
                 cancel: Callable[[], str] = lambda: ""):
        self.cancel = cancel  # returns why to stop ("" = go on)
        self.client = client
        self.desired = desired
        self.clock = clock
        self.policy = policy
        self.progress = progress
        self.max_parallel = max_parallel
        self._lock = threading.Lock()
        self.states = ProcessorStates(client, clock)  # parallel waits share one list read per poll

    def apply(self, steps: Sequence[Step]) -> ApplyResult:
        result = ApplyResult()
        try:
            for phase in sorted({s.phase for s in steps}):
                chains = chains_of([s for s in steps if s.phase == phase])
                with ThreadPoolExecutor(max_workers=max(1, min(self.max_parallel, len(chains)))) as pool:
                    list(pool.map(lambda chain: self._run_chain(chain, result), chains))
                if result.failure:
                    break
        except BaseException:  # Ctrl-C / CI cancel: running chains stop after their current step
            result.failure = result.failure or DeployError("interrupted while applying")
            raise
        done = {r.step.id for r in result.results}
        result.results += [StepResult(s, "not-run") for s in steps if s.id not in done]
        return result

    def _run_chain(self, chain: list[Step], result: ApplyResult) -> None:
        for step in chain:
            why = self.cancel()
            if why:
                with self._lock:
                    result.failure = result.failure or DeployInterrupted(f"interrupted ({why}) before {step.id}")
            if result.failure:
                return
            started = time.monotonic()
            self.progress(f"{step.kind.value.replace('_', ' ')}: {step.target.name}")
            try:
                status, detail = self._run(step, result)
            except Exception as exc:  # noqa: BLE001 - any failure must end in a rollback, bugs included
                err = exc if isinstance(exc, SpTasksError) else DeployError(
                    f"{step.kind.value} {step.target.name} failed unexpectedly ({type(exc).__name__}: {exc})")
                with self._lock:
                    result.results.append(StepResult(step, "failed", str(err), time.monotonic() - started))
                    result.failure = result.failure or err
                return
            with self._lock:
                result.results.append(StepResult(step, status, detail, time.monotonic() - started))

    # -- one step -------------------------------------------------------------------------
    def _run(self, step: Step, result: ApplyResult) -> tuple[str, str]:
        # Plans hold no secret values: they are read from the Git files now, for this call only.
        name, body, c = step.target.name, self._with_secrets(step), self.client
        if step.kind is K.CREATE_CONNECTION:
            return self._write(lambda: c.create_connection(body), lambda: exists(c.get_connection, name))
        if step.kind is K.UPDATE_CONNECTION:
            return self._write(lambda: c.update_connection(name, body),
                               lambda: connection_matches(c.get_connection(name), step.payload))
        if step.kind is K.DELETE_CONNECTION:  # waits until gone: a replace creates the same name next
            gone = waiting.delete_connection(c, name, clock=self.clock, timeout=CONNECTION_TIMEOUT, progress=self.progress)
            return ("done", "") if gone else ("already-done", "was already gone")
        if step.kind is K.WAIT_CONNECTION_READY:
            waiting.wait_for_connection_ready(c, name, clock=self.clock, timeout=CONNECTION_TIMEOUT,
                                              progress=self.progress)
            return "done", "READY"
        if step.kind is K.CREATE_PROCESSOR:
            done = self._write(lambda: c.create_processor(body), lambda: exists(c.get_processor, name))
            self._settle_created(name)
            return done
        if step.kind is K.MODIFY_PROCESSOR:
            return self._once_settled(name, lambda: self._write(lambda: c.modify_processor(name, body),
                                                                lambda: processor_matches(c.get_processor(name), body)))
        if step.kind is K.RENAME_PROCESSOR:
            return self._once_settled(name, lambda: self._write(lambda: c.modify_processor(name, body),
                                                                lambda: exists(c.get_processor, body["name"])))
        if step.kind is K.STOP_PROCESSOR:
            return self._stop(name, start_under_way=bool(body.get("start_under_way")))
        if step.kind is K.START_PROCESSOR:
            return self._start(name, body)
        if step.kind is K.DELETE_PROCESSOR:
            return self._once_settled(name, lambda: idempotent_delete(lambda: c.delete_processor(name)))
        if step.kind is K.VERIFY_HEALTH:
            return self._verify(body["processors"], result)
        if step.kind is K.COMPARE_CANARY:
            verdict = compare_canary(c.list_processors, body["baseline"], body["canary"], self.policy, self.clock)
            if not verdict.healthy:
                raise HealthGateFailed(f"canary {body['canary']} failed: {'; '.join(verdict.reasons)}")
            return "done", "canary matches the live processor"
        raise DeployError(f"unknown step kind {step.kind}")

    def _write(self, send: Callable[[], Any], applied: Callable[[], bool]) -> tuple[str, str]:
        """POST/PATCH with a re-read instead of a blind retry when the outcome is unknown."""
        try:
            send()
            return "done", ""
        except (AtlasUnavailable, AtlasApiError) as err:
            if isinstance(err, AtlasApiError) and err.status < 500:
                raise
            if applied():
                return "done", "confirmed by re-reading after an unclear answer"
            send()  # decided again after reading: it had not happened, so one more try
            return "done", "sent again after re-reading"

    def _once_settled(self, name: str, write: Callable[[], tuple[str, str]]) -> tuple[str, str]:
        """A write that needs a stopped processor, refused INVALID_STATE although it was planned on a
        stopped one: a start someone sent (a deployer killed or interrupted mid-step) is under way,
        and Atlas shows the old state until it ends — or it ended between the plan and the write, and
        the processor is STARTED now. Wait for the state to change if it has not, stop, send again."""
        try:
            return write()
        except AtlasApiError as err:
            seen = waiting.processor_state(self.client, name) if unconfirmed.refused_for_its_state(err) else "?"
            if seen not in ("CREATED", "STOPPED", "FAILED", "STARTED"):
                raise
            self.progress(f"{name} refused a change while {seen}: a start was under way; stopping it first")
            if seen != "STARTED":
                waiting.wait_until(lambda: waiting.processor_state(self.client, name), lambda s: s != seen,
                                   what=f"processor {name} to leave {seen}", clock=self.clock, timeout=STOP_TIMEOUT,
                                   progress=self.progress)
        self._stop(name)
        return write()

    def _stop(self, name: str, start_under_way: bool = False) -> tuple[str, str]:
        # A start under way is seen through first, said and bounded like a start: what Atlas does with
        # a stop sent meanwhile is unknown (atlas/unconfirmed.py), and a start landing after it would
        # leave the processor STARTED. Otherwise optimistic: send, read only when the answer is not a 200.
        if start_under_way:
            self._see_start_through(name)
        try:
            self.client.stop_processor(name)
        except AtlasNotFound:
            return "already-done", "was absent"
        except (AtlasApiError, AtlasUnavailable) as err:
            if not still_working(err):
                seen = waiting.processor_reading(self.client, name)
                if seen.verb == "starting" and not start_under_way:  # refused mid-start: "STOPPED" is not so
                    return self._stop(name, start_under_way=True)
                if seen.state not in (None, "CREATED", "STOPPED"):
                    raise
                return "already-done", f"was {seen.state or 'absent'}"
        # Seen through even when a signal arrives: Atlas shows STARTED until the stop is done, so a
        # rollback planned meanwhile would find nothing to do and the stop would land after it.
        self._wait_for(name, "STOPPED", STOP_TIMEOUT, clock=getattr(self.clock, "uncancelled", self.clock))
        return "done", ""

    def _start(self, name: str, body: dict[str, Any]) -> tuple[str, str]:
        status = "done"
        try:
            self.client.start_processor_with(name, tier=body.get("tier"),
                                             resume_from_checkpoint=body.get("resumeFromCheckpoint"))
        except (AtlasApiError, AtlasUnavailable) as err:
            if not still_working(err):
                if waiting.processor_state(self.client, name) != "STARTED":
                    raise
                status = "already-done"
        # Seen through even when a signal arrives, as a sent stop is: the start lands whatever we do
        # next, and a rollback planned before it did would race it (matrix.md, "interrupted start").
        self._wait_for(name, "STARTED", self.policy.started_timeout_s,
                       clock=getattr(self.clock, "uncancelled", self.clock))
        return status, f"tier {body['tier']}" if body.get("tier") else ""

    def _see_start_through(self, name: str) -> None:
        timeout = self.policy.started_timeout_s
        self.progress(f"{name}: a start is under way; waiting for it to finish before stopping it (up to {timeout:g} s, "
                      "health.started_timeout_s)")
        with self.states.waiting():
            waiting.wait_for_start_to_end(self.client, name, clock=self.clock, timeout=timeout, progress=self.progress,
                                          read=self.states.readings(name))

    def _wait_for(self, name: str, wanted: str, timeout: float, clock=None) -> None:
        with self.states.waiting():
            waiting.wait_for_processor(self.client, name, wanted, clock=clock or self.clock, timeout=timeout,
                                       progress=self.progress, read=self.states.readings(name))

    def _settle_created(self, name: str) -> None:
        """A new processor is INIT/CREATING for a while: nothing may start or modify it before."""
        with self.states.waiting():
            state = waiting.wait_for_processor_created(self.client, name, clock=self.clock, timeout=CREATE_TIMEOUT,
                                                       progress=self.progress, read=self.states.readings(name))
        if state == "FAILED":
            raise DeployError(f"processor {name} is FAILED right after it was created; see its logs in Atlas")

    def _verify(self, names: list[str], result: ApplyResult) -> tuple[str, str]:
        verdicts = run_health_gate(self.client.list_processors, names, self.policy, self.clock, self.progress)
        with self._lock:
            result.health += verdicts
        bad = [v for v in verdicts if not v.healthy]
        if bad:
            raise HealthGateFailed("health gate failed: " + "; ".join(
                f"{v.processor} {' and '.join(v.reasons)}" for v in bad))
        return "done", f"{len(verdicts)} healthy"

    def _with_secrets(self, step: Step) -> dict[str, Any]:
        """The payload with each secret in ``step.secret_paths`` copied in from the Git definition
        (read now, never stored in a plan); refuses before sending when one has no value there."""
        if not step.secret_paths:
            return step.payload
        source, file = _secret_source(self.desired, step)
        missing = [p for p in step.secret_paths if source is None or not has_value(source, p)]
        if missing:
            raise DeployError(f"{step.target} was not sent: it needs {', '.join(missing)} from {file}, which "
                              f"{'has no value there' if source is not None else 'is not in this checkout'}; "
                              "add it there as ${VAR} (same name and type) and run again")
        body = copy.deepcopy(step.payload)
        for pointer in step.secret_paths:
            pointers.put(body, pointer, pointers.get(source, pointer))
        return body


def _secret_source(desired: DesiredState, step: Step) -> tuple[dict[str, Any] | None, str]:
    """(document the step's secrets come from, its file for messages); None when Git lacks it."""
    name = step.secrets_from or step.target.name
    if step.target.kind == "connection":
        spec = desired.connection(name)
        return (spec.body if spec else None), (spec.file if spec else f"connections/{name}.json")
    spec = desired.processor(name)
    source = {"pipeline": spec.pipeline, "options": spec.options} if spec else None
    return source, (spec.file if spec else f"processors/{name}.json")
