"""How one processor pair (desired file, live processor) becomes a Change, with its consequences.

Rules (reference §5.2, §5.3):
- not live → ``create`` (started afterwards when the file wants STARTED);
- definition equal → ``start``/``stop`` when only the state differs; a FAILED processor whose
  definition matches Git is started again (retry); otherwise ``no-op``;
- definition differs → ``update`` (stop → modify → restore; checkpoint kept) unless the change
  needs ``resumeFromCheckpoint: false`` (see :func:`reset_reason`) → ``update-reset``;
- live only → ``delete`` with prune, else ``no-op``; copies named ``X__blue``/``X__green``/
  ``X__canary`` are informational no-ops unless ``exact`` (rollback to a snapshot) is asked.

Secrets (``$https`` headers and the like, see ``sp_tasks.secrets``): Atlas stores and returns
the pipeline, so they are compared on their real values (a rotated token is an ``update``), and
every Change shows them as "(secret)"; ``secret_paths`` tells apply to fill them in from the Git
file. A secret restored from a snapshot is "(secret)" itself (value unknown) and equals whatever
live holds; one that no Git file supplies is listed in ``missing_secrets``.

Tier: a live processor whose ``tier`` is None is not compared on tier. Atlas (and the emulator)
echo the tier a processor was created, modified or started with; when none is reported we
cannot tell drift from "runs on the workspace default", and comparing would never converge.
"""
from __future__ import annotations

from typing import Any

from sp_tasks.model import (AB_BASE_SUFFIX, AB_HEAD_SUFFIX, BLUE_SUFFIX, RESERVED_SUFFIXES, RETIRED_SUFFIX,
                            LiveProcessor, ProcessorSpec)
from sp_tasks.planning.diff import FieldChange, changed_stages, compute_diff, redacted
from sp_tasks.planning.normalize import comparable, processor_document, same
from sp_tasks.planning.plan import Action, Change
from sp_tasks.secrets import marked, needed_secrets, processor_secrets, redact

RUNNING = frozenset({"STARTED", "STARTING"})  # STARTING is unconfirmed but plainly running
WINDOWS = {"$tumblingWindow": ("interval",), "$hoppingWindow": ("interval", "hopSize"), "$sessionWindow": ("gap",)}

RESET_CONSEQUENCE = (
    "window state and source offsets are discarded; the processor restarts from the source's "
    "current position: events in flight are not reprocessed"
)
STOP_WINDOW = "output pauses from stop to restart (stop waits for a checkpoint, up to 300 s)"
STOPPED = "until started again"
SENDS_DEFINITION = frozenset({Action.CREATE, Action.UPDATE, Action.UPDATE_RESET})


def decide_processor(
    spec: ProcessorSpec | None, proc: LiveProcessor | None, *, tier: str | None, prune: bool, exact: bool
) -> Change:
    if proc is None:
        return _create(spec, tier)
    if spec is None:
        return _live_only(proc, prune=prune, exact=exact)
    return _compare(spec, proc, tier)


def _create(spec: ProcessorSpec, tier: str | None) -> Change:
    after = processor_document(spec.name, spec.pipeline, spec.options, tier)
    started = spec.desired_state.value == "STARTED"
    consequence = (
        f"new processor, no checkpoint: starts on {tier} from the source's start position"
        if started
        else f"created on {tier} and left CREATED (not started)"
    )
    return _change(spec, None, Action.CREATE, after=after, tier=tier, consequence=consequence, reason="not deployed",
                   **_secrets_of(spec, after))


def _secrets_of(spec: ProcessorSpec, after: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Secrets apply fills in from the Git file (declared by it), and those nothing supplies."""
    needed, missing = needed_secrets(after, processor_secrets(after) + marked(after), spec.secret_paths)
    return {"secret_paths": needed, "missing_secrets": missing}


def _live_only(proc: LiveProcessor, *, prune: bool, exact: bool) -> Change:
    before = processor_document(proc.name, proc.pipeline, proc.options, proc.tier)
    before = redact(before, processor_secrets(before))
    common = dict(kind="processor", name=proc.name, before=before, tier=proc.tier, live_state=proc.state)
    if proc.name.endswith(RESERVED_SUFFIXES) and not exact:
        return Change(action=Action.NOOP, reason=_copy_reason(proc.name), **common)
    if not (prune or exact):
        return Change(action=Action.NOOP, reason="not in git (prune off)", **common)
    return Change(
        action=Action.DELETE,
        reason="not in the snapshot" if exact else "not in git",
        consequence="processor, checkpoint and window state are destroyed",
        stop_window="permanent",
        **common,
    )


def _copy_reason(name: str) -> str:
    if name.endswith((BLUE_SUFFIX, RETIRED_SUFFIX)):
        return "rollback target kept by a blue-green deploy: never pruned implicitly"
    if name.endswith((AB_BASE_SUFFIX, AB_HEAD_SUFFIX)):
        return "copy made by `invoke perf-ab`, which removes it (`--clean` after a killed run)"
    return "copy made by the deploy in progress (it holds the deploy lock): left to it"


def _compare(spec: ProcessorSpec, proc: LiveProcessor, tier: str | None) -> Change:
    after = processor_document(spec.name, spec.pipeline, spec.options, tier)
    secrets = _secrets_of(spec, after)
    live = processor_document(proc.name, proc.pipeline, proc.options, proc.tier)
    after, before = comparable(after, live, secrets["secret_paths"], unreturned_hidden=False)
    compared = after if "tier" in before else {k: v for k, v in after.items() if k != "tier"}
    fields = compute_diff(before, compared)
    want = spec.desired_state.value
    state_field = () if _state_matches(want, proc.state) else (FieldChange("/state", proc.state, want),)
    common = dict(before=before, after=after, tier=tier, fields=fields + state_field, **secrets)
    if fields:
        return _update(spec, proc, common)
    return _state_only(spec, proc, bool(state_field), common)


def _state_only(spec: ProcessorSpec, proc: LiveProcessor, differs: bool, common: dict) -> Change:
    want, live = spec.desired_state.value, proc.state
    if live == "FAILED" and want == "STARTED":
        reason = "FAILED on Atlas with the definition Git wants: start again (retry)"
        consequence = "retried from its last checkpoint"
        return _change(spec, proc, Action.START, reason=reason, consequence=consequence, **common)
    if not differs:
        reason = "FAILED on Atlas; Git wants it stopped: left as is" if live == "FAILED" else ""
        return _change(spec, proc, Action.NOOP, reason=reason, **common)
    reason = f"live {live}, Git wants {want}"
    if want == "STARTED":
        first = live == "CREATED"
        consequence = "first run: starts from the source's start position" if first else "resumes from its checkpoint"
        return _change(spec, proc, Action.START, reason=reason, consequence=consequence, **common)
    consequence = "output pauses; checkpoint kept (Atlas discards state after 45 days stopped)"
    return _change(spec, proc, Action.STOP, reason=reason, consequence=consequence, stop_window=STOPPED, **common)


def _state_matches(want: str, live: str) -> bool:
    if want == "STARTED":
        return live in RUNNING
    return live not in RUNNING  # CREATED, STOPPED, FAILED are all "not running"


def _update(spec: ProcessorSpec, proc: LiveProcessor, common: dict) -> Change:
    reset = reset_reason(common["before"]["pipeline"], common["after"]["pipeline"], spec.options)
    restarts = spec.desired_state.value == "STARTED"
    running = proc.state in RUNNING
    common["stop_window"] = (STOP_WINDOW if restarts else STOPPED) if running else ""
    if reset:
        reason, consequence = f"{reset}: needs resumeFromCheckpoint false", _reset_consequence(proc, restarts)
        return _change(spec, proc, Action.UPDATE_RESET, reason=reason, consequence=consequence, **common)
    reason = "changed: " + _areas(common["fields"])
    consequence = "checkpoint and window state kept; " + ("resumes where it stopped" if restarts else "stays stopped")
    return _change(spec, proc, Action.UPDATE, reason=reason, consequence=consequence, **common)


def _reset_consequence(proc: LiveProcessor, restarts: bool) -> str:
    if proc.state == "CREATED":
        return "never started: no state to discard"
    return RESET_CONSEQUENCE + ("" if restarts else " (when next started)")


def _areas(fields: tuple[FieldChange, ...]) -> str:
    stages = changed_stages(fields)
    parts = [f"pipeline stage {', '.join(map(str, stages))}"] if stages else []
    parts += sorted({f.path.split("/")[1] for f in fields if not f.path.startswith("/pipeline/")})
    return ", ".join(parts)


def _change(spec: ProcessorSpec, proc: LiveProcessor | None, action: Action, **values: Any) -> Change:
    """The Change, its documents and fields with every secret hidden."""
    hidden = set(values.get("secret_paths", ())) | set(processor_secrets(values.get("before") or {}))
    for side in ("before", "after"):
        values[side] = redact(values.get(side), hidden)
    values["fields"] = redacted(values.get("fields", ()), hidden)
    if action not in SENDS_DEFINITION:
        values.pop("missing_secrets", None)
    return Change(
        kind="processor",
        name=spec.name,
        action=action,
        desired_state=spec.desired_state.value,
        live_state=proc.state if proc else None,
        **values,
    )


def reset_reason(before: list[Any], after: list[Any], options: dict[str, Any] | None) -> str:
    """Why modifying ``before`` into ``after`` needs ``resumeFromCheckpoint: false``; "" when it does not."""
    if same(before, after, ordered=True):
        return ""
    if (options or {}).get("resumeFromCheckpoint") is False:
        return "the processor file sets options.resumeFromCheckpoint false"
    if not same(_stage(before, "$source"), _stage(after, "$source"), ordered=True):
        return "$source changed"
    return _window_reason(_window(before), _window(after))


def _window_reason(old: tuple[str, dict] | None, new: tuple[str, dict] | None) -> str:
    if old and not new:
        return f"window {old[0]} removed"
    if old and new and old[0] != new[0]:
        return f"window type changed ({old[0]} → {new[0]})"
    if old and new and any(not same(old[1].get(k), new[1].get(k)) for k in WINDOWS[old[0]]):
        return f"window {' / '.join(WINDOWS[old[0]])} changed"
    for window in (old, new):
        if window and not _groups_or_sorts(window[1]):
            return f"the {window[0]} pipeline has no $group or $sort"
    return ""


def _stage(pipeline: list[Any], operator: str) -> Any:
    return next((s[operator] for s in pipeline if isinstance(s, dict) and operator in s), None)


def _window(pipeline: list[Any]) -> tuple[str, dict] | None:
    for operator in WINDOWS:
        body = _stage(pipeline, operator)
        if isinstance(body, dict):
            return operator, body
    return None


def _groups_or_sorts(window: dict[str, Any]) -> bool:
    inner = window.get("pipeline") or []
    return any(isinstance(s, dict) and ("$group" in s or "$sort" in s) for s in inner)
