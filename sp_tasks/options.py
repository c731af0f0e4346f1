"""Command-line option checks shared by the invoke tasks and ``sp``, run before any request.

Each check returns the clean value or raises :class:`UsageError` naming the option, what was
given and the fix (the closest valid choice when there is one), so a typo in a flag never gets as
far as creating a workspace or sampling for a minute. Pure, apart from looking at a file's
metadata in :func:`readable_file` and :func:`writable_file`.
"""
from __future__ import annotations

import difflib
import math
import os
from pathlib import Path
from typing import Iterable, Sequence

from sp_tasks.errors import FileOptionError, UsageError
from sp_tasks.model import TIERS

STRATEGIES = ("in-place", "blue-green", "canary")
TIER_CHOICES = (*TIERS, "auto")


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The choice ``value`` was most likely meant to be, if any is close (case-insensitive)."""
    options = list(choices)
    folded = {c.lower(): c for c in options}
    if value.lower() in folded:
        return folded[value.lower()]
    hint = difflib.get_close_matches(value.lower(), list(folded), n=1, cutoff=0.6)
    return folded[hint[0]] if hint else None


def choice(option: str, value: str, allowed: Sequence[str]) -> str:
    if value in allowed:
        return value
    hint = closest(str(value), allowed)
    fix = f"did you mean {option} {hint}? " if hint else ""
    raise UsageError(f"{option} {value!r} is not valid: {fix}use one of {', '.join(allowed)}")


def strategy(value: str | None) -> str:
    return choice("--strategy", value or "in-place", STRATEGIES)


def tier(value: str | None, option: str = "--tier") -> str | None:
    """SP2 … SP50 or auto; None when not given. Accepts any case ("sp10")."""
    if value is None:
        return None
    folded = {t.lower(): t for t in TIER_CHOICES}
    if str(value).lower() in folded:
        return folded[str(value).lower()]
    raise UsageError(f"{option} {value!r} is not an Atlas Stream Processing tier: use one of "
                     f"{', '.join(TIER_CHOICES)} (auto: each processor's advised tier)")


def positive_float(option: str, value: str | float | int | None, default: float | None = None) -> float | None:
    """A number of seconds > 0 (``2.5`` and ``10`` both fine); ``default`` when not given."""
    if value is None:
        return default
    example = f"e.g. {option} {default or 5:g}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{option} {value!r} is not a number: give seconds, {example}") from None
    if not math.isfinite(number) or number <= 0:
        raise UsageError(f"{option} must be a number of seconds greater than 0 (got {value!r}), {example}")
    return number


def whole_number(option: str, value: str | int | None, default: int, *, least: int = 1, why: str = "") -> int:
    """A whole number >= ``least`` (``"4"`` or ``4``); ``default`` when not given. ``why`` says
    what the lower bound is for."""
    if value is None:
        return default
    try:
        number = int(str(value))
    except ValueError:
        number = least - 1
    if number < least:
        reason = f" ({why})" if why else ""
        raise UsageError(f"{option} {value!r}: give a whole number, at least {least}{reason}, e.g. {option} "
                         f"{max(default, least)}")
    return number


def readable_file(option: str, value: str | os.PathLike | None) -> Path | None:
    """An existing, readable regular file (None when the option was not given)."""
    if value is None:
        return None
    path = Path(value)
    if not path.exists():
        raise FileOptionError(f"{option} {path}: no such file; check the path (relative paths start at "
                              f"{Path.cwd()})")
    if not path.is_file():
        raise FileOptionError(f"{option} {path} is a directory, not a file; name the file inside it")
    if not os.access(path, os.R_OK):
        raise FileOptionError(f"{option} {path} is not readable: fix its permissions (chmod u+r {path})")
    return path


def writable_file(option: str, value: str | os.PathLike | None) -> Path | None:
    """A file we may create or overwrite: no folder, and its folder exists or can be made (the
    writer creates it: ``mkdir -p``)."""
    if value is None:
        return None
    path = Path(value)
    if path.is_dir():
        raise UsageError(f"{option} {path} is a directory: give a file name, e.g. {path / 'out.json'}")
    parent = next((p for p in path.absolute().parents if p.exists()), None)  # missing folders are created
    if parent is not None and not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is a file, not a folder; choose another path")
    if parent is None or not os.access(parent, os.W_OK):
        raise UsageError(f"{option} {path}: cannot write in {parent}; choose a writable folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path} is not writable: fix its permissions or choose another file")
    return path


def writable_dir(option: str, value: str | os.PathLike | None) -> Path | None:
    """A folder we may write files into: an existing one, or one that can be made (``mkdir -p``)."""
    if value is None:
        return None
    path = Path(value)
    existing = next((p for p in (path.absolute(), *path.absolute().parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(f"{option} {path}: {existing} is a file, not a folder; give a folder (it is "
                         "created when missing)")
    if existing is None or not os.access(existing, os.W_OK):
        raise UsageError(f"{option} {path}: cannot write in {existing}; choose a writable folder")
    return path


def names(option: str, values: Sequence[str] | None) -> list[str]:
    """Repeatable name options (-p a -p b, or -p a,b), in the order given, without duplicates."""
    found: list[str] = []
    for value in values or ():
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                raise UsageError(f"{option} needs a name (got an empty one)")
            if part not in found:
                found.append(part)
    return found
