"""Signals during a deploy or rollback: SIGINT, SIGTERM and SIGHUP all end in the rollback.

CI cancels a job with SIGINT, then SIGTERM a few seconds later; a closed terminal sends SIGHUP.
What a signal does depends on how far the flow got:

- before any write (planning, confirming): stop at once, nothing was sent;
- writing (lock, snapshot, apply, verify): the first signal sets ``cancel``; the executor stops
  after the step in flight (waits and health gates end early through :class:`CancellableClock`,
  except the waits for a stop or start already sent: Atlas shows the old state until it is done,
  so a rollback planned meanwhile would race it) and the flow rolls back to the snapshot. Handlers only set a flag here, never raise, so no
  write is cut in half;
- rolling back: every further signal is acknowledged and ignored — the rollback is what puts the
  workspace back, so it is finished (kill -9 remains, and the next plan shows what is left).

The flow's last line says in which state it left the workspace. Handlers are installed only in
the main thread (Python's rule) and the previous ones are restored afterwards.
"""
from __future__ import annotations

import queue
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from sp_tasks.clock import SystemClock
from sp_tasks.errors import DeployInterrupted

SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)
BEFORE_WRITES, WRITING, ROLLING_BACK = "before-writes", "writing", "rolling-back"


class Interrupts:
    def __init__(self, progress: Callable[[str], None] = lambda _: None):
        self.progress = progress
        self.cancel = threading.Event()
        self.phase = BEFORE_WRITES
        self.reason = ""  # the signal (or lost lock) that set ``cancel``
        self.keep_workspace = False  # lost lock: someone else may be writing; do not roll back
        self._signals: queue.SimpleQueue = queue.SimpleQueue()

    @contextmanager
    def installed(self) -> Iterator["Interrupts"]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        # A handler runs in the main thread between any two bytecodes, maybe while it holds a lock
        # (the console's, an Event's): it only queues the signal (SimpleQueue.put is reentrant) or
        # raises, and this thread takes the locks to act on it and say so.
        listener = threading.Thread(target=self._listen, name="signals", daemon=True)
        listener.start()
        previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._signals.put(None)
            listener.join(timeout=5)

    def stop(self, reason: str, *, keep_workspace: bool = False) -> None:
        """Ask the flow to stop (a signal, or the deploy lock was lost)."""
        if not self.cancel.is_set():
            self.reason, self.keep_workspace = reason, keep_workspace
            self.cancel.set()

    def check(self, context: str = "") -> None:
        """Between writes: raise if a stop was asked."""
        if self.cancel.is_set():
            raise DeployInterrupted(f"interrupted ({self.reason})" + (f" {context}" if context else ""))

    def _handle(self, signum: int, _frame) -> None:
        name = signal.Signals(signum).name
        if self.phase == BEFORE_WRITES:
            raise DeployInterrupted(f"{name} before any change: nothing was sent; the workspace is unchanged")
        self._signals.put((name, self.phase))

    def _listen(self) -> None:
        while (item := self._signals.get()) is not None:
            name, phase = item
            if phase == ROLLING_BACK:
                self.progress(f"{name} received while rolling back: finishing the rollback (it is what puts the "
                              "workspace back); the last line will say where it stands")
            elif self.cancel.is_set():
                self.progress(f"{name} again: already stopping; the rollback to the snapshot follows")
            else:
                self.stop(name)
                self.progress(f"{name} received: stopping after the step in progress, then rolling back to the "
                              "snapshot")


class CancellableClock:
    """A clock whose ``sleep`` ends early, raising DeployInterrupted, once ``cancel`` is set:
    waits for a state and health gates stop promptly instead of running to their timeout."""

    def __init__(self, clock, interrupts: Interrupts):
        self._clock, self._interrupts = clock, interrupts

    @property
    def uncancelled(self):
        """The clock underneath, for a wait the step in flight must see through (a sent stop or start)."""
        return self._clock

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def now(self):
        return self._clock.now()

    def sleep(self, seconds: float) -> None:
        self._interrupts.check()
        if isinstance(self._clock, SystemClock):
            self._interrupts.cancel.wait(max(0.0, seconds))
        else:  # an injected test clock: its own notion of time
            self._clock.sleep(seconds)
        self._interrupts.check()
