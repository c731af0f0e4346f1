"""The one error tree of sp-tasks and the exit codes CI depends on.

Every error the product raises derives from :class:`SpTasksError`; each class knows its exit
code, so the single place that turns errors into process exits (``sp_tasks.console.run``) needs
no catch-ladder. Messages say what went wrong, where, and how to fix it, and must never contain a
secret value: error texts are built from names and codes, and whatever a message carries from
outside (an API error body, another exception's text) is scrubbed of every secret value the
process knows (:mod:`sp_tasks.redaction`) when the message is read.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Any

from sp_tasks import redaction


class ExitStatus(IntEnum):
    """Process exit codes (DESIGN §4). Values are a public contract: never renumber."""

    SUCCESS = 0
    ERROR = 1
    CHANGES_PRESENT = 2  # only with --detailed-exitcode
    REGRESSION = 3  # regression or threshold breach
    INVALID = 4  # invalid definitions
    INTERRUPTED = 130  # 128 + SIGINT: a signal stopped the command (console.INTERRUPTED); last line says the state


class SpTasksError(Exception):
    """Root of every sp-tasks error. ``str(err)`` is the user-facing message."""

    exit_status = ExitStatus.ERROR

    def __str__(self) -> str:
        return redaction.scrub(super().__str__())

    def __repr__(self) -> str:
        return redaction.scrub(super().__repr__())


class InvalidInput(SpTasksError):
    """A file or setting the user gave cannot be used as it is (malformed, unreadable, unknown):
    exit 4, like invalid definitions, and nothing is sent. The message names file, place and fix."""

    exit_status = ExitStatus.INVALID


class ConfigError(SpTasksError):
    """Missing or invalid environment, settings file or credential variable."""


class UsageError(ConfigError):
    """A command-line option is wrong (unknown choice, not a number, unreadable file); raised
    before anything is read from or sent to Atlas. The message names the option and the fix."""


class FileOptionError(InvalidInput, UsageError):
    """An option names an input file that cannot be used (missing, a directory, unreadable): a
    usage error found before any request, with exit 4 like every other bad input file."""


class Cancelled(SpTasksError):
    """The user declined the confirmation prompt: nothing was changed (exit 1, as Terraform)."""


class InvalidEnvironment(InvalidInput, ConfigError):
    """``environments/<env>/`` is unknown, or its config.env or thresholds.json is unusable (exit 4)."""


class DataFileError(InvalidInput):
    """A data file we read (history, profile, snapshot, plan) is missing, unreadable or malformed;
    names file and row (exit 4)."""


class MalformedFile(DataFileError):
    """A file's text is unusable at one place; carries the 1-based ``line`` and ``column``."""

    label = ""

    def __init__(self, file: str, line: int, column: int, reason: str):
        self.file, self.line, self.column, self.reason = file, line, column, reason
        super().__init__(f"{file}:{line}:{column}: {self.label}{reason}")


class MalformedJson(MalformedFile):
    """A JSON file does not parse (or nests too deep)."""

    label = "malformed JSON: "


class ValidationFailed(SpTasksError):
    """Desired state has errors; ``diagnostics`` holds every one of them (collected, not first)."""

    exit_status = ExitStatus.INVALID

    def __init__(self, diagnostics: list[Any]):
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if getattr(d, "severity", "error") == "error"]
        super().__init__(f"{len(errors)} invalid definition(s); nothing was sent to Atlas")


class AtlasError(SpTasksError):
    """Anything that went wrong talking to Atlas (or the emulator)."""


class AtlasUnavailable(AtlasError):
    """Connect/read timeout or connection refused, after the retries allowed for the call."""


class AtlasApiError(AtlasError):
    """Atlas answered with an error envelope ``{error, errorCode, detail, reason, parameters}``."""

    def __init__(
        self,
        status: int,
        error_code: str | None,
        detail: str,
        *,
        method: str = "",
        path: str = "",
        reason: str = "",
        parameters: list[Any] | None = None,
    ):
        # Atlas may echo a request value back (a password in "invalid value ..."): scrubbed here,
        # so no attribute a renderer reads later holds it either.
        self.status = status
        self.error_code = error_code
        self.detail = redaction.scrub(detail)
        self.method = method
        self.path = path
        self.reason = redaction.scrub(reason)
        self.parameters = redaction.scrub_data(list(parameters or []))
        where = f" on {method} {path}" if method else ""
        code = f" {error_code}" if error_code else ""
        super().__init__(f"Atlas API {status}{code}{where}: {self.detail}")


class AtlasAuthError(AtlasApiError):
    """401/403: credentials missing, wrong, or lacking a role on the project."""


class AtlasNotFound(AtlasApiError):
    """404: workspace, connection or processor does not exist."""


class AtlasConflict(AtlasApiError):
    """409: a resource with that name already exists (or is in use)."""


class AtlasRateLimited(AtlasApiError):
    """429 still returned after the retries allowed for the call."""


class PlanError(SpTasksError):
    """A saved plan cannot be applied."""


class PlanMismatch(PlanError):
    """The plan was made for another environment or workspace."""


class StalePlanError(PlanError):
    """Live state changed since the plan was made; plan again."""


class StrategyError(PlanError):
    """The chosen deploy strategy cannot carry out this plan (e.g. a canary sink it cannot shadow)."""


class DeployError(SpTasksError):
    """A deploy step failed; ``result`` carries partial progress and what rollback did."""

    def __init__(self, message: str, result: Any = None):
        self.result = result
        super().__init__(message)


class LockHeld(SpTasksError):
    """Another deploy or rollback holds the workspace's deploy lock (deploy/lock.py)."""


class DeployInterrupted(DeployError):
    """SIGINT, SIGTERM or SIGHUP arrived during a deploy or rollback (deploy/interrupts.py)."""

    exit_status = ExitStatus.INTERRUPTED


class HealthGateFailed(DeployError):
    """A processor did not pass the post-deploy health gate."""


class WaitTimeout(SpTasksError):
    """A processor or connection never reached the wanted state within the timeout."""
