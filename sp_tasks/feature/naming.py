"""Names of a feature environment, from whatever the user or CI gives: pure.

``feature/my-thing``, ``refs/heads/feature/my-thing``, ``feature-my-thing`` and ``my-thing`` all
name the environment ``my-thing``, whose workspace is ``feature-my-thing``. Atlas workspace names
are ASCII letters, digits and hyphens (reference §3.1); ours are lower case. A branch name that
had to be changed to fit (``feature/My_Thing``) or shortened to the 64-character limit gets a
short hash of the branch name appended (``my-thing-1a2b3c``): otherwise ``feature/My_Thing`` and
``feature/my-thing`` would share one environment, and the second branch's deploy (which prunes)
would remove the first one's processors.
"""
from __future__ import annotations

import hashlib
import re

from sp_tasks.errors import ConfigError

WORKSPACE_PREFIX = "feature-"
MAX_WORKSPACE = 64  # settings._NAME and the MCP server's check
MAX_NAME = MAX_WORKSPACE - len(WORKSPACE_PREFIX)
_HASH = 6


def environment_name(given: str) -> str:
    """The environment name for a branch or feature name (see the module docstring)."""
    text = given.strip()
    if text.startswith("refs/heads/"):
        text = text[len("refs/heads/"):]
    # a branch (feature/x) or a workspace (feature-x), not both: feature/feature-x is not feature/x
    for prefix in ("feature/", WORKSPACE_PREFIX):
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
            break
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not name:
        raise ConfigError(f"{given!r} gives no usable feature environment name: use letters or digits "
                          "(e.g. feature/my-change)")
    if name != text or len(name) > MAX_NAME:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH]
        name = f"{name[:MAX_NAME - _HASH - 1].rstrip('-')}-{digest}"
    return name


def workspace_name(env_name: str) -> str:
    return f"{WORKSPACE_PREFIX}{env_name}"


def is_feature_workspace(name: str) -> bool:
    return name.startswith(WORKSPACE_PREFIX) and len(name) > len(WORKSPACE_PREFIX)
