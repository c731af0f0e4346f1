"""Who holds a deploy lock: owner, host, boot and process of this deployer, and whether a holder's
process on this machine still runs (deploy/lock.py records and judges these)."""
from __future__ import annotations

import getpass
import os
import socket
from pathlib import Path
from typing import Any


def this_machine() -> dict[str, Any]:
    return {"owner": _owner(), "host": socket.gethostname(), "boot_id": _boot_id(), "pid": os.getpid()}


def _owner() -> str:
    actor, run = os.environ.get("GITHUB_ACTOR"), os.environ.get("GITHUB_RUN_ID")
    if actor and run:
        return f"{actor} (GitHub Actions run {run})"
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _boot_id() -> str:
    """Tells two machines (or two boots) with the same host name apart for the dead-process check."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True  # cannot tell: only the expiry decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
