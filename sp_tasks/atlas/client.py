"""AtlasClient: one method per Atlas Stream Processing endpoint the product uses, scoped to a workspace.

Methods return the API's JSON documents (dicts, key order kept) and raise the ``AtlasError``
family from ``transport``. List methods follow pagination to the end, one call per page
(``itemsPerPage`` = 500, the API maximum, so a 50-processor workspace is one call).
``fetch_live`` reads a whole workspace in as few calls as the API allows.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import requests

from sp_tasks.atlas.pacing import Pacer
from sp_tasks.atlas.paths import endpoint
from sp_tasks.atlas.transport import CONNECT_TIMEOUT, RetryNotice, RetryPolicy, Transport
from sp_tasks.errors import AtlasNotFound
from sp_tasks.model import LiveConnection, LiveProcessor, LiveState, is_lock_name

PAGE_SIZE = 500
WORKSPACE_NOT_FOUND = "STREAM_TENANT_NOT_FOUND_FOR_NAME"


class AtlasClient:
    def __init__(self, base_url: str, project_id: str, workspace: str, auth: requests.auth.AuthBase, *,
                 timeout: tuple[float, float] = (CONNECT_TIMEOUT, 60.0), retry: RetryPolicy | None = None,
                 sleep=None, environment: str = "", page_size: int = PAGE_SIZE,
                 on_retry: Callable[[RetryNotice], None] | None = None,
                 on_pacing: Callable[[str], None] | None = None):
        """``on_retry`` hears of every retry before its wait, ``on_pacing`` of workers held back
        by the rate-limit budget: the front end shows both as they happen."""
        session = requests.Session()
        session.auth = auth
        kwargs = {"sleep": sleep} if sleep is not None else {}
        self.transport = Transport(base_url.rstrip("/"), session, timeout, retry or RetryPolicy(),
                                   on_retry=on_retry, pacer=Pacer(notify=on_pacing), **kwargs)
        self.project_id = project_id
        self.workspace = workspace
        self.environment = environment
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"AtlasClient({self.transport.base_url!r}, project={self.project_id!r}, workspace={self.workspace!r})"

    @property
    def calls(self) -> int:
        """HTTP calls sent so far, retries included (the efficiency budget counts these)."""
        return self.transport.calls

    def close(self) -> None:
        revoke = getattr(self.transport.session.auth, "revoke", None)
        if revoke is not None:
            revoke()  # a service account's token should not outlive the process (as MCP does)
        self.transport.session.close()

    def __enter__(self) -> "AtlasClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _call(self, name: str, *, body: Any = None, query: dict | None = None, **params: str) -> Any:
        ep = endpoint(name)
        path = ep.path(group_id=self.project_id, **params)
        return self.transport.request(ep, path, body=body, query=query)

    def probe(self, name: str, *, query: dict | None = None, **params: str) -> requests.Response:
        """One read, sent as every call is, answered as it came whatever its status (invoke doctor)."""
        ep = endpoint(name)
        if ep.method != "GET":
            raise ValueError(f"probe reads only; {name} is a {ep.method}")
        return self.transport.exchange(ep, ep.path(group_id=self.project_id, **params), query=query)

    def _pages(self, name: str, **params: str) -> Iterator[dict[str, Any]]:
        # Stop on a short page, not on totalCount: Atlas says the count "may be an estimate".
        page = 1
        while True:
            body = self._call(name, query={"itemsPerPage": self.page_size, "pageNum": page}, **params)
            results = body.get("results", [])
            yield from results
            if len(results) < self.page_size:
                return
            page += 1

    # -- workspaces -------------------------------------------------------------------------
    def list_workspaces(self) -> list[dict[str, Any]]:
        return list(self._pages("listStreamWorkspaces"))

    def get_workspace(self) -> dict[str, Any] | None:
        """The workspace, or None when Atlas says it does not exist (any other 404 — a wrong
        project, say — is raised: offering to create a workspace there would be wrong)."""
        try:
            return self._call("getStreamWorkspace", workspace=self.workspace)
        except AtlasNotFound as err:
            if err.error_code == WORKSPACE_NOT_FOUND:
                return None
            raise

    def create_workspace(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("createStreamWorkspace", body={"name": self.workspace, **body})

    def update_workspace(self, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH the workspace (flat body: cloudProvider, region, streamConfig, …; reference §3.2)."""
        return self._call("updateStreamWorkspace", body=body, workspace=self.workspace)

    def delete_workspace(self) -> None:
        self._call("deleteStreamWorkspace", workspace=self.workspace)

    # -- connections ------------------------------------------------------------------------
    def list_connections(self) -> list[dict[str, Any]]:
        return list(self._pages("listStreamConnections", workspace=self.workspace))

    def get_connection(self, name: str) -> dict[str, Any]:
        return self._call("getStreamConnection", workspace=self.workspace, connection=name)

    def create_connection(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("createStreamConnection", body=body, workspace=self.workspace)

    def update_connection(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("updateStreamConnection", body=body, workspace=self.workspace, connection=name)

    def delete_connection(self, name: str) -> None:
        self._call("deleteStreamConnection", workspace=self.workspace, connection=name)

    # -- processors -------------------------------------------------------------------------
    def list_processors(self, *, include_locks: bool = False) -> list[dict[str, Any]]:
        """User processors; ``include_locks`` adds the deploy lock's processor (deploy/lock.py)."""
        docs = list(self._pages("getStreamProcessors", workspace=self.workspace))
        return docs if include_locks else [d for d in docs if not is_lock_name(d.get("name", ""))]

    def get_processor(self, name: str) -> dict[str, Any]:
        return self._call("getStreamProcessor", workspace=self.workspace, processor=name)

    def create_processor(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("createStreamProcessor", body=body, workspace=self.workspace)

    def modify_processor(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("updateStreamProcessor", body=body, workspace=self.workspace, processor=name)

    def delete_processor(self, name: str) -> None:
        self._call("deleteStreamProcessor", workspace=self.workspace, processor=name)

    def start_processor(self, name: str) -> None:
        self._call("startStreamProcessor", workspace=self.workspace, processor=name)

    def start_processor_with(self, name: str, *, tier: str | None = None,
                             resume_from_checkpoint: bool | None = None) -> None:
        body: dict[str, Any] = {}
        if tier:
            body["tier"] = tier
        if resume_from_checkpoint is not None:
            body["resumeFromCheckpoint"] = resume_from_checkpoint
        self._call("startStreamProcessorWith", body=body, workspace=self.workspace, processor=name)

    def stop_processor(self, name: str) -> None:
        self._call("stopStreamProcessor", workspace=self.workspace, processor=name)

    # -- whole workspace --------------------------------------------------------------------
    def fetch_live(self) -> LiveState:
        """Workspace + connections + processors: 1 call + 1 per page of each list."""
        workspace = self.get_workspace()
        if workspace is None:
            return LiveState(workspace=None)
        connections = tuple(LiveConnection.from_api(c) for c in self.list_connections())
        docs = self.list_processors(include_locks=True)
        processors = tuple(LiveProcessor.from_api(p) for p in docs if not is_lock_name(p.get("name", "")))
        locks = [p for p in docs if is_lock_name(p.get("name", ""))]  # never a user processor
        return LiveState(workspace, connections, processors, extra={"locks": locks})
