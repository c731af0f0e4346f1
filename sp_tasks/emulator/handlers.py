"""HTTP layer of the emulator's Atlas API: one function per endpoint, parse -> backend -> response.

Handlers take ``(backend, request)`` and return ``(status, body)``; ``body`` None means no
content. Status codes are the real API's: creates answer 200 (not 201), workspace and connection
deletes 202 with ``{}`` (recorded), processor delete 204, start/stop 200 with an empty body
(reference §2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import unquote

from sp_tasks.emulator import errors


@dataclass(frozen=True)
class Request:
    params: dict[str, str]  # path parameters, still percent-encoded
    query: dict[str, str]
    body: Any  # decoded JSON or None
    base_url: str  # scheme://host:port, for links
    path: str

    def p(self, name: str) -> str:
        return unquote(self.params[name])


def _flag(query: dict[str, str], name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise errors.validation(f"Invalid value {value!r} for query parameter {name}: expected true or false.", name)
    return value.lower() == "true"


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise errors.validation(f"Invalid value {raw!r} for query parameter {name}: expected {low}..{high}.", name)
    return value


def paginate(items: list[dict[str, Any]], req: Request) -> dict[str, Any]:
    """The list envelope of reference §1.3: links, results, totalCount (unless includeCount=false)."""
    per_page = _int(req.query, "itemsPerPage", 100, 1, 500)
    page = _int(req.query, "pageNum", 1, 1, 10**6)
    start = (page - 1) * per_page
    links = [{"href": f"{req.base_url}{req.path}?pageNum={page}&itemsPerPage={per_page}", "rel": "self"}]
    if start + per_page < len(items):
        links.append({"href": f"{req.base_url}{req.path}?pageNum={page + 1}&itemsPerPage={per_page}",
                      "rel": "next"})
    envelope: dict[str, Any] = {"links": links, "results": items[start:start + per_page]}
    if _flag(req.query, "includeCount", True):
        envelope["totalCount"] = len(items)
    return envelope


def _linked(doc: dict[str, Any], req: Request) -> dict[str, Any]:
    """A single resource as Atlas answers it: the recordings show no ``links`` on objects (only
    on list envelopes), whatever the spec's schema allows."""
    return doc


# -- workspaces -------------------------------------------------------------------------------
def list_workspaces(b, req: Request):
    return 200, paginate(b.workspaces.list(req.p("group_id")), req)


def create_workspace(b, req: Request):
    return 200, _linked(b.workspaces.create(req.p("group_id"), req.body), req)


def create_workspace_with_sample(b, req: Request):
    return 200, _linked(b.workspaces.create(req.p("group_id"), req.body, with_sample=True), req)


def get_workspace(b, req: Request):
    include = _flag(req.query, "includeConnections", False)
    return 200, _linked(b.workspaces.get(req.p("group_id"), req.p("workspace"), include), req)


def update_workspace(b, req: Request):
    group_id, name = req.p("group_id"), req.p("workspace")
    status = (req.body or {}).get("processorStatus") if isinstance(req.body, dict) else None
    doc = b.workspaces.update(group_id, name, req.body)
    if status and status.get("status") in ("STARTED", "STOPPED"):
        b.bulk_processor_status(group_id, name, status["status"])
    return 200, _linked(doc, req)


def delete_workspace(b, req: Request):
    group_id, name = req.p("group_id"), req.p("workspace")
    b.workspaces.delete(group_id, name, has_processors=b.has_processors(group_id, name))
    return 202, {}


# -- connections ------------------------------------------------------------------------------
def list_connections(b, req: Request):
    return 200, paginate(b.workspaces.list_connections(req.p("group_id"), req.p("workspace")), req)


def create_connection(b, req: Request):
    return 200, _linked(b.workspaces.create_connection(req.p("group_id"), req.p("workspace"), req.body), req)


def get_connection(b, req: Request):
    doc = b.workspaces.get_connection(req.p("group_id"), req.p("workspace"), req.p("connection"))
    return 200, _linked(doc, req)


def update_connection(b, req: Request):
    doc = b.workspaces.update_connection(req.p("group_id"), req.p("workspace"), req.p("connection"), req.body)
    return 200, _linked(doc, req)


def delete_connection(b, req: Request):
    b.delete_connection(req.p("group_id"), req.p("workspace"), req.p("connection"))
    return 202, {}


# -- processors -------------------------------------------------------------------------------
def create_processor(b, req: Request):
    return 200, _linked(b.processors.create(req.p("group_id"), req.p("workspace"), req.body), req)


def list_processors(b, req: Request):
    return 200, paginate(b.processors.list(req.p("group_id"), req.p("workspace")), req)


def get_processor(b, req: Request):
    return 200, _linked(b.processors.get(req.p("group_id"), req.p("workspace"), req.p("processor")), req)


def modify_processor(b, req: Request):
    doc = b.processors.modify(req.p("group_id"), req.p("workspace"), req.p("processor"), req.body)
    return 200, _linked(doc, req)


def delete_processor(b, req: Request):
    b.processors.delete(req.p("group_id"), req.p("workspace"), req.p("processor"))
    return 204, None


def start_processor(b, req: Request):
    b.processors.start(req.p("group_id"), req.p("workspace"), req.p("processor"))
    return 200, None


def start_processor_with(b, req: Request):
    b.processors.start(req.p("group_id"), req.p("workspace"), req.p("processor"), req.body or {})
    return 200, None


def stop_processor(b, req: Request):
    b.processors.stop(req.p("group_id"), req.p("workspace"), req.p("processor"))
    return 200, None


HANDLERS: dict[str, Callable[[Any, Request], tuple[int, Any]]] = {
    "listStreamWorkspaces": list_workspaces,
    "createStreamWorkspace": create_workspace,
    "withStreamSampleConnections": create_workspace_with_sample,
    "getStreamWorkspace": get_workspace,
    "updateStreamWorkspace": update_workspace,
    "deleteStreamWorkspace": delete_workspace,
    "listStreamConnections": list_connections,
    "createStreamConnection": create_connection,
    "getStreamConnection": get_connection,
    "updateStreamConnection": update_connection,
    "deleteStreamConnection": delete_connection,
    "createStreamProcessor": create_processor,
    "getStreamProcessors": list_processors,
    "getStreamProcessor": get_processor,
    "updateStreamProcessor": modify_processor,
    "deleteStreamProcessor": delete_processor,
    "startStreamProcessor": start_processor,
    "startStreamProcessorWith": start_processor_with,
    "stopStreamProcessor": stop_processor,
}
