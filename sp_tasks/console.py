"""The one console of sp-tasks: what `invoke` tasks and `sp` print, ask and exit with.

Both front doors build a :class:`Console` per command and run the command body through
:func:`run`, the single place where an error becomes an exit code (:func:`exit_code`) and a final
line. Results go to stdout (JSON when ``--format json``, errors included); progress, heartbeats,
prompts and the final error line go to stderr. Colour only on a terminal, never with
``NO_COLOR`` (https://no-color.org), forced with ``FORCE_COLOR``. Declining a prompt exits 1,
as Terraform does. Long waits are never silent: a wait loop ticks a :class:`Heartbeat` (clock
injected, so tests run in zero time), a blocking call sits inside :meth:`Console.waiting`.

Code deep inside the library reports through a plain ``progress(message)`` callable; anything
may add a note to an exception (``err.add_note(...)``) and the final line says it.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import os
import sys
import threading
from typing import Any, Callable, Iterator, TextIO

from sp_tasks.errors import Cancelled, ConfigError, ExitStatus, SpTasksError

INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "error: bad option, unreachable or refusing Atlas, failed deploy (rolled back), declined prompt",
    2: "plan has changes (only with --detailed-exitcode, and drift)",
    3: "regression or threshold breach",
    4: "invalid input: definitions (processors/, connections/), environment files, or a file given as an "
       "option (missing, unreadable, malformed); nothing was sent",
    INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); the final line says what was left",
}
HEARTBEAT_FIRST = 3.0  # a wait shorter than this needs no reassurance
HEARTBEAT_EVERY = 6.0  # then 9 s, 15 s, 21 s … and every 30 s after a minute
HEARTBEAT_SLOW = 30.0
STYLES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36", "bold": "1", "dim": "2"}


def exit_code(err: BaseException) -> int:
    """The one mapping from what ended a command to its exit code (DESIGN §4)."""
    if isinstance(err, SpTasksError):
        return int(err.exit_status)
    if isinstance(err, KeyboardInterrupt):
        return INTERRUPTED
    raise err  # a bug: keep its traceback


def exit_codes_help(codes: tuple[int, ...] = ()) -> str:
    """The "Exit codes:" paragraph of a command's help: 0, 1, 4 and 130 always (any command may be
    given a bad environment or file, or be interrupted), plus ``codes`` (2, 3)."""
    lines = [f"  {c:<4} {EXIT_CODES[c]}" for c in sorted({0, 1, 4, INTERRUPTED, *codes})]
    return "\n".join(["Exit codes:", *lines])


def result_format(stream: TextIO) -> str:
    """``sp``'s default --format: tables for a person at a terminal, JSON when stdout is a pipe or a
    file, as the seed tool printed (its guide's scripts pipe ``sp processors list`` into jq)."""
    return "text" if bool(getattr(stream, "isatty", lambda: False)()) else "json"


def wants_color(stream: TextIO, environ: dict[str, str] | os._Environ = os.environ) -> bool:
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return environ.get("TERM") != "dumb" and bool(getattr(stream, "isatty", lambda: False)())


def paint(text: str, style: str, enabled: bool = True) -> str:
    """``text`` in ANSI ``style`` (a name of :data:`STYLES`, or several joined by '+')."""
    if not enabled or not text:
        return text
    codes = ";".join(STYLES[s] for s in style.split("+"))
    return f"\033[{codes}m{text}\033[0m"


class Heartbeat:
    """Says "still waiting for X (15 s)" when a wait gets long; call :meth:`tick` in the loop.
    ``what`` may be a callable, for a wait whose subject changes (what is still undecided)."""

    def __init__(self, what: str | Callable[[], str], clock, say: Callable[[str], None],
                 first: float = HEARTBEAT_FIRST):
        self.what, self.clock, self.say = what, clock, say
        self.started = clock.monotonic()
        self.due = first

    def tick(self) -> None:
        elapsed = self.clock.monotonic() - self.started
        if elapsed < self.due:
            return
        what = self.what() if callable(self.what) else self.what
        self.say(f"still waiting for {what} ({elapsed:.0f} s)")
        step = HEARTBEAT_EVERY if elapsed < 60 else HEARTBEAT_SLOW
        while self.due <= elapsed:
            self.due += step


class Console:
    """Output, prompts and the final line of one command. ``fmt`` is text, json, markdown …"""

    def __init__(self, fmt: str = "text", *, yes: bool = False, stdout: TextIO | None = None,
                 stderr: TextIO | None = None, stdin: TextIO | None = None, command: str = ""):
        self.fmt, self.yes, self.command = fmt, yes, command
        self._out, self._err, self._in = stdout, stderr, stdin
        self._lock = threading.RLock()
        # stderr holds a line without its newline (a prompt, a progress bar): whatever is written
        # next ends it first, so nothing — least of all the final line — starts mid-line.
        self._open_line = False

    # Streams are looked up when used, so pytest's capsys (which swaps sys.stdout) sees them.
    @property
    def stdout(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._err or sys.stderr

    @property
    def color(self) -> bool:
        """Colour for stdout: the result (a plan diff, tables)."""
        return self.fmt == "text" and wants_color(self.stdout)

    def paint_err(self, text: str, style: str) -> str:
        return paint(text, style, wants_color(self.stderr))

    # -- results (stdout) -------------------------------------------------------------------
    def out(self, text: str) -> None:
        with self._lock:
            self._end_open_line()
            self.stdout.write(text if text.endswith("\n") else text + "\n")
            self.stdout.flush()

    def data(self, payload: Any) -> None:
        self.out(json.dumps(payload, indent=2, ensure_ascii=False, default=str))

    def result(self, payload: Any) -> None:
        """A rendered string as is; data as JSON."""
        self.out(payload if isinstance(payload, str) else json.dumps(payload, indent=2, ensure_ascii=False,
                                                                     default=str))

    # -- progress (stderr) ------------------------------------------------------------------
    def progress(self, message: str) -> None:
        """One whole line at a time: deploy workers report from several threads."""
        text = self.paint_err(message, "dim") if message.startswith("still waiting") else message
        self._say(f"  {text}")

    def warn(self, message: str) -> None:
        self._say(f"{self.paint_err('warning:', 'yellow+bold')} {message}")

    @contextlib.contextmanager
    def waiting(self, what: str, *, first: float = HEARTBEAT_FIRST, every: float = 0.25) -> Iterator[None]:
        """Heartbeats for a blocking call that cannot tick itself (connecting, starting a server)."""
        from sp_tasks.clock import SystemClock

        beat, done = Heartbeat(what, SystemClock(), self.progress, first), threading.Event()

        def beat_until_done() -> None:
            while not done.wait(every):
                beat.tick()

        ticker = threading.Thread(target=beat_until_done, name="sp-heartbeat", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()

    def steps(self, what: str, every: float = 10.0) -> Callable[[float, float], None]:
        """A ``(done, total)`` progress for a long run where no bar can be drawn (a pipe, CI):
        one line when it starts and one every ``every`` seconds, "profiling: 20 of 60 s"."""
        last: list[float] = []

        def show(done: float, total: float) -> None:
            if not last or done - last[-1] >= every or (done >= total and last[-1] < total):
                last.append(done)
                self.progress(f"{what}: {done:.0f} of {total:g} s")

        return show

    def meter(self, what: str, *, force: bool = False, width: int = 30) -> Callable[[float, float], None]:
        """A ``(done, total)`` progress: a bar redrawn in place on a terminal (``force``: always),
        else :meth:`steps`. An unfinished bar (Ctrl-C, an error) is ended before the next line."""
        if not (force or bool(getattr(self.stderr, "isatty", lambda: False)())):
            return self.steps(what)

        def draw(done: float, total: float) -> None:
            share = 1.0 if total <= 0 else min(1.0, done / total)
            filled = round(share * width)
            with self._lock:
                self.stderr.write(f"\r{what} [{'#' * filled}{'.' * (width - filled)}] {done:5.1f}/{total:.1f} s"
                                  + ("\n" if share >= 1.0 else ""))
                self.stderr.flush()
                self._open_line = share < 1.0

        return draw

    # -- prompts ----------------------------------------------------------------------------
    @property
    def interactive(self) -> bool:
        stdin = self._in or sys.stdin
        return bool(getattr(stdin, "isatty", lambda: False)())

    def check_answerable(self) -> None:
        """Refuse (ConfigError) as :meth:`confirm` would where nobody can answer and --yes was not
        given; for a command that must write before it can ask (deploy creating a workspace)."""
        if not self.yes and not self.interactive:
            what = self.command or "this command"
            raise ConfigError(f"{what} needs confirmation and this session is not interactive: "
                              "review what it will do, then run it again with --yes (-y)")

    def confirm(self, question: str, *, declined: str = "cancelled: nothing was changed") -> None:
        """Go on with --yes or a "y"; anything else raises :class:`Cancelled` (exit 1).

        A session nobody can answer (CI, a pipe) is refused up front rather than hanging."""
        if self.yes:
            return
        self.check_answerable()
        with self._lock:
            self._end_open_line()
            self.stderr.write(f"{question} [y/N] ")
            self.stderr.flush()
            self._open_line = True  # until the answer's Enter; Ctrl-D or Ctrl-C leave it open
        answer = (self._in or sys.stdin).readline()
        if answer.endswith("\n"):
            self._open_line = False
        if answer.strip().lower() not in ("y", "yes"):
            raise Cancelled(declined)

    # -- the final line ---------------------------------------------------------------------
    def fail(self, err: BaseException, say: Callable[[str], None] | None = None) -> int:
        """Report what ended the command and return its exit code. The human part goes to stderr,
        or to ``say`` (invoke prints an Exit's message there itself); JSON to stdout."""
        say = say or self._say
        code = exit_code(err)
        with self._lock:
            self._end_open_line()  # ``say`` may print elsewhere (invoke): end a prompt's or bar's line here
        if isinstance(err, KeyboardInterrupt):
            message = "interrupted" + "".join(f"; {n}" for n in getattr(err, "__notes__", ()))
        else:
            message = str(err) + "".join(f"\n{n}" for n in [*getattr(err, "__notes__", ()), *_hints(err)])
        if self.fmt == "json":
            self.data({**_carried_json(err), "ok": False, "exit_code": code,
                       "error": {"type": type(err).__name__, "message": message}})
        else:
            carried, place = _carried_text(err, self.fmt)
            if carried:
                (self.out if self.fmt == "markdown" and place else say)(carried)
            message = f"{place}: {message}" if place else message
        say(f"{self.paint_err('error:', 'red+bold')} {message}")  # the one final line, on every path
        return code

    def _say(self, text: str) -> None:
        with self._lock:
            self._end_open_line()
            self.stderr.write(text if text.endswith("\n") else text + "\n")
            self.stderr.flush()

    def _end_open_line(self) -> None:
        if self._open_line:
            self._open_line = False
            self.stderr.write("\n")
            self.stderr.flush()


# Atlas error codes whose message does not say what to do; the fix, said once for every command.
HINTS = {
    "STREAM_TENANT_NOT_FOUND_FOR_NAME": "the workspace does not exist yet: `invoke deploy` creates it (with "
                                        "ALLOW_CREATE_WORKSPACE=true in the environment's config.env), or create it "
                                        "with `sp workspaces create`; check WORKSPACE_NAME and --env",
}


def _hints(err: BaseException) -> list[str]:
    hint = HINTS.get(getattr(err, "error_code", None) or "")
    return [f"fix: {hint}"] if hint else []


def _carried_text(err: BaseException, fmt: str) -> tuple[str, str]:
    """What an error carries, in text: every diagnostic, or what a deploy did before failing — the
    latter without its own result line (the error line is the final line, said once) — and where
    it ran ("env / workspace"), which the error line then begins with."""
    diagnostics = getattr(err, "diagnostics", None)
    if diagnostics:
        from sp_tasks import diagnostics as diag

        github = os.environ.get("GITHUB_ACTIONS") == "true"
        return diag.render(diagnostics, "github" if github else "text"), ""
    outcome = getattr(err, "result", None)
    if hasattr(outcome, "plan"):
        from sp_tasks.deploy import render

        text = (render.render_outcome_markdown(outcome) if fmt == "markdown"
                else render.render_outcome_text(outcome, final=False))
        return text, render.outcome_place(outcome)
    return "", ""


def _carried_json(err: BaseException) -> dict[str, Any]:
    """An error's diagnostics, or the result it carries (a deploy's outcome, a teardown's steps),
    inside the one JSON document ``--format json`` prints."""
    diagnostics = getattr(err, "diagnostics", None)
    if diagnostics:
        from sp_tasks import diagnostics as diag

        return json.loads(diag.render_json(diagnostics))
    carried = getattr(err, "result", None)
    return carried.to_json() if hasattr(carried, "to_json") else {}


# -- one command ------------------------------------------------------------------------------
_CURRENT: contextvars.ContextVar[Console | None] = contextvars.ContextVar("sp_console", default=None)


def current() -> Console:
    """The console of the command running now (a plain text one outside any command)."""
    return _CURRENT.get() or Console()


def run(console: Console, body: Callable[[], Any], say: Callable[[str], None] | None = None) -> int:
    """Run one command body with ``console`` as :func:`current`; return its exit code.

    The body returns None/0 or an exit status (2, 3 …); an :class:`SpTasksError` or Ctrl-C ends
    in :meth:`Console.fail` (``say`` as there). Anything else is a bug and keeps its traceback."""
    token = _CURRENT.set(console)
    try:
        return int(body() or ExitStatus.SUCCESS)
    except (SpTasksError, KeyboardInterrupt) as err:
        return console.fail(err, say)
    finally:
        _CURRENT.reset(token)
