"""What every sp command shares: settings, client, Git definitions, the processor selection, output
and confirmation.

One :class:`Context` per invocation, built from the parsed arguments. Settings, client and the
Git project are loaded on first use, so offline commands never open a client and read-only ones
never start writing. Output goes to the *current* ``sys.stdout`` (tests capture it); progress and
prompts go to stderr.
"""
from __future__ import annotations

import json
import sys
from argparse import Namespace
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sp_tasks.errors import ConfigError

WRITE_SCOPE_HINT = "name processors with -p NAME (repeatable) or use --all for the processors defined in Git"


@dataclass
class Context:
    args: Namespace
    _project: Any = field(default=None, repr=False)

    # -- loaded on first use --------------------------------------------------------------
    @cached_property
    def settings(self):
        from sp_tasks.settings import load_settings

        return load_settings(self.args.env, Path(self.args.root))

    @cached_property
    def client(self):
        from sp_tasks.atlas.connect import open_client

        return open_client(self.settings)

    def runner(self):
        from sp_tasks.deploy.service import Runner

        return Runner(self.settings, self.client, progress=self.progress)

    @property
    def project(self):
        """processors/ and connections/ as read (not validated): see ``sp_tasks.desired``."""
        if self._project is None:
            from sp_tasks.desired import load_project

            self._project = load_project(self.settings)
        return self._project

    def git_names(self, kind: str) -> dict[str, str]:
        """Name -> file of every Git definition of ``kind`` (the "name" inside, else the file stem)."""
        found = {}
        for source in self.project.of_kind(kind):
            doc = source.doc if isinstance(source.doc, dict) else {}
            found[doc["name"] if isinstance(doc.get("name"), str) else source.stem] = source.path
        return found

    # -- selection ------------------------------------------------------------------------
    def selected(self, *, required: bool) -> list[str] | None:
        """Processor names from ``-p`` (in the order given) or ``--all`` (the Git-defined ones).

        ``None`` when neither was given and ``required`` is False (the command's default scope);
        a ConfigError when it is True: commands that change anything never act on a whole workspace."""
        names = list(dict.fromkeys([*(getattr(self.args, "names", None) or ()), *(self.args.processor or ())]))
        if names and self.args.all:
            raise ConfigError("give either -p NAME or --all, not both")
        if self.args.all:
            git = sorted(self.git_names("processor"))
            if not git:
                raise ConfigError(f"--all means the processors defined in Git, and {self.settings.root / 'processors'} "
                                  "has none")
            return git
        if not names and required:
            raise ConfigError(f"{self.args.command_path} changes the workspace: {WRITE_SCOPE_HINT}")
        return names or None

    def require_in_git(self, names: list[str]) -> None:
        git = self.git_names("processor")
        missing = [n for n in names if n not in git]
        if missing:
            raise ConfigError(f"no processors/{missing[0]}.json defines processor {missing[0]!r} "
                              f"(defined in Git: {', '.join(sorted(git)) or 'none'})")

    # -- output ---------------------------------------------------------------------------
    @property
    def json(self) -> bool:
        return self.args.format == "json"

    def emit(self, text: str) -> None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def emit_json(self, data: Any) -> None:
        self.emit(json.dumps(data, indent=2, ensure_ascii=False, default=str))

    def progress(self, line: str) -> None:
        print(f"  {line}", file=sys.stderr, flush=True)

    def confirm(self, question: str) -> bool:
        """True with --yes; asks on a terminal; refuses (ConfigError) in a non-interactive session."""
        if getattr(self.args, "yes", False):
            return True
        if not sys.stdin.isatty():
            raise ConfigError(f"{self.args.command_path} needs confirmation and this session is not interactive: "
                              "review what it will do, then pass --yes")
        sys.stderr.write(f"{question} [y/N] ")
        sys.stderr.flush()
        return sys.stdin.readline().strip().lower() in ("y", "yes")
