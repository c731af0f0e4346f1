"""AtlasClient against the real emulator over HTTP, with the emulator's fault injection."""
import pytest

from sp_tasks.atlas.auth import ApiKeyAuth, ServiceAccountAuth
from sp_tasks.atlas.client import AtlasClient
from sp_tasks.atlas.transport import RetryPolicy
from sp_tasks.errors import AtlasApiError, AtlasAuthError, AtlasConflict, AtlasNotFound, AtlasUnavailable

GID = "0123456789abcdef01234567"
SECRET = "pa55-word-that-must-never-leak"


class Sleeps(list):
    """Records requested waits instead of waiting (the retry logic is what is under test)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def client(emulator, sleeps):
    c = AtlasClient(emulator.url, GID, "ws1", ApiKeyAuth("local", "local"), sleep=sleeps)
    c.create_workspace({})
    emulator.admin("DELETE", "requests")
    yield c
    c.close()


def test_429_with_retry_after_is_waited_out_for_any_method(client, emulator, sleeps):
    emulator.faults({"method": "POST", "path": "/connections$", "status": 429,
                     "headers": {"Retry-After": "7"}, "count": 2})
    created = client.create_connection({"name": "c1", "type": "Cluster", "clusterName": "C0"})
    assert created["name"] == "c1"
    assert len(sleeps) == 2 and all(s >= 7 for s in sleeps)
    assert emulator.requests_served()["by_method"]["POST"] == 3


def test_5xx_on_get_is_retried_with_growing_backoff(client, emulator, sleeps):
    emulator.faults({"method": "GET", "path": "/processors$", "status": 503, "count": 3})
    assert client.list_processors() == []
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2]


def test_5xx_on_post_surfaces_once_with_atlas_error_code(client, emulator, sleeps):
    emulator.faults({"method": "POST", "path": "/processor$", "status": 500, "count": 1})
    with pytest.raises(AtlasApiError) as caught:
        client.create_processor({"name": "p", "pipeline": []})
    assert caught.value.status == 500 and caught.value.error_code == "UNEXPECTED_ERROR"
    assert emulator.requests_served()["by_method"]["POST"] == 1 and sleeps == []


def test_retries_are_bounded(client, emulator, sleeps):
    emulator.faults({"method": "GET", "status": 500})
    with pytest.raises(AtlasApiError):
        client.list_connections()
    assert emulator.requests_served()["total"] == RetryPolicy().attempts


def test_errors_carry_the_envelope_and_map_to_the_tree(client):
    with pytest.raises(AtlasNotFound) as missing:
        client.get_connection("nope")
    assert missing.value.error_code == "STREAM_CONNECTION_NOT_FOUND_FOR_NAME"
    assert "nope" in str(missing.value)
    client.create_connection({"name": "c1", "type": "Cluster", "clusterName": "C0"})
    with pytest.raises(AtlasConflict):
        client.create_connection({"name": "c1", "type": "Cluster", "clusterName": "C0"})


def test_pagination_returns_every_item(emulator, sleeps):
    with AtlasClient(emulator.url, GID, "ws1", ApiKeyAuth("local", "local"), page_size=4) as client:
        client.create_workspace({})
        for index in range(10):
            client.create_connection({"name": f"c{index:02d}", "type": "Cluster", "clusterName": "C0"})
        emulator.admin("DELETE", "requests")
        names = [c["name"] for c in client.list_connections()]
    assert names == [f"c{i:02d}" for i in range(10)]
    assert emulator.requests_served()["total"] == 3  # pages of 4, 4, 2


def test_no_secret_in_any_exception_text(client, emulator):
    body = {"name": "k", "type": "Kafka", "bootstrapServers": "b:1",
            "authentication": {"mechanism": "PLAIN", "username": "u", "password": SECRET}, "bogus": True}
    with pytest.raises(AtlasApiError) as caught:
        client.create_connection(body)
    emulator.faults({"status": 500})
    with pytest.raises(AtlasApiError) as faulted:
        client.create_connection({**body, "bogus": None})
    emulator.admin("DELETE", "faults")
    bad_auth = ServiceAccountAuth(emulator.url, "local", SECRET)
    with pytest.raises(AtlasAuthError) as refused:
        AtlasClient(emulator.url, GID, "ws1", bad_auth).list_processors()
    for err in (caught.value, faulted.value, refused.value):
        assert SECRET not in str(err) and SECRET not in repr(err) and SECRET not in repr(err.args)
    assert SECRET not in repr(bad_auth) and SECRET not in repr(ApiKeyAuth("u", SECRET))


def test_service_account_token_is_cached_and_refreshed_on_401(emulator):
    auth = ServiceAccountAuth(emulator.url, "local", "local")
    with AtlasClient(emulator.url, GID, "ws1", auth) as client:
        client.create_workspace({})
        client.list_connections()
        client.list_processors()
        assert auth.tokens_minted == 1
        emulator.admin("POST", "config", {"revoke_tokens": True})
        assert client.list_processors() == []
        assert auth.tokens_minted == 2


def test_fetch_live_reads_a_workspace_in_three_calls(client, emulator):
    client.create_connection({"name": "c1", "type": "Cluster", "clusterName": "C0"})
    emulator.admin("DELETE", "requests")
    live = client.fetch_live()
    assert live.workspace["name"] == "ws1" and [c.name for c in live.connections] == ["c1"]
    assert emulator.requests_served()["total"] == 3
    absent = AtlasClient(emulator.url, GID, "other", ApiKeyAuth("local", "local")).fetch_live()
    assert absent.workspace is None


def test_service_account_token_is_refreshed_shortly_before_it_expires(emulator):
    now = [1000.0]
    auth = ServiceAccountAuth(emulator.url, "local", "local", clock=lambda: now[0])
    with AtlasClient(emulator.url, GID, "ws1", auth) as client:
        client.list_workspaces()
        now[0] += 3600 - 90  # still valid for 90 s: reused
        client.list_workspaces()
        assert auth.tokens_minted == 1
        now[0] += 45  # 45 s left, inside the refresh margin: replaced before it can expire mid-deploy
        client.list_workspaces()
        assert auth.tokens_minted == 2
