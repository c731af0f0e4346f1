"""Authentication as Atlas does it: HTTP Digest with an API key pair, or an OAuth bearer token.

The emulator has one key pair, from ``SP_EMULATOR_PUBLIC_KEY`` / ``SP_EMULATOR_PRIVATE_KEY``
(default ``local`` / ``local``). The same pair is the service account's client id / secret for
``POST /api/oauth/token`` (client credentials, reference §1.5) and ``POST /api/oauth/revoke``
(RFC 7009: the client authenticates with Basic and names the ``token`` to revoke). Digest nonces are stateless
(timestamp + HMAC) and accepted for ``NONCE_TTL`` seconds, because ``requests`` reuses a nonce
for later requests.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

REALM = "MMS Public API"
NONCE_TTL = 300.0
TOKEN_TTL = 3600
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')
_HASHES: dict[str, Callable[[bytes], "hashlib._Hash"]] = {
    "MD5": hashlib.md5, "SHA-256": hashlib.sha256, "SHA": hashlib.sha1}


@dataclass
class KeyPair:
    public: str
    private: str = field(repr=False)

    @classmethod
    def from_environment(cls) -> "KeyPair":
        return cls(os.environ.get("SP_EMULATOR_PUBLIC_KEY", "local"),
                   os.environ.get("SP_EMULATOR_PRIVATE_KEY", "local"))


class Authenticator:
    def __init__(self, keys: KeyPair, clock: Callable[[], float] = time.time):
        self.keys = keys
        self.clock = clock
        self.token_ttl = TOKEN_TTL
        self._secret = secrets.token_bytes(16)
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- challenges -------------------------------------------------------------------------
    def challenge(self, stale: bool = False) -> str:
        stamp = f"{self.clock():.3f}"
        mac = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:16]
        nonce = base64.b64encode(f"{stamp}:{mac}".encode()).decode()
        header = f'Digest realm="{REALM}", domain="", nonce="{nonce}", algorithm=MD5, qop="auth"'
        return header + (", stale=true" if stale else "")

    # -- verification -----------------------------------------------------------------------
    def check(self, method: str, uri: str, authorization: str | None) -> tuple[bool, bool]:
        """(authenticated, stale_nonce) for one request's Authorization header."""
        if not authorization:
            return False, False
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return self._check_bearer(rest.strip()), False
        if scheme.lower() == "digest":
            return self._check_digest(method, uri, rest)
        return False, False

    def _check_bearer(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and expiry > self.clock()

    def _check_digest(self, method: str, uri: str, header: str) -> tuple[bool, bool]:
        params = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(header)}
        if params.get("username") != self.keys.public or params.get("uri") != uri:
            return False, False
        nonce = params.get("nonce", "")
        fresh = self._nonce_age(nonce)
        if fresh is None:
            return False, False
        hash_fn = _HASHES.get((params.get("algorithm") or "MD5").upper())
        if hash_fn is None:
            return False, False

        def h(text: str) -> str:
            return hash_fn(text.encode()).hexdigest()

        ha1 = h(f"{self.keys.public}:{params.get('realm', '')}:{self.keys.private}")
        ha2 = h(f"{method}:{uri}")
        if params.get("qop"):
            expected = h(f"{ha1}:{nonce}:{params.get('nc', '')}:{params.get('cnonce', '')}:{params['qop']}:{ha2}")
        else:
            expected = h(f"{ha1}:{nonce}:{ha2}")
        if not hmac.compare_digest(expected, params.get("response", "")):
            return False, False
        if fresh > NONCE_TTL:
            return False, True
        return True, False

    def _nonce_age(self, nonce: str) -> float | None:
        try:
            stamp, mac = base64.b64decode(nonce.encode()).decode().split(":")
        except (ValueError, UnicodeDecodeError):
            return None
        good = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:16]
        if not hmac.compare_digest(good, mac):
            return None
        return self.clock() - float(stamp)

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- OAuth client credentials -----------------------------------------------------------
    def _client_authenticated(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return scheme.lower() == "basic" and hmac.compare_digest(
            f"{client_id}:{client_secret}", f"{self.keys.public}:{self.keys.private}")

    def issue_token(self, authorization: str | None, form: dict[str, str]) -> tuple[int, dict]:
        """Answer ``POST /api/oauth/token``: (status, JSON body)."""
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if not self._client_authenticated(authorization):
            return 401, {"error": "invalid_client"}
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            self._tokens[token] = now + self.token_ttl
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}

    def revoke(self, authorization: str | None, form: dict[str, str]) -> tuple[int, dict | None]:
        """Answer ``POST /api/oauth/revoke``: 200 whether or not the token was known (RFC 7009 §2.2)."""
        if not self._client_authenticated(authorization):
            return 401, {"error": "invalid_client"}
        if not form.get("token"):
            return 400, {"error": "invalid_request"}
        with self._lock:
            self._tokens.pop(form["token"], None)
        return 200, None
