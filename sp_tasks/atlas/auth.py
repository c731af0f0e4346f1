"""Request authentication for the Admin API: HTTP Digest (API keys) or OAuth bearer (service account).

``ServiceAccountAuth`` implements client credentials (reference §1.5): it mints a token at
``/api/oauth/token`` with HTTP Basic, caches it, refreshes it ``REFRESH_MARGIN`` seconds before
it expires, and refreshes once more when the API answers 401. Neither class ever puts the secret
in a repr, an exception or a log line.
"""
from __future__ import annotations

import base64
import threading
import time
from typing import Callable

import requests
from requests.auth import AuthBase, HTTPDigestAuth

from sp_tasks import redaction
from sp_tasks.atlas.paths import OAUTH_TOKEN_PATH
from sp_tasks.errors import AtlasAuthError, AtlasUnavailable

REFRESH_MARGIN = 60.0  # seconds before expiry at which a cached token is replaced


class ApiKeyAuth(HTTPDigestAuth):
    """HTTP Digest with an Atlas API key pair (public key = user, private key = password)."""

    def __repr__(self) -> str:
        return f"ApiKeyAuth(public_key={self.username!r})"


class ServiceAccountAuth(AuthBase):
    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 timeout: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.token_url = base_url.rstrip("/") + OAUTH_TOKEN_PATH
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

    def _mint(self) -> tuple[str, float]:
        # Reference §1.5: base64 of the raw id:secret (no URL-encoding first).
        basic = base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode()
        try:
            resp = requests.post(self.token_url, data={"grant_type": "client_credentials"}, timeout=self._timeout,
                                 headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})
        except requests.RequestException as exc:
            raise AtlasUnavailable(f"cannot reach {self.token_url} to get an OAuth token: "
                                   f"{type(exc).__name__}") from None
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
        redaction.remember(token, basic)  # a token is a credential: scrubbed from every message
        return token, lifetime

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
