"""The emulator's defences at the HTTP layer: bounded bodies, known hosts, bounded workers, deadlines.

The emulator listens on a developer's machine, so any web page the developer opens, and any
program on the machine, can send it requests. Whatever they send, its cost stays bounded:

- bodies: ``Content-Length`` must be one non-negative integer up to the limit; a chunked body is
  decoded with the same limit; anything else is refused before it is read (400/411/413/501) and
  the connection closed, since the stream position is then unknown;
- hosts: every route (API, admin, OAuth) answers only requests whose ``Host`` names this server
  (a loopback name, the bound address or a configured alias, with its port) and whose ``Origin``,
  when a browser sends one, is such a host: a DNS-rebinding page (``Host: evil.example``) cannot
  read ``/_emulator/documents`` or drive the API;
- workers: a fixed pool of threads serves connections; when every worker is busy and the queue
  is full, a new connection gets 503 at once instead of a new thread;
- deadlines: a kept-alive connection may idle :data:`IDLE_S`, a request's line and headers and
  its body must arrive within :data:`READ_S` each (a reaper thread closes the socket of a slow
  sender — slowloris), and a client that disconnects is noted quietly, without a traceback.
"""
from __future__ import annotations

import ipaddress
import logging
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

log = logging.getLogger("sp_tasks.emulator")
MAX_WORKERS = 64
MAX_QUEUED = 256  # connections accepted and waiting for a worker
IDLE_S = 5.0  # a kept-alive connection with no new request
READ_S = 30.0  # request line + headers, and then the body, each
RECV_S = 10.0  # one socket read
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_CHUNK_LINE = 1024
_TRAILERS = 64
_BUSY = b'{"detail":"The emulator is busy; retry.","error":503,"errorCode":"SERVICE_UNAVAILABLE"}'
BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY), _BUSY))


@dataclass(frozen=True)
class Limits:
    """The bounds a server applies (tests shrink them to see them work without waiting)."""

    max_workers: int = MAX_WORKERS
    max_queued: int = MAX_QUEUED
    idle_s: float = IDLE_S
    read_s: float = READ_S
    recv_s: float = RECV_S


class BodyError(Exception):
    """A request body the server will not read: ``status`` and a message for the envelope."""

    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def read_body(rfile: Any, headers: Any, limit: int) -> bytes:
    """The request body, never more than ``limit`` bytes read; raises :class:`BodyError`."""
    encoding = headers.get("Transfer-Encoding")
    lengths = headers.get_all("Content-Length") or []
    if encoding is not None:
        if encoding.strip().lower() != "chunked":
            raise BodyError(501, "NOT_IMPLEMENTED", f"Transfer-Encoding {encoding!r} is not supported.")
        if lengths:  # both: the classic request-smuggling ambiguity
            raise BodyError(400, "INVALID_CONTENT_LENGTH", "Send Content-Length or chunked encoding, not both.")
        return _read_chunked(rfile, limit)
    if not lengths:
        return b""
    if len(lengths) > 1 or not lengths[0].strip().isdigit():
        raise BodyError(400, "INVALID_CONTENT_LENGTH", "Content-Length must be one non-negative integer.")
    length = int(lengths[0])
    if length > limit:
        raise BodyError(413, "REQUEST_TOO_LARGE", f"Request body of {length} bytes exceeds {limit} bytes.")
    data = rfile.read(length) if length else b""
    if len(data) < length:
        raise BodyError(400, "INCOMPLETE_BODY", f"The body ended after {len(data)} of {length} bytes.")
    return data


def _read_chunked(rfile: Any, limit: int) -> bytes:
    parts, total = [], 0
    while True:
        line = rfile.readline(_CHUNK_LINE + 1)
        size_text = line.split(b";", 1)[0].strip()
        if len(line) > _CHUNK_LINE or not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            raise BodyError(400, "INVALID_CHUNK", "Malformed chunked body.")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > limit:
            raise BodyError(413, "REQUEST_TOO_LARGE", f"Chunked request body exceeds {limit} bytes.")
        chunk = rfile.read(size)
        if len(chunk) < size or rfile.read(2) != b"\r\n":
            raise BodyError(400, "INVALID_CHUNK", "Malformed chunked body.")
        parts.append(chunk)
    for _ in range(_TRAILERS):  # trailer fields, then the empty line
        if rfile.readline(_CHUNK_LINE + 1) in (b"\r\n", b"\n", b""):
            return b"".join(parts)
    raise BodyError(400, "INVALID_CHUNK", "Too many trailer fields.")


def host_problem(headers: Mapping[str, str], port: int, aliases: Iterable[str]) -> str | None:
    """Why this request is not addressed to this server (None when it is)."""
    allowed = {name.lower() for name in (*LOOPBACK_NAMES, *aliases)}
    host = headers.get("Host")
    if host is None or not _names_us(host, port, allowed):
        return f"Host {host!r} does not name this emulator; use http://127.0.0.1:{port}."
    origin = headers.get("Origin")
    if origin is not None and not (origin.startswith("http://") and _names_us(origin[7:].rstrip("/"), port, allowed)):
        return f"Origin {origin!r} may not call this emulator."
    return None


def _names_us(authority: str, port: int, allowed: set[str]) -> bool:
    name, _, given = authority.strip().rpartition(":")
    if not name or "]" in given:  # no port, or a bare IPv6 address
        name, given = authority.strip(), "80"
    name = name.strip("[]").lower()
    if not given.isdigit() or int(given) != port:
        return False
    if name in allowed:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Deadlines:
    """Sockets that must finish what they are reading by a time; a reaper closes late ones."""

    def __init__(self):
        self._due: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._reap, name="sp-emulator-reaper", daemon=True).start()

    def arm(self, sock: socket.socket, seconds: float | None) -> None:
        with self._lock:
            if seconds is None:
                self._due.pop(sock, None)
            else:
                self._due[sock] = time.monotonic() + seconds

    def close(self) -> None:
        self._stop.set()

    def _reap(self) -> None:
        while not self._stop.wait(0.5):
            now = time.monotonic()
            with self._lock:
                late = [s for s, due in self._due.items() if due <= now]
                for sock in late:
                    del self._due[sock]
            for sock in late:
                log.debug("closing a connection that sent too slowly")
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # the worker's blocked read returns at once
                except OSError:
                    pass


class BoundedWorkers:
    """socketserver mix-in: at most ``limits.max_workers`` daemon threads, reused, serve connections
    taken from a queue of ``limits.max_queued``; beyond that a connection is answered 503 and closed."""

    def init_workers(self, limits: Limits) -> None:
        self.limits = limits
        self._queue: queue.Queue = queue.Queue(limits.max_queued)
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._workers_lock = threading.Lock()
        self.deadlines = Deadlines()

    @property
    def worker_count(self) -> int:
        return len(self._workers)

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        with self._workers_lock:
            if self._idle == 0 and len(self._workers) < self.limits.max_workers:
                worker = threading.Thread(target=self._work, name=f"sp-emulator-worker-{len(self._workers)}",
                                          daemon=True)
                self._workers.append(worker)
                worker.start()
        try:
            self._queue.put_nowait((request, client_address))
        except queue.Full:
            _refuse_busy(request)
            self.shutdown_request(request)

    def _work(self) -> None:
        while True:
            with self._workers_lock:
                self._idle += 1
            item = self._queue.get()
            with self._workers_lock:
                self._idle -= 1
            if item is None:
                return
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:  # noqa: BLE001 - routed to handle_error, as socketserver does
                self.handle_error(request, client_address)
            finally:
                self.deadlines.arm(request, None)
                self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            log.debug("client %s went away", client_address)  # a closed tab, a killed client: not news
            return
        log.exception("error serving %s", client_address)

    def close_workers(self) -> None:
        self.deadlines.close()
        for _ in self._workers:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                break


def _refuse_busy(request: socket.socket) -> None:
    try:
        request.settimeout(1.0)
        request.sendall(BUSY_RESPONSE)
    except OSError:
        pass
