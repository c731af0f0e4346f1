"""The asynchronous lifecycle with delays on: processors and connections settle after they answer.

Most tests run their own emulator on a clock they move by hand, so what is seen between an
answer and its settling never depends on how loaded the machine is.
"""
import time

import pytest

from tests.conftest import Api, Emulator
from sp_tasks.emulator.backend import Backend
from sp_tasks.emulator.server import EmulatorServer
from tests.polling import wait_for

PROC = {"name": "p", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
                                 {"$emit": {"connectionName": "__testLog"}}]}
VPC_KAFKA = {"name": "vpc", "type": "Kafka", "bootstrapServers": "b:9092",
             "networking": {"access": {"type": "VPC", "connectionId": "vpc-1"}}}
SLOW = {"processor_create": 0.5, "processor_start": 0.5, "processor_stop": 0.5,
        "private_connection_create": 0.5, "private_connection_delete": 0.5,
        "public_connection_create": 0.0, "public_connection_delete": 0.0}


class Hands:
    """A wall clock that moves only when told."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def hands():
    return Hands()


@pytest.fixture
def slow(tmp_path, hands):
    server = EmulatorServer(Backend(tmp_path, sample_rate=100.0, delays={**SLOW}, clock=hands)).start()
    api = Api(Emulator(server.url, server.backend, str(tmp_path)))
    api.ok("withStreamSampleConnections", {"name": "ws1"})
    yield api
    server.stop()


def _state(api, name="p"):
    resp = api.call("getStreamProcessor", workspace="ws1", processor=name)
    return resp.json()["state"] if resp.status_code == 200 else resp.status_code


def test_a_processor_is_init_then_creating_then_created_and_cannot_start_before(slow, hands):
    created = slow.ok("createStreamProcessor", PROC, workspace="ws1")
    assert created["state"] == "INIT"
    early = slow.call("startStreamProcessor", workspace="ws1", processor="p")
    assert early.status_code == 400 and "INVALID_STATE" in early.json()["detail"]
    hands.advance(0.25)
    assert _state(slow) == "CREATING"
    hands.advance(0.25)
    assert _state(slow) == "CREATED"


def test_start_and_stop_answer_first_and_settle_later(slow, hands):
    slow.ok("createStreamProcessor", PROC, workspace="ws1")
    hands.advance(1)
    assert slow.call("startStreamProcessor", workspace="ws1", processor="p").status_code == 200
    assert _state(slow) == "CREATED"  # Terraform polls past CREATED after a start
    assert slow.call("startStreamProcessor", workspace="ws1", processor="p").status_code == 200  # again: no-op
    hands.advance(0.5)
    assert _state(slow) == "STARTED"
    assert slow.call("stopStreamProcessor", workspace="ws1", processor="p").status_code == 200
    assert _state(slow) == "STARTED"  # checkpointing
    refused = slow.call("startStreamProcessor", workspace="ws1", processor="p")
    assert refused.status_code == 400 and "stopping" in refused.json()["detail"]
    assert slow.call("deleteStreamProcessor", workspace="ws1", processor="p").status_code == 400
    hands.advance(0.5)
    assert _state(slow) == "STOPPED"
    assert slow.call("deleteStreamProcessor", workspace="ws1", processor="p").status_code == 204


def test_a_stop_cancels_a_pending_start(slow, hands):
    slow.ok("createStreamProcessor", PROC, workspace="ws1")
    hands.advance(1)
    slow.ok("startStreamProcessor", workspace="ws1", processor="p")
    slow.ok("stopStreamProcessor", workspace="ws1", processor="p")
    assert _state(slow) == "STOPPED"
    hands.advance(5)
    assert _state(slow) == "STOPPED"  # the cancelled start never lands
    assert slow.call("deleteStreamProcessor", workspace="ws1", processor="p").status_code == 204


def test_transitions_happen_on_time_without_anyone_polling(api):
    api.emulator.admin("POST", "config", {"lifecycle": {"processor_start": 0.2}})
    api.ok("withStreamSampleConnections", {"name": "ws1"})
    api.ok("createStreamProcessor", PROC, workspace="ws1")
    api.ok("startStreamProcessor", workspace="ws1", processor="p")
    store = api.emulator.backend.store  # read the store itself: no request, so no lazy apply
    wait_for(lambda: store.get("processors", api.group_id, "p", "ws1")["state"] == "STARTED")


def test_a_private_kafka_connection_deploys_and_refuses_deletion_meanwhile(slow, hands):
    slow.emulator.admin("POST", "config", {"lifecycle": {"private_connection_create": 1.0}})
    created = slow.ok("createStreamConnection", VPC_KAFKA, workspace="ws1")
    assert created["state"] == "PENDING" and "_pending" not in created
    refused = slow.call("deleteStreamConnection", workspace="ws1", connection="vpc")
    assert refused.status_code == 409 and refused.json()["errorCode"] == "STREAM_KAFKA_CONNECTION_IS_DEPLOYING"
    slow.ok("createStreamProcessor", {"name": "k", "pipeline": [
        {"$source": {"connectionName": "vpc", "topic": "t"}}, {"$emit": {"connectionName": "__testLog"}}]},
        workspace="ws1")
    hands.advance(0.6)  # the processor is CREATED, the connection still PENDING
    not_ready = slow.call("startStreamProcessor", workspace="ws1", processor="k")
    assert not_ready.status_code == 400 and "not ready" in not_ready.json()["detail"]
    hands.advance(0.5)
    assert slow.ok("getStreamConnection", workspace="ws1", connection="vpc")["state"] == "READY"
    slow.ok("deleteStreamProcessor", workspace="ws1", processor="k")
    assert slow.call("deleteStreamConnection", workspace="ws1", connection="vpc").status_code == 202
    listed = slow.ok("listStreamConnections", workspace="ws1")["results"]
    assert [c["state"] for c in listed if c["name"] == "vpc"] == ["DELETING"]
    again = slow.call("createStreamConnection", VPC_KAFKA, workspace="ws1")
    assert again.status_code == 409 and again.json()["errorCode"] == "STREAM_CONNECTION_NAME_ALREADY_EXISTS"
    hands.advance(0.5)
    assert slow.call("getStreamConnection", workspace="ws1", connection="vpc").status_code == 404


def test_pending_transitions_survive_an_emulator_restart(slow, hands, tmp_path):
    slow.ok("createStreamProcessor", PROC, workspace="ws1")
    hands.advance(1)
    slow.ok("startStreamProcessor", workspace="ws1", processor="p")
    slow.emulator.backend.close()
    restarted = Backend(tmp_path, sample_rate=100.0, delays={**SLOW}, clock=hands)
    try:
        hands.advance(1)
        restarted.apply_due()
        assert restarted.store.get("processors", slow.group_id, "p", "ws1")["state"] == "STARTED"
    finally:
        restarted.close()


def test_public_connections_are_ready_at_once_as_recorded(slow):
    public = {**VPC_KAFKA, "name": "pub", "networking": {"access": {"type": "PUBLIC"}}}
    assert slow.ok("createStreamConnection", public, workspace="ws1")["state"] == "READY"
    assert slow.call("deleteStreamConnection", workspace="ws1", connection="pub").status_code == 202
    assert slow.call("getStreamConnection", workspace="ws1", connection="pub").status_code == 404


def test_lifecycle_config_is_validated(api):
    for bad in ({"lifecycle": {"processor_start": -1}}, {"lifecycle": {"warp": 1}}, {"lifecycle": "fast"}):
        resp = api.emulator.admin_raw("POST", "config", bad)
        assert resp.status_code == 400, bad
    assert api.emulator.admin("POST", "config", {"lifecycle": "default"})["lifecycle"]["processor_start"] > 0
