"""``invoke perf-ab``: deploy base and head copies side by side, profile them in alternating rounds, clean up.

Shell. The flow:

1. **Pair** the base revision's definitions (``git show <base>:processors/…``) with the working
   tree's and make the copies (:mod:`~sp_tasks.profiling.abcopies`).
2. **Take the workspace's deploy lock** (:mod:`sp_tasks.deploy.lock`; LockHeld while a deploy,
   rollback or another perf-ab holds it) and **remove leftovers** of an earlier run that was
   killed (any ``*__ab_base``/``*__ab_head``).
3. **Create the copies** through the deploy engine — planner, strategies, executor — created
   STOPPED (and the workspace, where the environment allows creating one: CI runs perf-ab on a
   fresh emulator with nothing else running). Only the copies and connections the workspace lacks are sent: an existing connection
   that differs from Git is left alone (live processors use it) and the notes say so.
4. **Rounds**: round i starts every copy without its checkpoint — base and head together, so
   both read the same sample documents from the start, in the same ticks, under the same load
   on the machine — samples their stats for ``duration`` seconds (one list call per sample for
   all of them), and stops them. The emulator ticks the running processors one after another,
   base and head copies interleaved; the start requests go out base first in even rounds and
   head first in odd ones. Each processor's latency is its own (the emulator stamps a document
   when its processor pulls it), so one side's work does not enter the other's numbers.
5. **Always clean up**: stop and delete every copy, then the connections perf-ab created (unless a
   live processor uses one by then) — after success, failure, Ctrl-C or SIGTERM
   (turned into KeyboardInterrupt for the duration; during the clean-up itself further signals are
   held back until it is done). ``kill -9`` cannot be caught: the copies then stay (stopped or
   writing to their own ``__ab_*`` sinks, never to live ones) until the next ``perf-ab`` or
   ``perf-ab --clean`` removes them; ``invoke plan`` lists them as deploy copies meanwhile.

The run records (``run_id`` ``ab<round>-<side>``, ``flags`` the side) go to ``.sp/<env>/ab/runs.csv``.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from sp_tasks.deploy.steps import Chain, Phase, Target, flatten
from sp_tasks.deploy.steps import StepKind as K
from sp_tasks.errors import ConfigError, DeployError
from sp_tasks.model import DesiredState
from sp_tasks.profiling import abcopies
from sp_tasks.profiling.abcopies import BASE, HEAD, Pairing

if TYPE_CHECKING:
    import pandas as pd

    from sp_tasks.deploy.service import Runner

Say = Callable[[str], None]


@dataclass(frozen=True)
class AbRun:
    pairings: list[Pairing]
    runs: "pd.DataFrame"  # run columns; flags = side
    notes: tuple[str, ...]


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancel, ``kill``) raises KeyboardInterrupt like Ctrl-C, so clean-up runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """SIGINT/SIGTERM are noted, not obeyed, while the copies are being removed; the caller
    re-raises afterwards (a second Ctrl-C must not leave copies behind)."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    previous = {s: signal.signal(s, lambda signum, _f: got.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield got
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _apply(runner: "Runner", chains: list[Chain], desired: DesiredState, what: str) -> None:
    if not chains:
        return
    result = runner.apply(flatten(chains), desired)
    if not result.ok:
        raise DeployError(f"perf-ab could not {what}: {result.failure}", result)


def remove_copies(runner: "Runner", names: Sequence[str] | None = None) -> list[str]:
    """Stop and delete the perf-ab copies that exist (``names``: only those); returns their names."""
    live = [p.name for p in runner.live().processors if abcopies.is_copy(p.name)]
    gone = sorted(n for n in live if names is None or n in names)
    chains = [Chain(Phase.PROCESSOR_DELETES, "processor", n).add(K.STOP_PROCESSOR, Target("processor", n))
              .add(K.DELETE_PROCESSOR, Target("processor", n)) for n in gone]
    _apply(runner, chains, DesiredState(), "remove its copies")
    return gone


def create_copies(runner: "Runner", copies: Sequence[Any], base: DesiredState, head: DesiredState,
                  created: list[str] | None = None) -> list[str]:
    """Create the copies (STOPPED) and any connection they need that the workspace lacks; the
    names of those connections go into ``created`` before anything is sent (so a failure half-way
    still knows what to remove). Returns notes."""
    from sp_tasks.deploy.strategies import build_steps
    from sp_tasks.planning.plan import Action

    connections = {c.name: c for c in (*base.connections, *head.connections)}  # head's wins a name clash
    desired = DesiredState(tuple(copies), tuple(connections.values()))
    live = runner.live()
    plan = runner.plan(desired, live)
    keep = [c for c in plan.changes if (c.kind == "processor" and abcopies.is_copy(c.name))
            or (c.kind == "connection" and c.action is Action.CREATE)]
    notes = [f"connection {c.name} differs from the workspace's ({c.action.value} not sent): both sides use the "
             "workspace's" for c in plan.changes if c.kind == "connection" and c.action not in (Action.CREATE,
                                                                                                 Action.NOOP)]
    if created is not None:
        created += [c.name for c in keep if c.kind == "connection"]
    result = runner.apply(build_steps(replace(plan, changes=tuple(keep)), strategy="in-place", live=live), desired)
    if not result.ok:
        raise DeployError(f"perf-ab could not create its copies: {result.failure}", result)
    return notes


def remove_connections(runner: "Runner", names: Sequence[str]) -> list[str]:
    """Delete the connections perf-ab created, unless a processor that is not a copy uses them now."""
    from sp_tasks.planning.connections import referenced_connections

    live = runner.live()
    used = {n for p in live.processors if not abcopies.is_copy(p.name)
            for n in referenced_connections(p.pipeline, p.options)}
    gone = sorted(c.name for c in live.connections if c.name in names and c.name not in used)
    chains = [Chain(Phase.CONNECTION_DELETES, "connection", n).add(K.DELETE_CONNECTION, Target("connection", n))
              for n in gone]
    _apply(runner, chains, DesiredState(), "remove the connections it created")
    return gone


def _switch(runner: "Runner", names: Sequence[str], kind: K, tiers: dict[str, str]) -> None:
    """Start (fresh, no checkpoint) or stop the copies, all at once: the executor sends in parallel
    and waits for each to settle (Atlas and the emulator take a while per transition)."""
    chains = [Chain(Phase.PROCESSORS, "processor", f"{i:03d}").add(
        kind, Target("processor", n), {"tier": tiers[n], "resumeFromCheckpoint": False}
        if kind is K.START_PROCESSOR else {}) for i, n in enumerate(names)]
    _apply(runner, chains, DesiredState(), f"{kind.value.replace('_', ' ')} its copies")


def _one_round(runner: "Runner", names: list[str], tiers: dict[str, str], *, duration: float, interval: float,
               say: Say) -> "pd.DataFrame":
    """Start the copies fresh, sample them all at once, stop them: the run summary by copy name."""
    from sp_tasks.profiling.collect import collect_samples
    from sp_tasks.profiling.frames import compute_summary, samples_frame

    _switch(runner, names, K.START_PROCESSOR, tiers)
    try:
        samples = collect_samples(runner.client.list_processors, duration=duration, interval=interval,
                                  clock=runner.clock, processors=names, on_note=lambda m: say(f"    {m}"))
    finally:
        _switch(runner, names, K.STOP_PROCESSOR, tiers)
    return compute_summary(samples_frame(samples)).values


def run_rounds(runner: "Runner", pairings: Sequence[Pairing], copies: Sequence[Any], *, rounds: int,
               duration: float, interval: float, environment: str, shas: dict[str, str], say: Say
               ) -> "pd.DataFrame":
    """``rounds`` rounds of both sides running together; the run records, one run per side and round."""
    import pandas as pd

    from sp_tasks.profiling.datafiles import RUN_COLUMNS

    tiers = {c.name: c.tier for c in copies}
    measured = [p for p in pairings if p.status in abcopies.MEASURED]
    frames = []
    for i in range(rounds):
        order = (BASE, HEAD) if i % 2 == 0 else (HEAD, BASE)
        names = [abcopies.copy_name(p.name, side) for side in order for p in measured]
        say(f"round {i + 1}/{rounds}: {len(measured)} processor(s) × base and head together, {duration:g} s")
        started = pd.Timestamp(runner.clock.now())
        summary = _one_round(runner, names, tiers, duration=duration, interval=interval, say=say)
        side = summary["processor"].map(lambda n: BASE if n.endswith(abcopies.SUFFIX[BASE]) else HEAD)
        summary["processor"] = summary["processor"].map(abcopies.original_name)
        prints = {(p.name, s): p.fingerprint(s) for p in measured for s in (BASE, HEAD)}
        frames.append(summary.assign(
            run_id=[f"ab{i:02d}-{s}" for s in side], timestamp=started, git_sha=side.map(shas),
            definition=[prints[(p, s)] for p, s in zip(summary["processor"], side)], environment=environment,
            flags=side))
    if not frames:
        return pd.DataFrame(columns=RUN_COLUMNS)
    return pd.concat(frames, ignore_index=True)[RUN_COLUMNS]


def perf_ab(runner: "Runner", base: DesiredState, head: DesiredState, *, rounds: int, duration: float,
            interval: float, environment: str, shas: dict[str, str], say: Say) -> AbRun:
    """Pair, copy, measure in rounds, and always remove the copies (see the module docstring).

    Raises:
        ConfigError: nothing to compare, or no workspace. LockHeld: a deploy holds the workspace.
        DeployError: a copy could not be created, started, stopped or removed.
    """
    default_tier = runner.settings.default_tier if runner.settings.default_tier != "auto" else "SP10"
    pairings, copies = abcopies.copies_for(abcopies.pair_processors(base, head, default_tier=default_tier),
                                           default_tier)
    if not copies:
        raise ConfigError("perf-ab has nothing to measure: no processor is in both the base and the working tree "
                          "and started in Git (see processors/)")
    notes: list[str] = []
    created: list[str] = []  # connections the workspace lacked: removed with the copies
    runner.ensure_workspace(runner.live())  # ConfigError where creating one is not allowed
    # The deploy lock: no deploy, rollback or other perf-ab changes the workspace meanwhile (a
    # deploy's snapshot would otherwise hold our copies, another perf-ab would remove them).
    with runner.locked("perf-ab", base=shas["base"]), signals_interrupt():
        try:
            left = remove_copies(runner)
            notes += [f"removed {len(left)} copies left by an earlier perf-ab run: {', '.join(left)}"] if left else []
            say(f"creating {len(copies)} copies ({', '.join(sorted(c.name for c in copies))})")
            notes += create_copies(runner, copies, base, head, created)
            runs = run_rounds(runner, pairings, copies, rounds=rounds, duration=duration, interval=interval,
                              environment=environment, shas=shas, say=say)
        finally:
            _clean_up(runner, [c.name for c in copies], created, say)
    return AbRun(pairings, runs, tuple(notes))


def _clean_up(runner: "Runner", names: list[str], connections: list[str], say: Say) -> None:
    with signals_held() as got:
        say(f"removing the {len(names)} copies" + (f" and {len(connections)} connection(s) created for them"
                                                    if connections else ""))
        try:
            remove_copies(runner, names)
            remove_connections(runner, connections)
        except Exception as err:  # noqa: BLE001 - said once, in the final line, with the fix
            err.add_note("could not remove every copy: run `invoke perf-ab --clean` to remove them")
            raise
    if got:
        raise KeyboardInterrupt(f"signal {got[0]} during clean-up")
