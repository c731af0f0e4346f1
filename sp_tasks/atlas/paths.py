"""The Atlas Admin API v2 streams endpoints we use: method, path template and media-type version.

One table, read by the client (to build requests) and by the emulator (to route them), so the
two can never disagree. Source: reference/atlas-sp-api.md §1.2 and §2 (SDK spec snapshot).
Path parameters: ``group_id`` (24-hex project id), ``workspace`` (the API's ``tenantName``),
``connection``, ``processor``. Verb endpoints keep their literal colon (``…:start``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote

API_PREFIX = "/api/atlas/v2"
OAUTH_TOKEN_PATH = "/api/oauth/token"
OAUTH_REVOKE_PATH = "/api/oauth/revoke"
STREAMS = API_PREFIX + "/groups/{group_id}/streams"


@dataclass(frozen=True)
class Endpoint:
    name: str  # the SDK operationId, so logs and request counts read like the Atlas docs
    method: str
    template: str
    version: str  # dated media-type version, sent as application/vnd.atlas.<version>+json

    @property
    def accept(self) -> str:
        return f"application/vnd.atlas.{self.version}+json"

    def path(self, **params: str) -> str:
        """Fill the template; each value is percent-encoded (names never contain '/')."""
        return self.template.format(**{k: quote(str(v), safe="") for k, v in params.items()})

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Regex matching concrete paths of this endpoint, with named groups per parameter."""
        return _compile(self.template)


def _compile(template: str) -> re.Pattern[str]:
    regex = ""
    for literal, field in _split(template):
        regex += re.escape(literal)
        if field:
            # A path parameter is one segment; ':' ends a name only when a verb follows.
            regex += f"(?P<{field}>[^/:]+)"
    return re.compile(f"^{regex}$")


def _split(template: str):
    for match in re.finditer(r"([^{]*)(?:\{(\w+)\})?", template):
        if match.group(0):
            yield match.group(1), match.group(2)


_WS = STREAMS + "/{workspace}"
_CONN = _WS + "/connections/{connection}"
_PROC = _WS + "/processor/{processor}"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("listStreamWorkspaces", "GET", STREAMS, "2023-02-01"),
    Endpoint("createStreamWorkspace", "POST", STREAMS, "2023-02-01"),
    Endpoint("withStreamSampleConnections", "POST", STREAMS + ":withSampleConnections", "2024-08-05"),
    Endpoint("getStreamWorkspace", "GET", _WS, "2023-02-01"),
    Endpoint("updateStreamWorkspace", "PATCH", _WS, "2023-02-01"),
    Endpoint("deleteStreamWorkspace", "DELETE", _WS, "2023-02-01"),
    Endpoint("listStreamConnections", "GET", _WS + "/connections", "2023-02-01"),
    Endpoint("createStreamConnection", "POST", _WS + "/connections", "2023-02-01"),
    Endpoint("getStreamConnection", "GET", _CONN, "2023-02-01"),
    Endpoint("updateStreamConnection", "PATCH", _CONN, "2023-02-01"),
    Endpoint("deleteStreamConnection", "DELETE", _CONN, "2023-02-01"),
    Endpoint("createStreamProcessor", "POST", _WS + "/processor", "2024-05-30"),
    Endpoint("getStreamProcessors", "GET", _WS + "/processors", "2024-05-30"),
    Endpoint("getStreamProcessor", "GET", _PROC, "2024-05-30"),
    Endpoint("updateStreamProcessor", "PATCH", _PROC, "2024-05-30"),
    Endpoint("deleteStreamProcessor", "DELETE", _PROC, "2024-05-30"),
    Endpoint("startStreamProcessor", "POST", _PROC + ":start", "2024-05-30"),
    Endpoint("startStreamProcessorWith", "POST", _PROC + ":startWith", "2025-03-12"),
    Endpoint("stopStreamProcessor", "POST", _PROC + ":stop", "2024-05-30"),
)

BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}


def endpoint(name: str) -> Endpoint:
    return BY_NAME[name]


def match(method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    """Find the endpoint serving ``method path``; parameters are returned still percent-encoded."""
    for ep in ENDPOINTS:
        if ep.method != method:
            continue
        m = ep.pattern.match(path)
        if m:
            return ep, m.groupdict()
    return None


def path_known(path: str) -> bool:
    """True when some endpoint serves this path with any method (405 vs 404 in the emulator)."""
    return any(ep.pattern.match(path) for ep in ENDPOINTS)
