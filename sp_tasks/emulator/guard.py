"""The emulator's defences for what a request carries: bounded bodies and known hosts.

The emulator listens on a developer's machine, so any web page the developer opens, and any
program on the machine, can send it requests. Whatever they send, its cost stays bounded
(connections, workers and deadlines are ``workers.py``):

- bodies: ``Content-Length`` must be one non-negative integer up to the limit; a chunked body is
  decoded with the same limit; anything else is refused before it is read (400/413/501) and the
  connection closed, since the stream position is then unknown;
- hosts: every route (API, admin, OAuth) answers only requests whose ``Host`` names this server
  (a loopback name, the bound address or a configured alias, with its port) and whose ``Origin``,
  when a browser sends one, is such a host: a DNS-rebinding page (``Host: evil.example``) cannot
  read ``/_emulator/documents`` or drive the API.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Mapping

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_CHUNK_LINE = 1024
_TRAILERS = 64


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
