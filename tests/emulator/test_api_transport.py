"""Transport rules over real HTTP: auth (Digest, OAuth bearer), versioned Accept, bad requests."""
import requests
from requests.auth import HTTPDigestAuth

from sp_tasks.atlas import paths

GID = "0123456789abcdef01234567"


def _url(emulator, name="listStreamWorkspaces", **params):
    return emulator.url + paths.endpoint(name).path(group_id=GID, **params)


def test_no_or_wrong_credentials_get_401_with_a_digest_challenge(emulator):
    accept = {"Accept": paths.endpoint("listStreamWorkspaces").accept}
    bare = requests.get(_url(emulator), headers=accept, timeout=5)
    assert bare.status_code == 401 and bare.headers["WWW-Authenticate"].startswith("Digest ")
    wrong = requests.get(_url(emulator), headers=accept, auth=HTTPDigestAuth("local", "nope"), timeout=5)
    assert wrong.status_code == 401
    right = requests.get(_url(emulator), headers=accept, auth=HTTPDigestAuth("local", "local"), timeout=5)
    assert right.status_code == 200


def test_oauth_client_credentials_token_is_accepted_as_bearer(emulator):
    token_url = emulator.url + paths.OAUTH_TOKEN_PATH
    bad = requests.post(token_url, auth=("local", "wrong"), data={"grant_type": "client_credentials"}, timeout=5)
    assert bad.status_code == 401
    resp = requests.post(token_url, auth=("local", "local"), data={"grant_type": "client_credentials"}, timeout=5)
    token = resp.json()
    assert resp.status_code == 200 and token["token_type"] == "Bearer" and token["expires_in"] == 3600
    headers = {"Accept": paths.endpoint("listStreamWorkspaces").accept,
               "Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(_url(emulator), headers=headers, timeout=5).status_code == 200
    headers["Authorization"] = "Bearer not-a-token"
    assert requests.get(_url(emulator), headers=headers, timeout=5).status_code == 401


def test_expired_token_is_refused(emulator):
    emulator.admin("POST", "config", {"token_ttl": 0})
    token = requests.post(emulator.url + paths.OAUTH_TOKEN_PATH, auth=("local", "local"),
                          data={"grant_type": "client_credentials"}, timeout=5).json()["access_token"]
    emulator.admin("POST", "config", {"token_ttl": 3600})
    headers = {"Accept": paths.endpoint("listStreamWorkspaces").accept, "Authorization": f"Bearer {token}"}
    assert requests.get(_url(emulator), headers=headers, timeout=5).status_code == 401


def test_accept_is_negotiated_by_date_as_atlas_does(api):
    """Recorded: Atlas serves the newest version at or before the asked date and names it in
    Content-Type; no dated version, or a date before the resource's first one, is 406."""
    auth = HTTPDigestAuth("local", "local")
    for accept in (None, "application/json", "*/*", "application/vnd.atlas.2023-01-01+json",
                   "application/vnd.atlas.2024-05-30+gzip"):
        headers = {"Accept": accept} if accept else {}
        resp = requests.get(_url(api.emulator), headers=headers, auth=auth, timeout=5)
        assert resp.status_code == 406, accept
        assert resp.json()["errorCode"] == "INVALID_VERSION_DATE"
        assert resp.json()["detail"] == "Invalid accept header or version date."
    for accept in ("application/vnd.atlas.2023-02-01+json", "application/vnd.atlas.2025-03-12+json",
                   "application/vnd.atlas.2099-01-01+json", "application/json, application/vnd.atlas.2024-05-30+json"):
        resp = requests.get(_url(api.emulator), headers={"Accept": accept}, auth=auth, timeout=5)
        assert resp.status_code == 200, accept
        assert resp.headers["Content-Type"] == "application/vnd.atlas.2023-02-01+json;charset=utf-8"
    start_with = paths.endpoint("startStreamProcessorWith")
    assert start_with.accept == "application/vnd.atlas.2025-03-12+json"
    too_early = requests.post(_url(api.emulator, "startStreamProcessorWith", workspace="w", processor="p"),
                              headers={"Accept": "application/vnd.atlas.2024-05-30+json"}, auth=auth, timeout=5)
    assert too_early.status_code == 406  # :startWith exists only from 2025-03-12


def test_malformed_and_oversized_bodies_get_4xx_and_the_server_survives(api):
    url = _url(api.emulator, "createStreamWorkspace")
    headers = {"Accept": paths.endpoint("createStreamWorkspace").accept, "Content-Type": "application/json"}
    bad = api.session.post(url, data=b"{not json", headers=headers, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"] == 400
    wrong_type = api.session.post(url, data=b"[1, 2]", headers=headers, timeout=5)
    assert wrong_type.status_code == 400
    assert _post_declaring_huge_body(api.emulator, url, headers) == 413
    assert api.call("listStreamWorkspaces").status_code == 200


def test_malformed_project_id_and_unknown_paths(api):
    bad_group = api.session.get(api.emulator.url + "/api/atlas/v2/groups/xyz/streams",
                                headers={"Accept": paths.endpoint("listStreamWorkspaces").accept}, timeout=5)
    assert bad_group.status_code == 400
    unknown = api.session.get(api.emulator.url + "/api/atlas/v2/nothing/here", timeout=5)
    assert unknown.status_code == 404
    wrong_method = api.session.put(_url(api.emulator, "getStreamWorkspace", workspace="w"), timeout=5)
    assert wrong_method.status_code == 405


def _post_declaring_huge_body(emulator, url, headers) -> int:
    """Declare a 17 MiB body but send none: the server must refuse without reading it."""
    import http.client
    from urllib.parse import urlsplit

    token = requests.post(emulator.url + paths.OAUTH_TOKEN_PATH, auth=("local", "local"),
                          data={"grant_type": "client_credentials"}, timeout=5).json()["access_token"]
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.putrequest("POST", parts.path)
    for key, value in {**headers, "Authorization": f"Bearer {token}",
                       "Content-Length": str(17 * 1024 * 1024)}.items():
        conn.putheader(key, value)
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    return status
