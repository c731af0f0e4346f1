"""Reading a file the user hands sp-tasks: every way it can fail becomes one message, never a traceback.

A path may be missing, a directory, unreadable, or not UTF-8 (a config.env saved as Latin-1, a
plan file copied through a Windows tool). Each becomes a :class:`DataFileError` (exit 4) naming
the file — and for bad bytes a :class:`MalformedFile` with line and column — and the fix. A UTF-8 byte-order mark is
accepted and dropped. JSON files then go through :func:`sp_tasks.jsonpos.parse`.
"""
from __future__ import annotations

from pathlib import Path

from sp_tasks.errors import DataFileError, MalformedFile


def read_text(path: str | Path, shown: str | None = None, *, what: str = "file") -> str:
    """The UTF-8 text of ``path``; ``shown`` is how messages name it (default: the path as given)."""
    shown = shown or str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"{shown} does not exist: check the path of the {what}") from None
    except IsADirectoryError:
        raise DataFileError(f"{shown} is a directory: give the path of a {what} inside it") from None
    except PermissionError:
        raise DataFileError(f"{shown} cannot be read (permission denied): check its permissions") from None
    except OSError as err:
        raise DataFileError(f"{shown} cannot be read ({err.strerror or type(err).__name__})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line, column = position(data, err.start)
        raise MalformedFile(shown, line, column, f"byte 0x{data[err.start]:02x} is not UTF-8 text; "
                                                 f"save the {what} as UTF-8") from None


def position(data: bytes | str, index: int) -> tuple[int, int]:
    """1-based line and column of ``index`` in ``data``."""
    newline = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, index) + 1
    return line, index - (data.rfind(newline, 0, index) + 1) + 1
