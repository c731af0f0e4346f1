"""Environment settings: the only reader of ``environments/<env>/`` and of the process environment.

``load_settings(env)`` reads ``config.env`` (format in docs/file-formats.md) and
``thresholds.json`` and captures the process environment once, so everything downstream is a
function of one frozen :class:`EnvSettings`. Every problem found is reported in one
:class:`ConfigError` that lists them all with their fix. Credentials are read only on demand
(``credentials()``) and never printed: validation needs none.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from sp_tasks import envfile, inputfiles, redaction
from sp_tasks.errors import ConfigError, DataFileError, InvalidEnvironment
from sp_tasks.feature.isolation import SUFFIX as SINK_SUFFIX, SUFFIX_RULE as SINK_SUFFIX_RULE
from sp_tasks.jsonpos import parse
from sp_tasks.model import TIERS
from sp_tasks.secrets import is_secret_name

DEFAULT_BASE_URL = "https://cloud.mongodb.com"
EMULATOR = "emulator"
DEFAULT_EMULATOR_PORT = 27999  # next to MongoDB's 27017-27019; override with EMULATOR_PORT
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
SECTIONS = ("health", "regression")  # thresholds.json sub-objects owned by other modules, which check them
_FLAT_SECTIONS = ("health",)  # deploy/health.py: plain key -> number; regression: profiling/decision.py
PERF_ARTIFACTS = ("repo", ".sp")  # config.env PERF_ARTIFACTS values; see EnvSettings.artifacts_in_repo
# Feature environments (sp_tasks.feature) are generated here, not committed: see docs/feature-environments.md.
DERIVED_ENVIRONMENTS = Path(".sp") / "environments"
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# (kind, id variable, secret variable) in precedence order; the first complete pair wins.
CREDENTIAL_SOURCES = (
    ("service_account", "MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET"),
    ("api_key", "MONGODB_ATLAS_PUBLIC_API_KEY", "MONGODB_ATLAS_PRIVATE_API_KEY"),
    ("api_key", "MONGODB_ATLAS_PUBLIC_KEY", "MONGODB_ATLAS_PRIVATE_KEY"),
    ("api_key", "ATLAS_PUBLIC_KEY", "ATLAS_PRIVATE_KEY"),
)
EMULATOR_CREDENTIALS = ("SP_EMULATOR_PUBLIC_KEY", "SP_EMULATOR_PRIVATE_KEY")


@dataclass(frozen=True)
class Credentials:
    """How to authenticate: ``service_account`` = OAuth client credentials, ``api_key`` = Digest."""

    kind: str
    user: str  # client id or public key: an identifier, shown in messages
    secret: str = field(repr=False)
    source: str = ""  # the variables it came from, for messages

    def __repr__(self) -> str:
        return f"Credentials(kind={self.kind!r}, user={self.user!r}, source={self.source!r}, secret='***')"

    __str__ = __repr__


@dataclass(frozen=True)
class EnvSettings:
    name: str
    root: Path
    project_id: str
    workspace: str
    default_tier: str  # SP2..SP50 or "auto"
    base_url: str  # "emulator" = the embedded local emulator
    emulator_port: int
    emulator_data_dir: Path
    create_workspace: bool
    cloud_provider: str
    region: str
    variables: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)  # may hold secrets
    thresholds: Mapping[str, Any] = field(default_factory=dict, compare=False)
    github_actions: bool = False
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    directory: str = ""  # relative to root; "" = environments/<name> (a derived one lives under .sp/)
    sink_suffix: str = ""  # SINK_SUFFIX: appended to sink databases and topics (feature/isolation.py)

    @property
    def is_emulator(self) -> bool:
        return self.base_url == EMULATOR

    @property
    def config_file(self) -> str:
        return f"{self.directory or f'environments/{self.name}'}/config.env"

    @property
    def artifacts_in_repo(self) -> bool:
        """Profile history, charts and report go to the committed ``baselines/<env>/`` and
        ``reports/<env>/`` (``PERF_ARTIFACTS=repo``, the default), or stay in the ignored
        ``.sp/<env>/`` (``PERF_ARTIFACTS=.sp``: the local environment's default, so trying the
        quickstart changes no tracked file; CI sets ``PERF_ARTIFACTS=repo`` to commit them)."""
        return (self.lookup("PERF_ARTIFACTS") or PERF_ARTIFACTS[0]) == PERF_ARTIFACTS[0]

    @property
    def baselines_dir(self) -> Path:
        """The directory of the recorded profile runs (``history.csv``), see :attr:`artifacts_in_repo`."""
        return self.root / ("baselines" if self.artifacts_in_repo else ".sp") / self.name

    def lookup(self, var: str) -> str | None:
        """Value of ``${var}`` in definition files: config.env first, then the process environment."""
        return self.variables[var] if var in self.variables else self.environ.get(var)

    def threshold(self, key: str, processor: str | None = None, default: Any = None) -> Any:
        """A limit from thresholds.json: the processor's own value, else the global one, else ``default``."""
        own = self.thresholds.get("processors", {}).get(processor, {}) if processor else {}
        return own.get(key, self.thresholds.get(key, default))

    def credentials(self) -> Credentials:
        """Credentials from the captured environment (precedence: CREDENTIAL_SOURCES order).

        The emulator uses SP_EMULATOR_PUBLIC_KEY/_PRIVATE_KEY (default local/local) and never
        real Atlas credentials, so a local run cannot leak them. Raises ConfigError."""
        if self.is_emulator:
            user = self.environ.get(EMULATOR_CREDENTIALS[0]) or "local"
            return Credentials("api_key", user, self.environ.get(EMULATOR_CREDENTIALS[1]) or "local",
                               "SP_EMULATOR_PUBLIC_KEY/SP_EMULATOR_PRIVATE_KEY (default local/local)")
        halves = []
        for kind, id_var, secret_var in CREDENTIAL_SOURCES:
            user, secret = self.environ.get(id_var), self.environ.get(secret_var)
            if user and secret:
                redaction.remember(secret)
                return Credentials(kind, user, secret, f"{id_var}/{secret_var}")
            if user or secret:  # remembered, not fatal: a complete pair later in the order still wins
                halves.append(f"{id_var if user else secret_var} is set but {secret_var if user else id_var} is not")
        if halves:
            raise ConfigError("incomplete Atlas credentials: " + "; ".join(halves) + "; export both of a pair")
        pairs = "; ".join(f"{i} + {s}" for _, i, s in CREDENTIAL_SOURCES)
        raise ConfigError(f"no Atlas credentials for environment '{self.name}': export one pair of {pairs}")


def load_settings(env: str, root: Path = Path("."), environ: Mapping[str, str] | None = None) -> EnvSettings:
    """Read ``environments/<env>/``; raises one InvalidEnvironment (exit 4) listing every problem found."""
    environ = dict(os.environ if environ is None else environ)
    root = Path(root)
    relative = environment_dir(root, env) if _NAME.match(env) else None
    if relative is None:
        raise InvalidEnvironment(_missing_env_message(env, root))
    directory = root / relative
    problems: list[str] = []
    config_path = directory / "config.env"
    if not config_path.is_file():
        raise InvalidEnvironment(f"{relative.as_posix()}/config.env does not exist: create it "
                                 "(see docs/file-formats.md)")
    # Credential-named values are secrets wherever they travel from now on (sp_tasks.redaction).
    redaction.remember_environment(environ, is_secret_name)
    variables = envfile.parse(_read(config_path, f"{relative.as_posix()}/config.env", problems), environ, problems)
    redaction.remember_environment(variables, is_secret_name)
    thresholds = _load_thresholds(directory / "thresholds.json", problems, f"{relative.as_posix()}/thresholds.json")
    values = _resolve(variables, environ, problems)
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise InvalidEnvironment(f"environment '{env}' is not usable ({relative.as_posix()}/):\n{listing}")
    derived = relative.parts[0] != "environments"
    return EnvSettings(name=env, root=root, variables=variables, thresholds=thresholds,
                       github_actions=environ.get("GITHUB_ACTIONS") == "true", environ=environ,
                       directory=relative.as_posix() if derived else "", **values)


def environment_dir(root: Path, env: str) -> Path | None:
    """Where environment ``env`` lives, relative to ``root``: ``environments/<env>`` (committed), else
    a derived feature environment under ``.sp/environments/<env>``; None when neither exists.
    A committed environment always wins, so a derived one can never shadow staging or production."""
    for relative in (Path("environments") / env, DERIVED_ENVIRONMENTS / env):
        if (root / relative).is_dir():
            return relative
    return None


def _resolve(variables: Mapping[str, str], environ: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    def get(key: str, default: str | None = None) -> str | None:
        return variables.get(key) or default

    project = get("PROJECT_ID") or environ.get("MONGODB_ATLAS_PROJECT_ID") or environ.get("PROJECT_ID")
    if not project:
        problems.append("PROJECT_ID is missing: add PROJECT_ID=<24-hex project id> or export MONGODB_ATLAS_PROJECT_ID")
    elif not _HEX24.match(project):
        problems.append(f"PROJECT_ID {project!r} is not a 24-character hex Atlas project id")
    workspace = get("WORKSPACE_NAME")
    if not workspace:
        problems.append("WORKSPACE_NAME is missing: add WORKSPACE_NAME=<stream processing workspace>")
    elif not _NAME.match(workspace):
        problems.append(f"WORKSPACE_NAME {workspace!r} may use only letters, digits, '_' and '-' (max 64)")
    tier = get("DEFAULT_TIER", "SP10")
    if tier not in (*TIERS, "auto"):
        problems.append(f"DEFAULT_TIER {tier!r} must be one of {', '.join(TIERS)} or auto")
    if get("PERF_ARTIFACTS", PERF_ARTIFACTS[0]) not in PERF_ARTIFACTS:
        problems.append(f"PERF_ARTIFACTS {get('PERF_ARTIFACTS')!r} must be repo (commit profile history, charts and "
                        "report) or .sp (keep them in the ignored .sp/<env>/)")
    sink_suffix = get("SINK_SUFFIX", "")
    if sink_suffix and not SINK_SUFFIX.match(sink_suffix):
        problems.append(f"SINK_SUFFIX {sink_suffix!r} must be {SINK_SUFFIX_RULE}")
    base_url = get("ATLAS_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    if base_url != EMULATOR and not re.match(r"^https?://[^/\s]+", base_url):
        problems.append(f"ATLAS_BASE_URL {base_url!r} must be an http(s) URL or 'emulator'")
    return dict(
        project_id=project or "", workspace=workspace or "", default_tier=tier, base_url=base_url,
        emulator_port=_port(get("EMULATOR_PORT", str(DEFAULT_EMULATOR_PORT)), problems),
        emulator_data_dir=Path(get("EMULATOR_DATA_DIR", ".sp/emulator")),
        create_workspace=_flag("ALLOW_CREATE_WORKSPACE", get("ALLOW_CREATE_WORKSPACE"), base_url == EMULATOR, problems),
        cloud_provider=get("CLOUD_PROVIDER", "AWS"), region=get("REGION", "VIRGINIA_USA"), sink_suffix=sink_suffix,
    )


def _port(text: str, problems: list[str]) -> int:
    if text.isdigit() and int(text) <= 65535:
        return int(text)
    problems.append(f"EMULATOR_PORT {text!r} must be a port number (0-65535; 0 = any free port)")
    return DEFAULT_EMULATOR_PORT


def _flag(key: str, text: str | None, default: bool, problems: list[str]) -> bool:
    if text is None or text == "":
        return default
    if text.lower() not in _BOOLS:
        problems.append(f"{key} {text!r} must be true or false")
        return default
    return _BOOLS[text.lower()]


def load_thresholds_file(path: Path) -> dict[str, Any]:
    """A thresholds.json given on the command line (``sp processors profile --thresholds FILE``),
    checked whole before anything is sampled: DataFileError (exit 4) naming the file and every
    problem in it."""
    from sp_tasks.profiling.thresholds import parse_thresholds

    problems: list[str] = []
    doc = _load_thresholds(Path(path), problems, str(path))
    try:
        parse_thresholds(doc, source=str(path))  # unknown keys too, not only after a 60 s run
    except ConfigError as err:
        problems.append(str(err))
    if problems:
        raise DataFileError("\n".join(problems))
    return doc


def _load_thresholds(path: Path, problems: list[str], where: str) -> dict[str, Any]:
    """thresholds.json: numbers/booleans/null by key, plus ``processors: {name: {key: value}}``."""
    if not path.is_file():
        return {}
    try:
        doc = parse(inputfiles.read_text(path, where, what="thresholds file"), where).value
    except DataFileError as err:  # unreadable, not UTF-8, malformed or too deep
        problems.append(str(err))
        return {}
    if not isinstance(doc, dict):
        problems.append(f"{where} must be a JSON object of limits")
        return {}
    _check_limits(doc, where, problems, nested_ok=True)
    from sp_tasks.deploy.health import policy_problems  # the owner of the "health" section checks it

    if isinstance(doc.get("health"), dict):
        problems.extend(f"{where} health: {p}" for p in policy_problems(doc["health"]))
    return doc


def _read(path: Path, shown: str, problems: list[str]) -> str:
    try:
        return inputfiles.read_text(path, shown, what="config.env file")
    except DataFileError as err:
        problems.append(str(err))
        return ""


def _check_limits(doc: dict, where: str, problems: list[str], *, nested_ok: bool) -> None:
    for key, value in doc.items():
        if key == "processors" and nested_ok and isinstance(value, dict):
            for name, limits in value.items():
                if isinstance(limits, dict):
                    _check_limits(limits, f"{where} processors.{name}", problems, nested_ok=False)
                else:
                    problems.append(f"{where}: processors.{name} must be an object of limits")
        elif key in SECTIONS and nested_ok and isinstance(value, dict):
            if key in _FLAT_SECTIONS:
                _check_limits(value, f"{where} {key}", problems, nested_ok=False)
        elif not key.startswith(("_", "$")) and not (value is None or isinstance(value, (bool, int, float))):
            problems.append(f"{where}: {key} must be a number, true/false or null, not {type(value).__name__}")


def _missing_env_message(env: str, root: Path) -> str:
    base = root / "environments"
    known = sorted(p.name for p in base.iterdir() if (p / "config.env").is_file()) if base.is_dir() else []
    listing = ", ".join(known) or "none"
    return (f"environment '{env}' not found: create environments/{env}/config.env "
            f"(available: {listing})")
