"""Names of a feature environment, from whatever the user or CI gives: pure.

``feature/My_Thing``, ``refs/heads/feature/My_Thing``, ``feature-my-thing`` and ``my-thing`` all
name the same environment ``my-thing``, whose workspace is ``feature-my-thing``. Atlas workspace
names are ASCII letters, digits and hyphens (reference §3.1; ours are lower case so two branches
differing only in case share one environment rather than failing on a case-insensitive name);
a name too long for the 64-character limit keeps its start plus a short hash of the whole branch
name, so two long branches that share a prefix still get different workspaces.
"""
from __future__ import annotations

import hashlib
import re

from sp_tasks.errors import ConfigError

WORKSPACE_PREFIX = "feature-"
MAX_WORKSPACE = 64  # settings._NAME and the MCP server's check
MAX_NAME = MAX_WORKSPACE - len(WORKSPACE_PREFIX)
_PREFIXES = ("refs/heads/", "feature/", WORKSPACE_PREFIX)
_HASH = 6


def environment_name(given: str) -> str:
    """The environment name for a branch or feature name (see the module docstring)."""
    text = given.strip()
    for prefix in _PREFIXES:
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not name:
        raise ConfigError(f"{given!r} gives no usable feature environment name: use letters or digits "
                          "(e.g. feature/my-change)")
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(given.strip().encode("utf-8")).hexdigest()[:_HASH]
        name = f"{name[:MAX_NAME - _HASH - 1].rstrip('-')}-{digest}"
    return name


def workspace_name(env_name: str) -> str:
    return f"{WORKSPACE_PREFIX}{env_name}"


def is_feature_workspace(name: str) -> bool:
    return name.startswith(WORKSPACE_PREFIX) and len(name) > len(WORKSPACE_PREFIX)
