"""Who may use the admin routes: GETs are open, changes need the key pair or the admin headers.

A page in the developer's browser can send a "simple" cross-origin request (no-cors ``fetch``:
GET/POST, no custom header, a text/plain or form body) but nothing else without a CORS preflight,
which the emulator never grants. So the admin headers are exactly what a page cannot send.
"""
import pytest
import requests
from requests.auth import HTTPDigestAuth

from sp_tasks.atlas import paths

ADMIN_HEADERS = {"X-SP-Emulator": "1", "Content-Type": "application/json"}


def _workspaces(api) -> list[str]:
    return [w["name"] for w in api.ok("listStreamWorkspaces")["results"]]


@pytest.mark.parametrize("headers", [
    {},  # fetch(url, {method: "POST", mode: "no-cors"})
    {"Content-Type": "text/plain;charset=UTF-8"},  # ... with a body
    {"Content-Type": "application/x-www-form-urlencoded"},  # an HTML form
    {"X-SP-Emulator": "1"},  # the header alone
    {"Content-Type": "application/json"},  # the content type alone
])
def test_a_request_a_web_page_could_send_cannot_reset_the_emulator(api, headers):
    api.ok("createStreamWorkspace", {"name": "kept"})
    resp = requests.post(f"{api.emulator.url}/_emulator/reset", headers=headers, data=b"{}", timeout=5)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Digest ")
    assert "X-SP-Emulator" in resp.json()["detail"]
    assert _workspaces(api) == ["kept"]


@pytest.mark.parametrize("method, name, body", [
    ("POST", "faults", [{"path": "x", "status": 500}]),
    ("DELETE", "faults", None),
    ("DELETE", "requests", None),
    ("POST", "config", {"sample_rate": 1}),
])
def test_every_admin_change_is_refused_without_the_headers(emulator, method, name, body):
    resp = requests.request(method, f"{emulator.url}/_emulator/{name}", json=body, timeout=5)
    assert resp.status_code == 401
    assert requests.request(method, f"{emulator.url}/_emulator/{name}", json=body, headers=ADMIN_HEADERS,
                            timeout=5).status_code < 300


def test_the_key_pair_opens_the_admin_routes_as_it_opens_the_api(api):
    api.ok("createStreamWorkspace", {"name": "gone"})
    digest = requests.post(f"{api.emulator.url}/_emulator/reset", auth=HTTPDigestAuth("local", "local"), timeout=5)
    assert digest.status_code == 204 and _workspaces(api) == []
    token = requests.post(api.emulator.url + paths.OAUTH_TOKEN_PATH, auth=("local", "local"),
                          data={"grant_type": "client_credentials"}, timeout=5).json()["access_token"]
    bearer = requests.post(f"{api.emulator.url}/_emulator/faults", json=[{"path": "x", "delay_ms": 1}],
                           headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert bearer.status_code == 200
    wrong = requests.post(f"{api.emulator.url}/_emulator/reset", auth=HTTPDigestAuth("local", "nope"), timeout=5)
    assert wrong.status_code == 401


def test_reads_stay_open_and_no_preflight_is_granted(emulator):
    for name in ("health", "faults", "requests", "documents"):
        assert requests.get(f"{emulator.url}/_emulator/{name}", timeout=5).status_code == 200
    preflight = requests.options(f"{emulator.url}/_emulator/reset", timeout=5, headers={
        "Origin": "https://example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-sp-emulator,content-type"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
