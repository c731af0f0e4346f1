"""The secret values this process knows, and their removal from every text it emits.

:mod:`sp_tasks.secrets` hides secrets by their *place* in a document. That cannot catch a value
that travels elsewhere: an API error body that echoes a password back, an exception text, a log
line, a traceback. So every secret value the process comes to hold is remembered here — the
Atlas credentials, an OAuth token, the values of credential-named variables (``config.env`` and
the environment), the values rendered into secret places of definition files — and
:func:`scrub` replaces each occurrence (raw, JSON-escaped or URL-encoded) by :data:`MARK`.

Errors scrub their own text (``SpTasksError.__str__``). Once a value is remembered, uncaught
exceptions (main thread and others) print scrubbed tracebacks and log records are scrubbed,
including their exception text. Values shorter than :data:`MIN_LENGTH` are not remembered: a
value like ``local`` would be "found" in ordinary words and make every message unreadable, and
short values are still hidden by place. The registry is process-wide by nature (an error can be
raised anywhere); :func:`forget_all` exists for tests.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from typing import Any, Iterable
from urllib.parse import quote, quote_plus

MARK = "(secret)"  # the same mark as sp_tasks.secrets.MARK (that module imports nothing from here)
MIN_LENGTH = 6
# Shell variables whose names look like credentials but are not (PWD is the working directory).
NOT_SECRET_VARIABLES = frozenset({"PWD", "OLDPWD"})

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_hooks_installed = False


def remember(*values: Any) -> None:
    """Treat each string value (and its ``Bearer``/``Basic`` credential part) as a secret from now on."""
    global _pattern
    forms = {form for value in values for form in _forms(value)}
    with _lock:
        if forms <= _values:
            return
        _values.update(forms)
        # Longest first, so a secret that contains another is replaced whole.
        _pattern = re.compile("|".join(re.escape(v) for v in sorted(_values, key=len, reverse=True)))
    _install_hooks()


def remember_environment(environ: dict[str, str] | Any, is_secret_name) -> None:
    """Remember the value of every variable whose name looks like a credential (``*_PASSWORD``…)."""
    remember(*(value for name, value in environ.items()
               if name not in NOT_SECRET_VARIABLES and is_secret_name(name)))


def scrub(text: Any) -> Any:
    """``text`` with every known secret value replaced by :data:`MARK`; non-strings as given."""
    pattern = _pattern
    if pattern is None or not isinstance(text, str):
        return text
    return pattern.sub(MARK, text)


def scrub_data(value: Any) -> Any:
    """Every string inside a JSON-like value scrubbed (keys too)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(k): scrub_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_data(v) for v in value]
    return value


def known() -> int:
    """How many secret forms are remembered (for tests and diagnostics; never the values)."""
    return len(_values)


def forget_all() -> None:
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None


def _forms(value: Any) -> Iterable[str]:
    if not isinstance(value, str):
        return ()
    value = value.strip()
    parts = [value]
    credential = re.match(r"(?i)(?:bearer|basic)\s+(\S+)$", value)
    if credential:
        parts.append(credential.group(1))
    forms = set()
    for part in parts:
        if len(part) >= MIN_LENGTH:
            forms |= {part, json.dumps(part)[1:-1], quote(part, safe=""), quote_plus(part)}
    return forms


# -- where text leaves the process without passing through an error's __str__ ----------------
def _install_hooks() -> None:
    global _hooks_installed
    with _lock:
        if _hooks_installed:
            return
        _hooks_installed = True
    previous_factory = logging.getLogRecordFactory()

    def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous_factory(*args, **kwargs)
        plain = record.getMessage
        record.getMessage = lambda: scrub(plain())  # formatters call it to build the line
        if record.exc_info:  # a formatter reuses exc_text when it is set
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(scrubbed_record)
    sys.excepthook = _scrubbed_excepthook
    threading.excepthook = _scrubbed_thread_excepthook


def _scrubbed_excepthook(kind, value, tb) -> None:
    sys.stderr.write(scrub("".join(traceback.format_exception(kind, value, tb))))


def _scrubbed_thread_excepthook(args) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(f"Exception in thread {name}:\n" + scrub(
        "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))))
