"""What every sp command shares: settings, client, Git definitions, the processor selection, and
the console it prints and asks through.

One :class:`Context` per invocation, built from the parsed arguments and the command's
:class:`~sp_tasks.console.Console`. Settings, client and the Git project are loaded on first use,
so offline commands never open a client and read-only ones never start writing. Results go to
stdout; progress and prompts to stderr (the console decides how).
"""
from __future__ import annotations

from argparse import Namespace
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sp_tasks.console import Console
from sp_tasks.errors import ConfigError

WRITE_SCOPE_HINT = "name processors with -p NAME (repeatable) or use --all for the processors defined in Git"


@dataclass
class Context:
    args: Namespace
    console: Console = field(default_factory=Console)
    _project: Any = field(default=None, repr=False)

    # -- loaded on first use --------------------------------------------------------------
    @cached_property
    def settings(self):
        from sp_tasks.settings import load_settings

        return load_settings(self.args.env, Path(self.args.root))

    @cached_property
    def client(self):
        from sp_tasks.atlas.connect import open_client

        return open_client(self.settings, notify=self.progress)  # retries and pacing are heard

    def runner(self, targets: tuple[str, ...] = ()):
        from sp_tasks.deploy.runner import Runner

        return Runner(self.settings, self.client, progress=self.progress, targets=targets)

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

    # -- output (the console's) ----------------------------------------------------------------
    @property
    def json(self) -> bool:
        return self.args.format == "json"

    def emit(self, text: str) -> None:
        self.console.out(text)

    def emit_json(self, data: Any) -> None:
        self.console.data(data)

    def progress(self, line: str) -> None:
        self.console.progress(line)

    def confirm(self, question: str, declined: str = "cancelled: nothing was changed") -> None:
        """Goes on with --yes or a "y"; otherwise raises Cancelled (exit 1), or ConfigError when
        nobody can answer (a non-interactive session without --yes)."""
        self.console.confirm(question, declined=declined)
