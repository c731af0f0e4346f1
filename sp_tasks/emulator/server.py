"""The emulator's HTTP server: auth, versioned Accept, faults, routing and the error envelope.

Stdlib ``ThreadingHTTPServer`` bound to 127.0.0.1 by default. Order of checks for an API request:
authenticate (401 + Digest challenge) -> route (404/405) -> versioned Accept (406, ``protocol``) ->
rate-limit budget (429; every later answer carries ``Ratelimit-*``) -> count the request ->
injected faults (latency, canned status) -> body (413 / 400 malformed JSON) -> handler under the
backend lock -> an ``after_handler`` fault replaces the handler's answer. Success answers name
the resource's own version in ``Content-Type``. Admin routes
that change state need the key pair or the admin header first (see ``admin.py``). Before all of
that, on every route, ``guard`` refuses a request not addressed to this server (Host/Origin: 403);
it also bounds bodies, workers and slow senders. Nothing a client sends can crash the server:
unexpected exceptions become 500 UNEXPECTED_ERROR and are logged with their traceback; a client
that goes away is noted at debug level only.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sp_tasks.atlas import paths, unconfirmed
from sp_tasks.emulator import admin, errors, guard, protocol, workers
from sp_tasks.emulator.backend import Backend
from sp_tasks.emulator.handlers import HANDLERS, Request

log = logging.getLogger("sp_tasks.emulator")
_GROUP_ID = re.compile(r"^[0-9a-f]{24}$")  # any well-formed project id is an existing project


class _Handler(BaseHTTPRequestHandler):
    server: "EmulatorServer"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client waits for
    # the delayed ACK (~40 ms) on every small response.
    disable_nagle_algorithm = True

    keep_alive = False  # after a turn: park the connection for its next request (workers.py)

    def setup(self) -> None:
        super().setup()
        self.rfile = self.server.reader_for(self.connection)  # what arrived while parked comes first

    def handle(self) -> None:
        """One request per turn; between requests the connection waits parked, without a worker."""
        self.close_connection = True
        self.handle_one_request()
        self.keep_alive = not self.close_connection

    def handle_one_request(self) -> None:
        # The headers are in (workers.py parks a connection until they are); the rest of the
        # reading has limits.read_s, and each socket read limits.recv_s.
        limits = self.server.limits
        self.connection.settimeout(limits.recv_s)
        self.server.deadlines.arm(self.connection, limits.read_s)
        super().handle_one_request()

    def finish(self) -> None:
        if not self.keep_alive:
            super().finish()

    def resume(self) -> None:
        """The next turn on a parked connection, once it has bytes to read."""
        try:
            self.handle()
        finally:
            self.finish()

    def has_buffered(self) -> bool:
        """Is a next (pipelined) request already read? Looks without waiting."""
        try:
            self.connection.setblocking(False)
            return bool(self.rfile.peek(1))
        except OSError:
            return False
        finally:
            _quietly_settimeout(self.connection, self.server.limits.recv_s)

    def close(self) -> None:
        self.keep_alive = False
        super().finish()

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # route access logs to logging, not stderr
        log.debug("%s " + format, self.address_string(), *args)

    # -- dispatch -------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        self._body = None  # handler instances are reused across keep-alive requests
        self._limits: dict[str, str] = {}  # Ratelimit-* headers once the call is counted
        self.server.deadlines.arm(self.connection, None)  # line and headers are in
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        backend = self.server.backend
        try:
            wrong_host = guard.host_problem(self.headers, self.server.server_address[1], self.server.aliases)
            if wrong_host:  # a DNS-rebinding page, or a request meant for another server
                self.close_connection = True
                return self._send(403, errors.ApiError(403, "INVALID_HOST", wrong_host).envelope())
            if url.path.startswith(admin.PREFIX):
                if not admin.caller_allowed(backend, self.command, self.path, self.headers):
                    self._read_raw()
                    err = errors.ApiError(401, errors.UNAUTHORIZED, admin.REFUSED)
                    return self._send(401, err.envelope(), headers={"WWW-Authenticate": backend.auth.challenge()})
                status, body = admin.handle(backend, self.command, url.path, query, self._read_json())
                return self._send(status, body, "application/json")
            if url.path == paths.OAUTH_TOKEN_PATH and self.command == "POST":
                form = dict(parse_qsl(self._read_raw().decode("utf-8", "replace")))
                status, body = backend.auth.issue_token(self.headers.get("Authorization"), form)
                return self._send(status, body, "application/json")
            if url.path == paths.OAUTH_REVOKE_PATH and self.command == "POST":
                form = dict(parse_qsl(self._read_raw().decode("utf-8", "replace")))
                status, body = backend.auth.revoke(self.headers.get("Authorization"), form)
                return self._send(status, body, "application/json")
            self._api(backend, url.path, query)
        except errors.ApiError as exc:
            self._send(exc.status, exc.envelope(), headers=exc.headers)
        except (ConnectionError, TimeoutError):  # the client went away or sent too slowly: not news
            self.close_connection = True
            log.debug("client went away during %s %s", self.command, url.path)
        except Exception:  # the server must survive anything a client sends
            log.exception("unexpected error serving %s %s", self.command, url.path)
            self._send(500, errors.ApiError(500, errors.UNEXPECTED_ERROR, "Unexpected error.").envelope())

    def _api(self, backend: Backend, path: str, query: dict[str, str]) -> None:
        ok, stale = backend.auth.check(self.command, self.path, self.headers.get("Authorization"))
        if not ok:
            backend.faults.record_unauthenticated()
            self._read_raw()
            err = errors.ApiError(401, errors.UNAUTHORIZED, "You are not authorized for this resource.")
            return self._send(401, err.envelope(), headers={"WWW-Authenticate": backend.auth.challenge(stale)})
        found = paths.match(self.command, path)
        if found is None:
            self._read_raw()
            if paths.path_known(path):
                raise errors.ApiError(405, "METHOD_NOT_ALLOWED", f"Method {self.command} is not allowed on {path}.")
            raise errors.ApiError(404, errors.NOT_FOUND, f"Cannot find resource {path}.", [path])
        endpoint, params = found
        if not _GROUP_ID.match(params["group_id"]):
            self._read_raw()
            raise errors.ApiError(400, unconfirmed.INVALID_GROUP_ID_CODE,
                                  f"An invalid group ID {params['group_id']} was specified.", [params["group_id"]])
        try:
            content_type = protocol.negotiate(self.headers.get("Accept"), endpoint.version)
            self._limits = backend.rate.take(params["group_id"], path)
        except errors.ApiError:
            self._read_raw()
            raise
        backend.faults.record(f"{endpoint.method} {endpoint.template}")
        delay, rule = backend.faults.for_request(self.command, path)
        if delay:
            time.sleep(delay)
        if rule is not None and not rule.after_handler:
            self._read_raw()
            return self._send(rule.status, rule.body or _fault_body(rule.status), headers=rule.headers)
        request = Request(params, query, self._read_json(), self.server.url, path)
        try:
            with backend.lock:
                backend.before_request()
                status, payload = HANDLERS[endpoint.name](backend, request)
        except errors.ApiError:
            if rule is None:
                raise
        if rule is not None:  # after_handler: whatever the handler did stays done; its answer is lost
            return self._send(rule.status, rule.body or _fault_body(rule.status), headers=rule.headers)
        self._send(status, payload, content_type)

    # -- bodies -----------------------------------------------------------------------------
    def _read_raw(self) -> bytes:
        if self._body is not None:
            return self._body
        self.server.deadlines.arm(self.connection, self.server.limits.read_s)
        try:
            self._body = guard.read_body(self.rfile, self.headers, unconfirmed.MAX_BODY_BYTES)
        except guard.BodyError as err:
            self.close_connection = True  # where the next request starts is unknown now
            self._body = b""
            raise errors.ApiError(err.status, err.code, err.detail) from None
        finally:
            self.server.deadlines.arm(self.connection, None)
        return self._body

    def _read_json(self) -> Any:
        raw = self._read_raw()
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise errors.ApiError(400, unconfirmed.MALFORMED_JSON_CODE,
                                  f"Received JSON is malformed: {exc}.") from None

    def _send(self, status: int, body: Any, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body, default=str).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", content_type + ";charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in {**self._limits, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)


def _quietly_settimeout(sock, seconds: float) -> None:
    try:
        sock.settimeout(seconds)
    except OSError:  # already closed
        pass


def _fault_body(status: int) -> dict[str, Any]:
    if status == 429:
        return errors.ApiError(429, errors.RATE_LIMITED, "Rate limit exceeded. Please retry later.").envelope()
    code = errors.UNEXPECTED_ERROR if status >= 500 else "INJECTED_FAULT"
    return errors.ApiError(status, code, "Injected fault.").envelope()


class EmulatorServer(workers.BoundedWorkers, HTTPServer):
    """``aliases``: more host names the server answers to (for ``--host 0.0.0.0`` behind a name)."""

    allow_reuse_address = True
    request_queue_size = 128  # the listen backlog: a burst of connections waits for accept()

    def __init__(self, backend: Backend, host: str = "127.0.0.1", port: int = 0, *, aliases: tuple[str, ...] = (),
                 limits: workers.Limits = workers.Limits()):
        super().__init__((host, port), _Handler)
        self.backend = backend
        self.aliases = (*aliases, *(() if host in ("", "0.0.0.0", "::") else (host,)))
        self.init_workers(limits)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmulatorServer":
        """Serve on a background thread (tests, embedded use); returns once accepting."""
        self._thread = threading.Thread(target=self.serve_forever, name="sp-emulator", daemon=True)
        self._thread.start()
        return self

    def server_close(self) -> None:
        super().server_close()
        self.close_workers()

    def stop(self) -> None:
        self.shutdown()
        if self._thread:
            self._thread.join(timeout=5)
        self.server_close()
        self.backend.close()
