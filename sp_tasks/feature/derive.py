"""Derive a feature environment from a committed one: the files under ``.sp/environments/<name>/``.

The derived ``config.env`` is the base's, verbatim (same project, credentials and ``${VAR}``
references, so CI needs no new variables), followed by the few lines that make it a feature
environment: its own workspace ``feature-<name>``, permission to create it, the tier (given, else
the base's ``DEFAULT_TIER``, else ``SP2``, the cheapest), ``SINK_SUFFIX=_feature_<name>`` (its
processors write to databases and topics of their own, never the base's: ``isolation``) and
``FEATURE_BASE=<base>``, the marker ``env.destroy`` requires before it deletes anything. ``thresholds.json`` is copied. The files are
generated, never committed (``.sp/`` is ignored by Git), so a CI job leaves a clean tree, and
deriving again from the same base gives the same files: a fresh checkout can destroy what another
job created.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from sp_tasks.errors import ConfigError
from sp_tasks.feature.naming import environment_name, workspace_name
from sp_tasks.model import TIERS
from sp_tasks.settings import DERIVED_ENVIRONMENTS, load_settings

MARKER = "FEATURE_BASE"
SHORT_NAME = 20  # of the environment name in SINK_SUFFIX: "_feature_" + 20 leaves 34 for a database name
CHEAPEST_TIER = "SP2"


@dataclass(frozen=True)
class FeatureEnv:
    name: str  # the environment name (--env NAME)
    workspace: str
    base: str
    directory: Path  # relative to the project root

    def describe(self) -> str:
        return (f"feature environment {self.name} (workspace {self.workspace}, derived from {self.base}, "
                f"files in {self.directory.as_posix()}/)")


def render_config(name: str, base: str, base_text: str, tier: str) -> str:
    """The derived config.env text (pure)."""
    suffix = sink_suffix(name)
    return (f"# Feature environment {name!r}, derived from environments/{base}/ by `invoke env.create`.\n"
            f"# Generated, not committed: `invoke env.create {name} --from {base}` writes it again and\n"
            f"# `invoke env.destroy {name}` deletes its workspace and this directory. The base's lines\n"
            "# come first, unchanged; the lines at the end override them.\n\n"
            f"{base_text.rstrip()}\n\n"
            "# -- feature environment --\n"
            f"WORKSPACE_NAME={workspace_name(name)}\n"
            f"DEFAULT_TIER={tier}\n"
            "ALLOW_CREATE_WORKSPACE=true\n"
            f"# sinks of its own: database solar -> solar{suffix}, topic t -> t{suffix} (docs/feature-environments.md)\n"
            f"SINK_SUFFIX={suffix}\n"
            f"{MARKER}={base}\n")


def sink_suffix(name: str) -> str:
    """``_feature_<name>``, kept short (database names have fewer than 64 characters): a long name
    is cut and keeps a hash of the whole, so two long names never share sinks."""
    if len(name) <= SHORT_NAME:
        return f"_feature_{name}"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
    return f"_feature_{name[:SHORT_NAME - 7].rstrip('-')}-{digest}"


def derive(root: Path, given: str, *, base: str, tier: str | None = None,
           environ: Mapping[str, str] | None = None) -> FeatureEnv:
    """Write ``.sp/environments/<name>/`` from ``environments/<base>/``; ConfigError when refused."""
    root = Path(root)
    name = environment_name(given)
    if (root / "environments" / name).exists():
        raise ConfigError(f"{name!r} is a committed environment (environments/{name}/): a feature environment "
                          f"cannot replace it; pick another branch or feature name")
    base_settings = load_settings(base, root, environ)  # the base must be usable: every problem, now
    if base_settings.directory:
        raise ConfigError(f"--from {base}: the base must be a committed environment under environments/, "
                          f"not a feature environment")
    if tier is not None and tier not in (*TIERS, "auto"):
        raise ConfigError(f"--tier {tier!r} must be one of {', '.join(TIERS)} or auto")
    chosen = tier or base_settings.variables.get("DEFAULT_TIER") or CHEAPEST_TIER
    source = root / "environments" / base
    directory = DERIVED_ENVIRONMENTS / name
    target = root / directory
    target.mkdir(parents=True, exist_ok=True)
    text = render_config(name, base, (source / "config.env").read_text(encoding="utf-8"), chosen)
    _write(target / "config.env", text)
    if (source / "thresholds.json").is_file():
        _write(target / "thresholds.json", (source / "thresholds.json").read_text(encoding="utf-8"))
    else:
        (target / "thresholds.json").unlink(missing_ok=True)
    return FeatureEnv(name, workspace_name(name), base, directory)


def existing(root: Path, given: str) -> FeatureEnv | None:
    """The derived environment for ``given`` if its files are here (and carry the marker)."""
    name = environment_name(given)
    directory = DERIVED_ENVIRONMENTS / name
    config = Path(root) / directory / "config.env"
    if not config.is_file():
        return None
    base = _marker(config.read_text(encoding="utf-8"))
    if base is None:
        raise ConfigError(f"{directory.as_posix()}/config.env has no {MARKER}= line, so it was not made by "
                          "`invoke env.create`; refusing to treat it as a feature environment")
    return FeatureEnv(name, workspace_name(name), base, directory)


def remove(root: Path, env: FeatureEnv) -> None:
    target = Path(root) / env.directory
    if target.is_dir() and env.directory.parts[:2] == DERIVED_ENVIRONMENTS.parts:
        shutil.rmtree(target)


def _marker(text: str) -> str | None:
    found = None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == MARKER:
            found = value.strip()
    return found


def _write(path: Path, text: str) -> None:
    """Atomic: a crash never leaves half a config.env for the next run to trip over."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
