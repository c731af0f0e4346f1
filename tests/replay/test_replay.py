"""Replay conformance: real Atlas responses (recordings/, see NOTICE.md) against our client, our planner
and our emulator.

1. Each recorded answer, served over HTTP by a tiny replaying server, is read by ``AtlasClient``
   as the method that sent the request returns it.
2. The planner sees no change between the connection file that produced a recorded connection and
   the recorded live body (Atlas's server-filled fields and unreturned secrets are no diff).
3. The emulator, sent the same requests in the same order, answers with the same status, the same
   versioned Content-Type, rate-limit headers, and the same body: ids, hostnames' random part, the
   dev environment's domain and links' host excepted.
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from sp_tasks.atlas import paths
from sp_tasks.atlas.auth import ApiKeyAuth
from sp_tasks.atlas.client import AtlasClient
from sp_tasks.model import ConnectionSpec, LiveConnection
from sp_tasks.planning.connections import decide_connection
from sp_tasks.planning.plan import Action
from tests.replay.recorded import CONNECTION_FILES, SECRET_VALUES, STEPS, Recorded, Step, parse, HERE


class _Replayer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("Accept")))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        recorded: Recorded = self.server.recorded
        self.send_response(recorded.status)
        for key, value in recorded.headers.items():
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(recorded.raw)))
        self.end_headers()
        self.wfile.write(recorded.raw)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def replayer():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replayer)
    server.seen, server.recorded = [], None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _call(client: AtlasClient, step: Step) -> Any:
    body = step.body
    calls = {
        "listStreamWorkspaces": client.list_workspaces,
        "createStreamWorkspace": lambda: client.create_workspace({k: v for k, v in (body or {}).items() if k != "name"}),
        "getStreamWorkspace": client.get_workspace,
        "updateStreamWorkspace": lambda: client.update_workspace(body),
        "createStreamConnection": lambda: client.create_connection(body),
        "getStreamConnection": lambda: client.get_connection(step.params.get("connection")),
        "listStreamConnections": client.list_connections,
        "updateStreamConnection": lambda: client.update_connection(step.params.get("connection"), body),
        "deleteStreamConnection": lambda: client.delete_connection(step.params.get("connection")),
        "deleteStreamWorkspace": client.delete_workspace,
    }
    return calls[step.endpoint]()


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.file.split("/")[-1].split("__")[0])
def test_each_recorded_answer_is_read_by_our_client(replayer, step):
    recorded = step.response()
    replayer.recorded, replayer.seen[:] = recorded, []
    workspace = step.params.get("workspace", "instance-908")
    with AtlasClient(f"http://127.0.0.1:{replayer.server_port}", step.group, workspace, ApiKeyAuth("a", "b")) as client:
        result = _call(client, step)
        assert client.transport.pacer.remaining == int(recorded.headers["Ratelimit-Remaining"])
    endpoint = paths.endpoint(step.endpoint)
    [(method, path, accept)] = replayer.seen
    assert (method, path.split("?")[0]) == (endpoint.method, endpoint.path(group_id=step.group, **step.params))
    assert accept == endpoint.accept
    if step.endpoint.startswith("list"):
        assert result == recorded.body["results"]
    elif step.endpoint.startswith("delete"):
        assert result is None
    else:
        assert result == recorded.body
    if "Connection" in step.endpoint and isinstance(result, dict):
        live = LiveConnection.from_api(result)
        assert (live.name, live.type, live.state) == (result["name"], result["type"], "READY")


def _user_file(body: dict) -> dict:
    """The connection file a user keeps in Git for this request: read-only ``links`` left out
    (validation refuses them), secrets written as ${VAR} (supplied by the environment)."""
    def clean(value: Any) -> Any:
        return {k: clean(v) for k, v in value.items() if k != "links"} if isinstance(value, dict) else value

    return clean(body)


@pytest.mark.parametrize("file", sorted(CONNECTION_FILES), ids=lambda f: f.split("/")[-1].split("__")[0])
def test_the_planner_sees_no_change_between_the_file_and_the_recorded_body(file):
    desired = _user_file(CONNECTION_FILES[file])
    secrets = ("/authentication/password",) if "authentication" in desired else ()
    spec = ConnectionSpec(desired["name"], desired["type"], desired, file=f"connections/{desired['name']}.json",
                          secret_paths=secrets)
    live = LiveConnection.from_api(parse((HERE / file).read_bytes()).body)
    change = decide_connection(spec, live, users=(), prune=False, rotate_secrets=False)
    assert change.action is Action.NOOP, change
    assert not any(secret in json.dumps(change.before) for secret in SECRET_VALUES)


_HOST = re.compile(r"^https?://[^/]+")
_HOSTNAME = re.compile(r"^atlas-stream-[0-9a-f]{24}-[a-z0-9]{6}\.(.+)\.a\.query\.mongodb(?:-dev)?\.net$")


def comparable(value: Any, key: str = "") -> Any:
    """A body with what legitimately differs between two Atlases made equal."""
    if isinstance(value, dict):
        return {k: comparable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v, key) for v in value]
    if key in ("_id", "id") and isinstance(value, str):
        return "<id>"
    if key == "href":
        return _HOST.sub("", value)
    if key == "hostnames" or (isinstance(value, str) and _HOSTNAME.match(value)):
        match = _HOSTNAME.match(value)
        return f"atlas-stream-<id>-<random>.{match.group(1)}.a.query.mongodb.net" if match else value
    return value


def test_the_emulator_answers_the_recorded_requests_alike(emulator):
    session = requests.Session()
    session.auth = HTTPDigestAuth("local", "local")
    remaining: dict[str, list[int]] = {}
    for step in STEPS:
        recorded, endpoint = step.response(), paths.endpoint(step.endpoint)
        url = emulator.url + endpoint.path(group_id=step.group, **step.params)
        # The CLI asks for the version of its SDK, later than the resources' own: negotiation answers.
        resp = session.request(endpoint.method, url, json=step.body, timeout=10,
                               headers={"Accept": "application/vnd.atlas.2025-03-12+json"})
        where = step.file
        assert resp.status_code == recorded.status, (where, resp.text)
        assert resp.headers["Content-Type"] == recorded.headers["Content-Type"], where
        assert resp.headers["Ratelimit-Limit"] == recorded.headers["Ratelimit-Limit"], where
        remaining.setdefault(step.group, []).append(int(resp.headers["Ratelimit-Remaining"]))
        assert comparable(resp.json()) == comparable(recorded.body), where
        assert not any(secret in resp.text for secret in SECRET_VALUES), where
    for seen in remaining.values():  # recorded: a fresh budget per project, one call less each time
        assert seen == list(range(1199, 1199 - len(seen), -1))
