"""Hostile HTTP against the emulator: bodies that never end, wrong hosts, slow or idle senders, many
connections, clients that go away. Each case gets a bounded answer and the server keeps serving.

A dedicated server with small limits (two workers, sub-second deadlines) shows every bound at work
without waiting for the production values.
"""
from __future__ import annotations

import logging
import socket
import struct

import pytest
import requests

from polling import wait_for
from sp_tasks.atlas import paths
from sp_tasks.emulator.backend import Backend
from sp_tasks.emulator.faults import parse_rules
from sp_tasks.emulator.workers import Limits
from sp_tasks.emulator.server import EmulatorServer

GROUP = "0123456789abcdef01234567"
LIMITS = Limits(max_workers=2, max_queued=2, max_connections=8, idle_s=0.5, header_s=1.0, read_s=1.0, recv_s=1.0)


@pytest.fixture
def server():
    srv = EmulatorServer(Backend(None, run_processors=False), limits=LIMITS).start()
    yield srv
    srv.stop()


def _connect(server, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(server.server_address[:2], timeout=timeout)


def _status(sock: socket.socket) -> int:
    """The status code of the next response on ``sock`` (0 when the server closed instead, -1 when
    nothing came within the socket's timeout)."""
    data = b""
    while b"\r\n" not in data:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return -1
        if not chunk:
            return 0
        data += chunk
    return int(data.split(b" ", 2)[1])


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True


def _head(server, method: str, path: str, *headers: str) -> bytes:
    host = f"127.0.0.1:{server.server_address[1]}"
    return "\r\n".join([f"{method} {path} HTTP/1.1", f"Host: {host}", *headers, "", ""]).encode()


def test_a_negative_content_length_is_refused_without_reading_the_body(server):
    sock = _connect(server)
    sock.sendall(_head(server, "POST", f"/api/atlas/v2/groups/{GROUP}/streams", "Content-Length: -1"))
    sock.sendall(b"x" * 65536)  # and keep the connection open: the old server read until EOF
    assert _status(sock) == 400 and _closed_by_server(sock)


@pytest.mark.parametrize("headers, status", [
    (("Content-Length: 5", "Content-Length: 5"), 400),
    (("Content-Length: 1e3",), 400),
    (("Content-Length: 17000000",), 413),
    (("Transfer-Encoding: chunked", "Content-Length: 5"), 400),
    (("Transfer-Encoding: gzip",), 501),
])
def test_ambiguous_or_oversized_bodies_are_refused_before_reading(server, headers, status):
    sock = _connect(server)
    sock.sendall(_head(server, "POST", "/_emulator/faults", "X-SP-Emulator: 1", "Content-Type: application/json",
                       *headers))
    assert _status(sock) == status and _closed_by_server(sock)


def test_chunked_bodies_are_decoded_within_the_limit(server):
    sock = _connect(server)
    body = b'[{"path": "chunked", "status": 500}]'
    sock.sendall(_head(server, "POST", "/_emulator/faults", "X-SP-Emulator: 1", "Content-Type: application/json",
                       "Transfer-Encoding: chunked")
                 + b"%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:]))
    assert _status(sock) == 200
    assert [r["path"] for r in server.backend.faults.describe()] == ["chunked"]
    huge = _connect(server)
    huge.sendall(_head(server, "POST", "/_emulator/faults", "X-SP-Emulator: 1", "Content-Type: application/json",
                       "Transfer-Encoding: chunked") + b"1000001\r\n" + b"x" * 1000)  # 16 MiB + 1 announced
    assert _status(huge) == 413 and _closed_by_server(huge)


@pytest.mark.parametrize("path", ["/_emulator/documents?group=x&cluster=c&db=d&coll=c", "/_emulator/health",
                                  f"/api/atlas/v2/groups/{GROUP}/streams", paths.OAUTH_TOKEN_PATH])
def test_every_route_refuses_a_host_or_origin_that_is_not_this_server(server, path):
    port = server.server_address[1]
    url = f"{server.url}{path}"
    for headers in ({"Host": f"evil.example:{port}"}, {"Host": "127.0.0.1"}, {"Host": f"127.0.0.1:{port + 1}"},
                    {"Origin": f"http://evil.example:{port}"}, {"Origin": "null"}):
        resp = requests.get(url, headers=headers, timeout=5)
        assert resp.status_code == 403 and resp.json()["errorCode"] == "INVALID_HOST", headers
    for headers in ({}, {"Host": f"localhost:{port}"}, {"Host": f"[::1]:{port}"},
                    {"Origin": f"http://localhost:{port}"}):
        assert requests.get(url, headers=headers, timeout=5).status_code != 403, headers


def test_configured_aliases_are_accepted(server):
    other = EmulatorServer(Backend(None, run_processors=False), aliases=("emulator.internal",)).start()
    try:
        port = other.server_address[1]
        ok = requests.get(f"{other.url}/_emulator/health", headers={"Host": f"emulator.internal:{port}"}, timeout=5)
        assert ok.status_code == 200
    finally:
        other.stop()


def test_a_request_without_a_host_header_is_refused(server):
    sock = _connect(server)
    sock.sendall(b"GET /_emulator/health HTTP/1.0\r\n\r\n")
    assert _status(sock) == 403


def test_a_slow_sender_is_disconnected_and_an_idle_one_too(server):
    slow = _connect(server)
    slow.sendall(b"GET /_emulator/health HTTP/1.1\r\n")
    closed = False
    for i in range(100):  # one header line every 0.1 s: never finishes by itself
        try:
            slow.sendall(b"X-Slow-%d: 1\r\n" % i)
        except OSError:
            closed = True
            break
        slow.settimeout(0.1)
        try:
            if slow.recv(1) == b"":
                closed = True
                break
        except socket.timeout:
            pass
    assert closed
    idle = _connect(server)
    assert _closed_by_server(idle)  # sent nothing: closed after the idle time, not kept forever


def test_slow_senders_hold_no_worker_while_their_headers_trickle_in():
    limits = Limits(max_workers=2, max_queued=2, max_connections=20, header_s=60, read_s=60)
    srv = EmulatorServer(Backend(None, run_processors=False), limits=limits).start()
    try:
        slow = [_connect(srv) for _ in range(8)]
        for sock in slow:
            sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nX-Slow: 1\r\n")  # and never the blank line
        wait_for(lambda: srv.open_connections == 8)
        for _ in range(5):  # both workers are free: the slow ones wait parked for 60 s
            assert requests.get(f"{srv.url}/_emulator/health", timeout=5).status_code == 200
        for sock in slow:
            sock.close()
    finally:
        srv.stop()


def test_idle_connections_hold_no_worker_and_beyond_the_bounds_a_quick_503():
    limits = Limits(max_workers=2, max_queued=2, max_connections=12, idle_s=30, read_s=5, recv_s=5)
    srv = EmulatorServer(Backend(None, run_processors=False), limits=limits).start()
    try:
        idle = [_connect(srv) for _ in range(10)]  # kept-alive clients that say nothing
        wait_for(lambda: srv.open_connections == 10)
        with requests.Session() as session:
            assert session.get(f"{srv.url}/_emulator/health", timeout=5).status_code == 200  # not stuck behind them
        wait_for(lambda: srv.open_connections == 10)  # the session's own connection is closed and counted out
        before = srv.open_connections
        extra = [_connect(srv) for _ in range(4)]  # 10 + these: the 11th and 12th fit, the last two are beyond 12
        statuses = [_status(sock) for sock in extra[2:]]
        assert statuses == [503, 503], (before, srv.open_connections, statuses)
        for sock in idle + extra:
            sock.close()
        wait_for(lambda: srv.open_connections == 0)
        for _ in range(30):  # threads are reused, not one per connection
            assert requests.get(f"{srv.url}/_emulator/health", timeout=5).status_code == 200
        assert srv.worker_count <= 2
    finally:
        srv.stop()


def test_requests_beyond_the_workers_and_their_queue_get_a_quick_503(server):
    server.backend.faults.add(parse_rules({"path": "/streams$", "delay_ms": 2000}))  # hold both workers
    token = requests.post(server.url + paths.OAUTH_TOKEN_PATH, auth=("local", "local"),
                          data={"grant_type": "client_credentials"}, timeout=5).json()["access_token"]
    socks = [_connect(server) for _ in range(7)]
    for sock in socks:
        sock.sendall(_head(server, "GET", f"/api/atlas/v2/groups/{GROUP}/streams", f"Authorization: Bearer {token}",
                           f"Accept: {paths.endpoint('listStreamWorkspaces').accept}"))
    # 2 served (slowly), 2 queued, the rest refused at once (the token's connection may still hold a place)
    statuses = sorted(_status(sock) for sock in socks)
    assert set(statuses) == {200, 503} and statuses.count(503) >= 3, statuses
    assert server.worker_count <= 2


def test_a_client_that_goes_away_is_noted_quietly(server, caplog):
    token = requests.post(server.url + paths.OAUTH_TOKEN_PATH, auth=("local", "local"),
                          data={"grant_type": "client_credentials"}, timeout=5).json()["access_token"]
    with caplog.at_level(logging.DEBUG, logger="sp_tasks.emulator"):
        for _ in range(3):  # ask, hang up (RST) while the answer is delayed: the answer meets a dead socket
            server.backend.faults.add(parse_rules({"path": "/streams$", "delay_ms": 500, "count": 1}))
            sock = _connect(server)
            sock.sendall(_head(server, "GET", f"/api/atlas/v2/groups/{GROUP}/streams", f"Authorization: Bearer {token}",
                               f"Accept: {paths.endpoint('listStreamWorkspaces').accept}"))
            wait_for(lambda: not server.backend.faults.describe())  # read and inside its delay: hang up now
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        sock = _connect(server)
        sock.sendall(_head(server, "POST", "/_emulator/faults", "X-SP-Emulator: 1", "Content-Type: application/json",
                           "Content-Length: 100") + b"[")
        sock.close()  # the body ends early
        wait_for(lambda: sum("went away" in r.getMessage() for r in caplog.records) >= 3, timeout=15)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "Traceback" not in caplog.text
    wait_for(lambda: requests.get(f"{server.url}/_emulator/health", timeout=5).status_code == 200)  # 2 workers
