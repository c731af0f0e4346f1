"""The endpoint table: the client builds and the emulator routes from the same templates."""
from sp_tasks.atlas import paths

GID = "0123456789abcdef01234567"


def test_verb_endpoints_route_to_their_own_operation():
    ep, params = paths.match("POST", f"/api/atlas/v2/groups/{GID}/streams/ws1/processor/p1:startWith")
    assert ep.name == "startStreamProcessorWith"
    assert ep.version == "2025-03-12"
    assert params == {"group_id": GID, "workspace": "ws1", "processor": "p1"}


def test_create_is_singular_and_list_is_plural():
    assert paths.match("POST", f"/api/atlas/v2/groups/{GID}/streams/w/processor")[0].name == "createStreamProcessor"
    assert paths.match("GET", f"/api/atlas/v2/groups/{GID}/streams/w/processors")[0].name == "getStreamProcessors"
    assert paths.match("GET", f"/api/atlas/v2/groups/{GID}/streams/w/processor") is None


def test_path_fills_and_encodes_parameters():
    ep = paths.endpoint("getStreamProcessor")
    path = ep.path(group_id=GID, workspace="w", processor="a b")
    assert path.endswith("/streams/w/processor/a%20b")
    assert ep.accept == "application/vnd.atlas.2024-05-30+json"


def test_sample_connections_verb_is_not_a_workspace_name():
    ep, params = paths.match("POST", f"/api/atlas/v2/groups/{GID}/streams:withSampleConnections")
    assert ep.name == "withStreamSampleConnections" and params == {"group_id": GID}
