"""``invoke doctor``: a read-only check of an environment before its first deploy.

It answers what a first deploy would otherwise find out the hard way: which credentials are
used (and where they came from), whether the project and the workspace can be reached with
them, whether Atlas accepts the API versions the client speaks, how much of the rate-limit
budget is left, what state each connection is in, and whether every answer carries the fields
sp-tasks relies on (``atlas.fields``; unknown fields are reported too). Only GET requests are
sent. Each finding is a :class:`Check`: ``ok``, ``warn`` (worth knowing) or ``fail`` (would break
a deploy: the command exits 1). ``run_doctor`` gathers; ``render_text``/``to_json`` are pure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from sp_tasks.atlas import fields as F
from sp_tasks.atlas.paths import endpoint
from sp_tasks.errors import AtlasUnavailable, ConfigError

OK, WARN, FAIL = "ok", "warn", "fail"
CALLS_PER_PROCESSOR = 6  # create/modify, start, polls, health samples: a rough budget per processor
_ROLE_HINT = "it needs Project Owner or Project Stream Processing Owner on the project"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail}


@dataclass
class Report:
    environment: str
    target: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    def add(self, name: str, status: str, detail: str) -> None:
        self.checks.append(Check(name, status, detail))


def run_doctor(settings, open_client: Callable[[Any], Any], *, git_processors: int = 0,
               git_connections: tuple[str, ...] = ()) -> Report:
    report = Report(settings.name, "the local emulator" if settings.is_emulator else settings.base_url)
    try:
        creds = settings.credentials()
    except ConfigError as err:
        report.add("credentials", FAIL, str(err))
        return report
    report.add("credentials", OK, f"{_kind(creds.kind)} {creds.user} from {creds.source}")
    try:
        client = open_client(settings)
    except ConfigError as err:
        report.add("target", FAIL, str(err))
        return report
    try:
        _Probe(report, client, settings).run(git_processors, git_connections)
    except AtlasUnavailable as err:
        report.add("reachable", FAIL, str(err))
    finally:
        client.close()
    return report


def _kind(kind: str) -> str:
    return {"service_account": "service account", "api_key": "API key"}.get(kind, kind)


class _Probe:
    """The GETs of one doctor run, each answer judged as it comes."""

    def __init__(self, report: Report, client, settings):
        self.report, self.client, self.settings = report, client, settings
        self.versions: dict[str, str] = {}
        self.budget: tuple[str, str] | None = None

    def get(self, name: str, **params: str):
        paged = name.startswith("list") or name == "getStreamProcessors"
        resp = self.client.probe(name, query={"itemsPerPage": 500} if paged else None, **params)
        self._headers(name, resp)
        return resp

    def run(self, git_processors: int, git_connections: tuple[str, ...]) -> None:
        if not self.project():
            return
        if self.workspace():
            self.connections(git_connections)
            self.processors()
        self.api_versions()
        self.rate_limit(git_processors)

    # -- one check each ---------------------------------------------------------------------
    def project(self) -> bool:
        resp = self.get("listStreamWorkspaces")
        project = self.settings.project_id
        if resp.status_code == 200:
            body = self._fields("project", "workspace list", resp, F.LIST)
            count = len((body or {}).get("results") or [])
            self.report.add("project", OK, f"project {project} reachable ({count} workspace(s))")
            return True
        why = {401: "the credentials were refused (wrong key pair or secret, or the key is not in the "
                    "project's organization)",
               403: f"the credentials may not use stream processing in this project: {_ROLE_HINT}, and the "
                    "caller's IP must be on the API access list",
               404: f"project {project} does not exist or is not visible to these credentials: check PROJECT_ID",
               406: "Atlas does not accept the API version this client asks for"}.get(resp.status_code)
        self.report.add("project", FAIL, why or _answer(resp))
        return False

    def workspace(self) -> bool:
        name = self.settings.workspace
        resp = self.get("getStreamWorkspace", workspace=name)
        if resp.status_code == 200:
            body = self._fields("workspace", "workspace", resp, F.WORKSPACE) or {}
            region = body.get("dataProcessRegion") or {}
            config = body.get("streamConfig") or {}
            ceiling = f", max tier {config['maxTierSize']}" if config.get("maxTierSize") else ""
            self.report.add("workspace", OK, f"workspace {name}: {region.get('cloudProvider')} {region.get('region')}, "
                                             f"tier {config.get('tier')}{ceiling}")
            return True
        if resp.status_code == 404 and _code(resp) == "STREAM_TENANT_NOT_FOUND_FOR_NAME":
            if self.settings.create_workspace:
                self.report.add("workspace", WARN, f"workspace {name} does not exist yet: the first deploy creates it "
                                                   f"({self.settings.cloud_provider} {self.settings.region})")
            else:
                self.report.add("workspace", FAIL, f"workspace {name} does not exist and ALLOW_CREATE_WORKSPACE is "
                                                   f"off in {self.settings.config_file}: create it in Atlas or allow it")
            return False
        self.report.add("workspace", FAIL, _answer(resp))
        return False

    def connections(self, git: tuple[str, ...]) -> None:
        docs = self._listed("connections", "listStreamConnections", "connection", F.CONNECTION)
        if docs is None:
            return
        for doc in docs:
            state = doc.get("state", "READY")
            status = {"READY": OK, "FAILED": FAIL}.get(state, WARN)
            what = {"FAILED": ": processors using it cannot start; fix it in Atlas (or replace it)",
                    "PENDING": ": still deploying; a deploy waits for it", "DELETING": ": being deleted"}.get(state, "")
            self.report.add(f"connection {doc.get('name')}", status, f"{doc.get('type') or '(no type)'} {state}{what}")
        live = {d.get("name") for d in docs}
        missing = [n for n in git if n not in live]
        if missing:
            self.report.add("connections", OK, f"in Git, not yet in the workspace (deploy creates them): "
                                               f"{', '.join(missing)}")

    def processors(self) -> None:
        docs = self._listed("processors", "getStreamProcessors", "processor", F.PROCESSOR)
        if docs is None:
            return
        # A first start under way has no counters yet, only its status (unconfirmed.TRANSITION_IN_STATS_STATUS).
        stats = [d["stats"] for d in docs if isinstance(d.get("stats"), dict)]
        self._judge("stats", [s for s in stats if s.get("status") != "starting" or "inputMessageCount" in s], F.STATS)
        states: dict[str, int] = {}
        for doc in docs:
            states[str(doc.get("state"))] = states.get(str(doc.get("state")), 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none yet"
        failed = sorted(str(d.get("name")) for d in docs if d.get("state") == "FAILED")
        self.report.add("processors", WARN if failed else OK,
                        summary + (f"; FAILED: {', '.join(failed)} (a deploy restarts only what Git says)" if failed else ""))

    def api_versions(self) -> None:
        wrong = {n: v for n, v in self.versions.items() if v != endpoint(n).version}
        seen = ", ".join(sorted({f"{endpoint(n).version}" for n in self.versions}))
        if wrong:
            self.report.add("api versions", FAIL, "; ".join(
                f"{n} answered {v or 'without a versioned Content-Type'}, the client speaks {endpoint(n).version}"
                for n, v in sorted(wrong.items())))
        else:
            self.report.add("api versions", OK, f"accepted and answered as asked: {seen}")

    def rate_limit(self, git_processors: int) -> None:
        if self.budget is None:
            self.report.add("rate limit", OK, "Atlas reported no rate-limit headers")
            return
        limit, remaining = self.budget
        needed = 10 + CALLS_PER_PROCESSOR * git_processors
        low = remaining.isdigit() and int(remaining) < needed
        self.report.add("rate limit", WARN if low else OK,
                        f"{remaining} of {limit} calls left" + (
                            f": a deploy of {git_processors} processor(s) needs about {needed}; it will be paced "
                            "and may wait for the budget to renew" if low else ""))

    # -- helpers ----------------------------------------------------------------------------
    def _headers(self, name: str, resp) -> None:
        if resp.status_code < 400:
            media = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
            self.versions[name] = media.removeprefix("application/vnd.atlas.").removesuffix("+json") \
                if media.startswith("application/vnd.atlas.") else ""
        if resp.headers.get("Ratelimit-Remaining") is not None:
            self.budget = (resp.headers.get("Ratelimit-Limit", "?"), resp.headers["Ratelimit-Remaining"])

    def _listed(self, check: str, name: str, kind: str, spec: F.Fields) -> list | None:
        """One list call of the workspace (endpoint ``name``): FAIL under ``check`` on any answer but
        200 (None), else its results, the list's and each ``kind`` document's fields judged."""
        resp = self.get(name, workspace=self.settings.workspace)
        if resp.status_code != 200:
            self.report.add(check, FAIL, _answer(resp))
            return None
        docs = (self._fields(check, f"{kind} list", resp, F.LIST) or {}).get("results") or []
        self._judge(kind, docs, spec)
        return docs

    def _fields(self, check: str, what: str, resp, spec: F.Fields) -> Any:
        try:
            body = resp.json()
        except ValueError:
            self.report.add(check, FAIL, f"the {what} answer is not JSON: is ATLAS_BASE_URL the Admin API?")
            return None
        self._judge(what, [body], spec)
        return body if isinstance(body, dict) else None

    def _judge(self, kind: str, docs: list, spec: F.Fields) -> None:
        missing: set[str] = set()
        unknown: set[str] = set()
        for doc in docs:
            gone, new = spec.problems(doc)
            missing.update(gone)
            unknown.update(new)
        if missing:
            self.report.add(f"fields: {kind}", FAIL, f"missing {', '.join(sorted(missing))}, which sp-tasks relies on")
        if unknown:
            self.report.add(f"fields: {kind}", WARN, f"unknown to sp-tasks (ignored): {', '.join(sorted(unknown))}")


def _code(resp) -> str:
    try:
        return str((resp.json() or {}).get("errorCode") or "")
    except (ValueError, AttributeError):
        return ""


def _answer(resp) -> str:
    try:
        body = resp.json()
        detail = f"{body.get('errorCode')}: {body.get('detail')}" if isinstance(body, dict) else ""
    except ValueError:
        detail = ""
    return f"Atlas answered {resp.status_code}" + (f" {detail}" if detail else "")


def render_text(report: Report) -> str:
    width = max([len(c.name) for c in report.checks] + [10])
    lines = [f"doctor: environment {report.environment} against {report.target}"]
    lines += [f"  {c.status.upper():<4}  {c.name:<{width}}  {c.detail}" for c in report.checks]
    fails = sum(c.status == FAIL for c in report.checks)
    warns = sum(c.status == WARN for c in report.checks)
    lines.append(f"{fails} problem(s) would break a deploy" if fails else
                 f"ready for a first deploy ({warns} note(s))" if warns else "ready for a first deploy")
    return "\n".join(lines)


def to_json(report: Report) -> dict[str, Any]:
    return {"environment": report.environment, "target": report.target, "ok": report.ok,
            "checks": [c.to_json() for c in report.checks]}
