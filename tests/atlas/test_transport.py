"""Transport behaviour a user feels: unreachable Atlas fails fast and says so, retries are announced,
parallel workers share one Digest handshake and are paced by Ratelimit-Remaining, tokens are revoked."""
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sp_tasks.atlas.auth import ApiKeyAuth, ServiceAccountAuth
from sp_tasks.atlas.client import AtlasClient
from sp_tasks.atlas.paths import OAUTH_TOKEN_PATH
from sp_tasks.atlas.transport import RetryPolicy
from sp_tasks.errors import AtlasUnavailable

GID = "0123456789abcdef01234567"


def test_refused_connection_is_retried_within_the_connect_budget_and_each_retry_is_announced():
    sleeps, notices = [], []
    client = AtlasClient("http://127.0.0.1:9", GID, "ws1", ApiKeyAuth("a", "b"), sleep=sleeps.append,
                         on_retry=notices.append)
    with pytest.raises(AtlasUnavailable) as caught:
        client.list_processors()
    assert "did not answer GET" in str(caught.value) and "connection refused" in str(caught.value)
    assert 2 <= len(sleeps) < RetryPolicy().attempts  # the budget ends it before the attempts do
    assert sum(sleeps) < RetryPolicy().connect_budget_s
    assert [n.wait_s for n in notices] == sleeps and notices[0].attempt == 2
    assert str(notices[0]).startswith("retrying GET /api/atlas/v2/groups/{group_id}/streams/{workspace}/processors in ")
    assert "connection refused" in str(notices[0])


@pytest.fixture
def blackhole():
    """A port whose SYNs go unanswered: a listener with a full accept queue (like a firewalled host)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(3):  # fill the queue; further connects hang until their timeout
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(server.getsockname())
        fillers.append(filler)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    for sock in (*fillers, server):
        sock.close()


def test_a_silent_host_gives_up_after_the_connect_budget(blackhole):
    notices = []
    client = AtlasClient(blackhole, GID, "ws1", ApiKeyAuth("a", "b"), on_retry=notices.append,
                         retry=RetryPolicy(connect_budget_s=1.0, backoff=0.1), timeout=(0.4, 5.0))
    with pytest.raises(AtlasUnavailable) as caught:
        client.list_processors()
    assert "connect timeout" in str(caught.value)
    assert notices and all(n.reason == "connect timeout" for n in notices)
    assert len(notices) < RetryPolicy().attempts - 1


def test_parallel_workers_share_one_digest_handshake(emulator):
    with AtlasClient(emulator.url, GID, "ws1", ApiKeyAuth("local", "local")) as client:
        client.create_workspace({})
        emulator.admin("DELETE", "requests")
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: client.list_processors(), range(32)))
        assert client.transport.session.auth.challenges == 1
    served = emulator.requests_served()
    assert served["total"] == 32 and served["unauthenticated"] == 0  # the handshake happened before


def test_a_stale_nonce_gets_one_fresh_handshake(emulator):
    auth = ApiKeyAuth("local", "local")
    with AtlasClient(emulator.url, GID, "ws1", auth) as client:
        client.list_workspaces()
        auth._challenge["nonce"] = "bm90LWEtbm9uY2U="  # a nonce the server never issued
        assert client.list_workspaces() == []
    assert auth.challenges == 2


def test_parallel_workers_are_paced_by_ratelimit_remaining_instead_of_meeting_429s(emulator):
    emulator.admin("POST", "config", {"rate_limit": 6, "rate_window_s": 0.3})
    held = []
    with AtlasClient(emulator.url, GID, "ws1", ApiKeyAuth("local", "local"), on_pacing=held.append) as client:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda _: client.list_workspaces(), range(40)))
        assert client.transport.pacer.limit == 6
    assert results == [[]] * 40
    served = emulator.requests_served()
    assert served["rate_limited"] == 0 and held  # workers were held back, none was refused


def test_without_pacing_the_same_burst_meets_429s(emulator):
    """The control for the test above: the budget is really small enough to be hit."""
    emulator.admin("POST", "config", {"rate_limit": 6, "rate_window_s": 0.3})
    session = requests.Session()
    session.auth = requests.auth.HTTPDigestAuth("local", "local")
    url = f"{emulator.url}/api/atlas/v2/groups/{GID}/streams"
    accept = {"Accept": "application/vnd.atlas.2023-02-01+json"}
    barrier = threading.Barrier(8)

    def burst(_):
        barrier.wait()
        return [session.get(url, headers=accept, timeout=10).status_code for _ in range(5)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = [c for batch in pool.map(burst, range(8)) for c in batch]
    assert 429 in codes and emulator.requests_served()["rate_limited"] > 0


def test_closing_a_service_account_client_revokes_its_token(emulator):
    auth = ServiceAccountAuth(emulator.url, "local", "local")
    client = AtlasClient(emulator.url, GID, "ws1", auth)
    client.list_workspaces()
    token = auth._token
    client.close()
    url = f"{emulator.url}/api/atlas/v2/groups/{GID}/streams"
    refused = requests.get(url, headers={"Authorization": f"Bearer {token}",
                                         "Accept": "application/vnd.atlas.2023-02-01+json"}, timeout=5)
    assert refused.status_code == 401
    other = requests.post(emulator.url + OAUTH_TOKEN_PATH, auth=("local", "local"),
                          data={"grant_type": "client_credentials"}, timeout=5).json()["access_token"]
    assert requests.post(emulator.url + "/api/oauth/revoke", data={"token": other}, auth=("local", "wrong"),
                         timeout=5).status_code == 401  # only the client itself may revoke
