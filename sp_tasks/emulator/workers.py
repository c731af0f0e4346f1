"""The emulator's connections: a bounded pool of workers, idle connections parked, deadlines.

The stdlib ``ThreadingHTTPServer`` starts one thread per connection and keeps it for the
connection's life, so idle keep-alive clients and slow senders pile up threads. Here:

- a connection waits for its next request *parked*: one selector thread watches every idle
  connection and reads what arrives without blocking, and only a connection whose request line
  and headers are complete goes to a worker, so a slow sender (slowloris) holds no thread. A
  parked connection is closed after ``idle_s`` without a byte, or ``header_s`` after its first
  byte without the end of its headers (or beyond :data:`MAX_HEAD` bytes); at most
  ``max_connections`` are open (then 503 at once);
- at most ``max_workers`` daemon threads, reused, serve one request each turn, taken from a queue
  of ``max_queued`` (then 503 at once);
- a request's body must arrive within ``read_s``, and each socket read within ``recv_s``: a reaper
  thread shuts the socket of a slow sender, so its worker's blocked read returns;
- a client that goes away is noted at debug level, never with a traceback.

The handler side of the contract (``serve_one``/``resume``/``keep_alive``/``has_buffered``/
``close``) is in ``server.py``.
"""
from __future__ import annotations

import io
import logging
import queue
import selectors
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("sp_tasks.emulator")
_BUSY = b'{"detail":"The emulator is busy; retry.","error":503,"errorCode":"SERVICE_UNAVAILABLE"}'
BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY), _BUSY))
HEAD_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
MAX_HEAD = 256 * 1024  # request line + headers; http.server's own limits are 64 KiB a line, 100 lines


@dataclass(frozen=True)
class Limits:
    """The bounds a server applies (tests shrink them to see them work without waiting)."""

    max_workers: int = 64
    max_queued: int = 256  # connections with a request waiting for a worker
    max_connections: int = 512  # open at once, parked ones included (file descriptors)
    idle_s: float = 60.0  # a parked connection with no new request
    header_s: float = 10.0  # from a request's first byte to the end of its headers
    read_s: float = 30.0  # a request's body (the worker's share of the reading)
    recv_s: float = 10.0  # one socket read


@dataclass
class Connection:
    sock: socket.socket
    address: Any
    handler: Any = None  # created by the first request's worker
    pending: bytearray = field(default_factory=bytearray)  # read while parked, not yet by the handler
    first_byte: float | None = None  # when the request now arriving began


class _PendingThenSocket(io.RawIOBase):
    """The raw stream a handler reads: what the parking thread already read, then the socket."""

    def __init__(self, conn: Connection):
        self._conn = conn

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        pending = self._conn.pending
        if pending:
            size = min(len(buffer), len(pending))
            buffer[:size] = pending[:size]
            del pending[:size]
            return size
        try:
            return self._conn.sock.recv_into(buffer)
        except BlockingIOError:  # a look without waiting (has_buffered)
            return None


class Deadlines:
    """Sockets that must finish what they are reading by a time; a reaper shuts late ones."""

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
        while not self._stop.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [s for s, due in self._due.items() if due <= now]
                for sock in late:
                    del self._due[sock]
            for sock in late:
                log.debug("closing a connection that sent too slowly")
                _quietly(sock.shutdown, socket.SHUT_RDWR)


class BoundedWorkers:
    """socketserver mix-in replacing ``process_request``: see the module docstring."""

    def init_workers(self, limits: Limits) -> None:
        self.limits = limits
        self.deadlines = Deadlines()
        self._queue: queue.Queue = queue.Queue(limits.max_queued)
        self._workers: list[threading.Thread] = []
        self._idle_workers = 0
        self._lock = threading.Lock()
        self._open = 0
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._arriving: list[Connection] = []
        self._parked: dict[socket.socket, tuple[Connection, float]] = {}
        self._connections: dict[socket.socket, Connection] = {}
        self._closing = False
        threading.Thread(target=self._watch_parked, name="sp-emulator-parking", daemon=True).start()

    @property
    def worker_count(self) -> int:
        return len(self._workers)

    @property
    def open_connections(self) -> int:
        return self._open

    def reader_for(self, sock: socket.socket) -> io.BufferedReader:
        """The handler's ``rfile``: bytes read while parked come first."""
        return io.BufferedReader(_PendingThenSocket(self._connections[sock]))

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        with self._lock:
            full = self._open >= self.limits.max_connections
            self._open += not full
        if full:
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        conn = Connection(request, client_address)
        self._connections[request] = conn
        self._park(conn)  # its first request gets a worker once its headers are in

    # -- parking ------------------------------------------------------------------------------
    def _park(self, conn: Connection) -> None:
        conn.first_byte = time.monotonic() if conn.pending else None
        with self._lock:
            self._arriving.append(conn)
        _quietly(self._wake_w.send, b"x")

    def _watch_parked(self) -> None:
        while not self._closing:
            ready, gone = [], []
            for key, _ in self._selector.select(timeout=0.25):
                if key.fileobj is self._wake_r:
                    _quietly(self._wake_r.recv, 4096)
                    continue
                conn = self._parked[key.fileobj][0]
                outcome = self._receive(conn)
                if outcome != "wait":
                    self._unpark(conn.sock)
                    (ready if outcome == "ready" else gone).append(conn)
            now = time.monotonic()
            with self._lock:
                arriving, self._arriving = self._arriving, []
            for conn in arriving:
                try:
                    self._selector.register(conn.sock, selectors.EVENT_READ)
                except (OSError, ValueError, KeyError):  # closed meanwhile: nothing to wait for
                    gone.append(conn)
                    continue
                self._parked[conn.sock] = (conn, now)
            for sock, (conn, since) in list(self._parked.items()):
                waited = now - (since if conn.first_byte is None else conn.first_byte)
                if waited >= (self.limits.idle_s if conn.first_byte is None else self.limits.header_s):
                    self._unpark(sock)
                    gone.append(conn)
            for conn in gone:
                self._close(conn)
            for conn in ready:
                self._submit(conn)
        for sock, (conn, _) in list(self._parked.items()):  # the server is closing
            self._unpark(sock)
            self._close(conn)
        self._selector.close()

    def _receive(self, conn: Connection) -> str:
        """Read what a parked connection sent, without waiting: "ready" once its headers are in,
        "gone" when the client closed or sent too much, else "wait"."""
        try:
            data = conn.sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return "wait"
        except OSError:
            data = b""
        if not data:
            return "gone"
        if conn.first_byte is None:
            conn.first_byte = time.monotonic()
        conn.pending += data
        if len(conn.pending) > MAX_HEAD and b"\r\n\r\n" not in conn.pending[:MAX_HEAD]:
            _quietly(conn.sock.sendall, HEAD_TOO_LARGE)
            return "gone"
        return "ready" if b"\r\n\r\n" in conn.pending or b"\n\n" in conn.pending else "wait"

    def _unpark(self, sock: socket.socket) -> None:
        _quietly(self._selector.unregister, sock)
        self._parked.pop(sock, None)

    # -- workers ------------------------------------------------------------------------------
    def _submit(self, conn: Connection) -> None:
        with self._lock:
            if self._idle_workers == 0 and len(self._workers) < self.limits.max_workers:
                worker = threading.Thread(target=self._work, name=f"sp-emulator-worker-{len(self._workers)}",
                                          daemon=True)
                self._workers.append(worker)
                worker.start()
        try:
            self._queue.put_nowait(conn)
        except queue.Full:
            _refuse_busy(conn.sock)
            self._close(conn)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle_workers += 1
            conn = self._queue.get()
            with self._lock:
                self._idle_workers -= 1
            if conn is None:
                return
            self._serve(conn)

    def _serve(self, conn: Connection) -> None:
        try:
            if conn.handler is None:
                conn.handler = self.RequestHandlerClass(conn.sock, conn.address, self)  # serves one request
            else:
                conn.handler.resume()
        except Exception:  # noqa: BLE001 - routed to handle_error, as socketserver does
            self.handle_error(conn.sock, conn.address)
        finally:
            self.deadlines.arm(conn.sock, None)
        if conn.handler is None or not conn.handler.keep_alive or self._closing:
            self._close(conn)
        elif conn.handler.has_buffered():  # a pipelined request already read: no need to wait
            self._submit(conn)
        else:
            self._park(conn)

    def _close(self, conn: Connection) -> None:
        if conn.handler is not None:
            _quietly(conn.handler.close)
        self.shutdown_request(conn.sock)
        with self._lock:
            if self._connections.pop(conn.sock, None) is not None:
                self._open -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            log.debug("client %s went away", client_address)  # a closed tab, a killed client: not news
            return
        log.exception("error serving %s", client_address)

    def close_workers(self) -> None:
        self._closing = True
        self.deadlines.close()
        _quietly(self._wake_w.send, b"x")
        for _ in self._workers:
            _quietly(self._queue.put_nowait, None)


def _refuse_busy(sock: socket.socket) -> None:
    _quietly(sock.settimeout, 1.0)
    _quietly(sock.sendall, BUSY_RESPONSE)


def _quietly(call, *args: Any) -> None:
    try:
        call(*args)
    except (OSError, queue.Full, ValueError, KeyError):
        pass
