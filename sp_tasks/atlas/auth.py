"""Request authentication for the Admin API: HTTP Digest (API keys) or OAuth bearer (service account).

``ApiKeyAuth`` is RFC 7616 Digest with one challenge shared by every thread of a client: the
first 401 teaches all workers the nonce, and each request then carries its own nonce count, so a
parallel deploy costs one handshake instead of one per worker thread (``requests``'
``HTTPDigestAuth`` keeps its state per thread). A stale or refused nonce gets one fresh handshake.
``ServiceAccountAuth`` implements client credentials (reference §1.5): it mints a token at
``/api/oauth/token`` with HTTP Basic, caches it, refreshes it ``REFRESH_MARGIN`` seconds before
it expires and once more when the API answers 401, and revokes it at ``/api/oauth/revoke`` when
the client closes. Neither class ever puts the secret in a repr, an exception or a log line.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
import time
from typing import Callable
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from sp_tasks import redaction
from sp_tasks.atlas.paths import OAUTH_REVOKE_PATH, OAUTH_TOKEN_PATH
from sp_tasks.errors import AtlasAuthError, AtlasUnavailable

REFRESH_MARGIN = 60.0  # seconds before expiry at which a cached token is replaced
TOKEN_TIMEOUT = (2.0, 30.0)  # (connect, read) for the token endpoint
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')
_HASHES = {"MD5": hashlib.md5, "MD5-SESS": hashlib.md5, "SHA": hashlib.sha1, "SHA-256": hashlib.sha256,
           "SHA-256-SESS": hashlib.sha256, "SHA-512": hashlib.sha512, "SHA-512-SESS": hashlib.sha512}


class ApiKeyAuth(AuthBase):
    """HTTP Digest with an Atlas API key pair (public key = user, private key = password)."""

    def __init__(self, username: str, password: str):
        self.username = username
        self._password = password
        self._lock = threading.Lock()
        self._challenge: dict[str, str] | None = None
        self._count = 0  # nonce count of the current challenge
        self.challenges = 0  # 401 handshakes done (benchmarks count them)

    def __repr__(self) -> str:
        return f"ApiKeyAuth(public_key={self.username!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        header = self._header(request.method, request.url)
        if header:
            request.headers["Authorization"] = header
        request.register_hook("response", self._on_response)
        return request

    def _header(self, method: str, url: str) -> str | None:
        with self._lock:
            if self._challenge is None:
                return None
            self._count += 1
            return _digest_header(self._challenge, self.username, self._password, method, url, self._count)

    def _on_response(self, response: requests.Response, **kwargs) -> requests.Response:
        offered = response.headers.get("www-authenticate", "")
        if response.status_code != 401 or not offered.lower().startswith("digest") \
                or getattr(response.request, "_sp_digest", False):
            return response
        with self._lock:
            self._challenge = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                               for m in _PARAM.finditer(offered[len("digest"):])}
            self._count = 0
            self.challenges += 1
        response.content  # drain, so the connection can be reused
        response.close()
        retry = response.request.copy()
        retry._sp_digest = True  # one handshake per request: a second 401 is a real refusal
        retry.headers["Authorization"] = self._header(retry.method, retry.url)
        new = response.connection.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new


def _digest_header(chal: dict[str, str], user: str, password: str, method: str, url: str, count: int) -> str:
    algorithm = (chal.get("algorithm") or "MD5").upper()
    hash_fn = _HASHES.get(algorithm, hashlib.md5)

    def h(text: str) -> str:
        return hash_fn(text.encode()).hexdigest()

    parts = urlsplit(url)
    uri = parts.path + (f"?{parts.query}" if parts.query else "")
    realm, nonce = chal.get("realm", ""), chal.get("nonce", "")
    cnonce = os.urandom(8).hex()
    ha1 = h(f"{user}:{realm}:{password}")
    if algorithm.endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    nc = f"{count:08x}"
    qop = "auth" if "auth" in (chal.get("qop") or "").split(",") else None
    response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}") if qop else h(f"{ha1}:{nonce}:{ha2}")
    header = (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
              f'response="{response}", algorithm="{algorithm}"')
    if chal.get("opaque"):
        header += f', opaque="{chal["opaque"]}"'
    if qop:
        header += f', qop="auth", nc={nc}, cnonce="{cnonce}"'
    return header


class ServiceAccountAuth(AuthBase):
    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 timeout: tuple[float, float] = TOKEN_TIMEOUT, clock: Callable[[], float] = time.monotonic):
        self.token_url = base_url.rstrip("/") + OAUTH_TOKEN_PATH
        self.revoke_url = base_url.rstrip("/") + OAUTH_REVOKE_PATH
        self.client_id = client_id
        self._secret = client_secret
        self._timeout = timeout
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_minted = 0

    def __repr__(self) -> str:
        return f"ServiceAccountAuth(client_id={self.client_id!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._current_token()}"
        request.register_hook("response", self._refresh_on_401)
        return request

    def _current_token(self, force: bool = False) -> str:
        with self._lock:
            if force or self._token is None or self._clock() >= self._expires_at - REFRESH_MARGIN:
                self._token, lifetime = self._mint()
                self._expires_at = self._clock() + lifetime
            return self._token

    def _basic(self) -> str:
        # Reference §1.5: base64 of the raw id:secret (no URL-encoding first).
        return "Basic " + base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode()

    def _mint(self) -> tuple[str, float]:
        resp = self._post(self.token_url, {"grant_type": "client_credentials"})
        if resp.status_code != 200:
            raise AtlasAuthError(resp.status_code, "OAUTH_TOKEN_REFUSED",
                                 f"the service account {self.client_id} was refused a token; check "
                                 "MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET",
                                 method="POST", path=OAUTH_TOKEN_PATH)
        try:
            body = resp.json()
            token, lifetime = body["access_token"], float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise AtlasUnavailable(f"{self.token_url} answered without an access token; is the base URL right?") from None
        self.tokens_minted += 1
        redaction.remember(token, self._basic().split(" ", 1)[1])  # a token is a credential: scrubbed everywhere
        return token, lifetime

    def _post(self, url: str, form: dict[str, str]) -> requests.Response:
        """One POST to the token endpoint; a connection that never opened is tried once more."""
        for attempt in (1, 2):
            try:
                return requests.post(url, data=form, timeout=self._timeout,
                                     headers={"Authorization": self._basic(), "Accept": "application/json"})
            except requests.RequestException as exc:
                never_sent = isinstance(exc, requests.ConnectTimeout) or "NewConnectionError" in repr(exc)
                if attempt == 2 or not never_sent:
                    raise AtlasUnavailable(f"cannot reach {url} to get an OAuth token: {type(exc).__name__}") from None
        raise AssertionError("unreachable")

    def revoke(self) -> None:
        """Revoke the cached token (RFC 7009); best effort: a token that stays valid expires by itself."""
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return
        try:
            requests.post(self.revoke_url, data={"token": token, "token_type_hint": "access_token"},
                          headers={"Authorization": self._basic()}, timeout=(2.0, 5.0))
        except requests.RequestException:
            pass

    def _refresh_on_401(self, response: requests.Response, **kwargs) -> requests.Response:
        if response.status_code != 401 or getattr(response.request, "_sp_retried", False):
            return response
        retry = response.request.copy()
        retry._sp_retried = True  # one refresh per request: a second 401 is a real refusal
        retry.headers["Authorization"] = f"Bearer {self._current_token(force=True)}"
        response.content  # drain, so the connection can be reused
        response.close()
        new = response.connection.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new
