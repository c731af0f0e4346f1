"""The emulator's connections: a bounded pool of workers, idle connections parked, deadlines.

The stdlib ``ThreadingHTTPServer`` starts one thread per connection and keeps it for the
connection's life, so idle keep-alive clients and slow senders pile up threads. Here:

- a connection waits for its next request *parked*: one selector thread watches every idle
  connection, and only a connection with bytes to read goes to a worker; parked ones are closed
  after ``idle_s``, and at most ``max_connections`` are open (then 503 at once);
- at most ``max_workers`` daemon threads, reused, serve one request each turn, taken from a queue
  of ``max_queued`` (then 503 at once);
- a request's line and headers, and then its body, must arrive within ``read_s`` each, and each
  socket read within ``recv_s``: a reaper thread shuts the socket of a slow sender (slowloris), so
  its worker's blocked read returns;
- a client that goes away is noted at debug level, never with a traceback.

The handler side of the contract (``serve_one``/``resume``/``keep_alive``/``has_buffered``/
``close``) is in ``server.py``.
"""
from __future__ import annotations

import logging
import queue
import selectors
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("sp_tasks.emulator")
_BUSY = b'{"detail":"The emulator is busy; retry.","error":503,"errorCode":"SERVICE_UNAVAILABLE"}'
BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY), _BUSY))


@dataclass(frozen=True)
class Limits:
    """The bounds a server applies (tests shrink them to see them work without waiting)."""

    max_workers: int = 64
    max_queued: int = 256  # connections with a request waiting for a worker
    max_connections: int = 512  # open at once, parked ones included (file descriptors)
    idle_s: float = 60.0  # a parked connection with no new request
    read_s: float = 30.0  # request line + headers, and then the body, each
    recv_s: float = 10.0  # one socket read


@dataclass
class Connection:
    sock: socket.socket
    address: Any
    handler: Any = None  # created by the first request's worker


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
        self._closing = False
        threading.Thread(target=self._watch_parked, name="sp-emulator-parking", daemon=True).start()

    @property
    def worker_count(self) -> int:
        return len(self._workers)

    @property
    def open_connections(self) -> int:
        return self._open

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        with self._lock:
            full = self._open >= self.limits.max_connections
            self._open += not full
        if full:
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        self._park(Connection(request, client_address))  # its first request gets a worker when it arrives

    # -- parking ------------------------------------------------------------------------------
    def _park(self, conn: Connection) -> None:
        with self._lock:
            self._arriving.append(conn)
        _quietly(self._wake_w.send, b"x")

    def _watch_parked(self) -> None:
        while not self._closing:
            ready = []
            for key, _ in self._selector.select(timeout=0.25):
                if key.fileobj is self._wake_r:
                    _quietly(self._wake_r.recv, 4096)
                else:
                    self._selector.unregister(key.fileobj)
                    ready.append(self._parked.pop(key.fileobj)[0])
            now = time.monotonic()
            with self._lock:
                arriving, self._arriving = self._arriving, []
            for conn in arriving:
                try:
                    self._selector.register(conn.sock, selectors.EVENT_READ)
                except (OSError, ValueError, KeyError):  # closed meanwhile: nothing to wait for
                    self._close(conn)
                    continue
                self._parked[conn.sock] = (conn, now)
            for sock, (conn, since) in list(self._parked.items()):
                if now - since >= self.limits.idle_s:
                    self._selector.unregister(sock)
                    del self._parked[sock]
                    self._close(conn)
            for conn in ready:
                self._submit(conn)
        for conn, _ in self._parked.values():  # the server is closing
            self._close(conn)
        self._selector.close()

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
    except (OSError, queue.Full, ValueError):
        pass
