"""Stream state survives every blue-green and canary outcome: the processor that existed before a
deploy keeps its _id and counters, and rolling back renames it back rather than recreating it."""
import pytest

from deploy_project import FILTER
from sp_tasks.deploy import service
from sp_tasks.errors import DeployError

V2 = {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"obs.watts": {"$gt": 120}}}, FILTER["pipeline"][2]]}
V3 = {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"obs.watts": {"$gt": 140}}}, FILTER["pipeline"][2]]}


def _deploy(project, **kwargs):
    return service.deploy(project.runner(), project.desired(), **kwargs)


def _identity(project, name="hot"):
    proc = project.live_processors()[name]
    return proc["id"], proc["stats"]["inputMessageCount"]


def _assert_kept(project, name, identity, *, state="STARTED"):
    """Same _id under ``name``, counters not reset (they only grow, or stay while stopped)."""
    proc = project.live_processors()[name]
    assert proc["id"] == identity[0], f"{name} was recreated"
    assert proc["stats"]["inputMessageCount"] >= identity[1], f"{name} lost its counters"
    assert proc["state"] == state


def _fail_final_gate(project, name="hot"):
    # The green copy passes its own gate as hot__green; once renamed to hot and started it fails.
    project.emulator.faults({"processor": name, "fail_on_start": True, "count": 1})


def test_invoke_rollback_after_blue_green_renames_the_original_back(project):
    _deploy(project)
    original = _identity(project)
    project.write("processors", V2)
    outcome = _deploy(project, strategy="blue-green")
    rolled = service.rollback(project.runner(), outcome.snapshot, project.desired())
    summary = rolled.plan.summary()
    assert summary["rename"] == 1 and summary["create"] == 0 and summary["delete"] == 1  # the green that took the name
    _assert_kept(project, "hot", original)
    assert project.live_processors()["hot"]["pipeline"] == FILTER["pipeline"]
    assert not any(name.startswith("hot__") for name in project.live_processors())


def test_green_failing_at_the_final_gate_rolls_back_to_the_original_processor(project):
    _deploy(project)
    original = _identity(project)
    project.write("processors", V2)
    _fail_final_gate(project)
    with pytest.raises(DeployError, match="rolled back"):
        _deploy(project, strategy="blue-green")
    _assert_kept(project, "hot", original)
    assert project.live_processors()["hot"]["pipeline"] == FILTER["pipeline"]
    assert not any(name.startswith("hot__") for name in project.live_processors())


def test_a_second_blue_green_failing_keeps_both_the_live_processor_and_the_older_rollback_target(project):
    _deploy(project)
    first = _identity(project)
    project.write("processors", V2)
    _deploy(project, strategy="blue-green")
    second = _identity(project)
    project.write("processors", V3)
    _fail_final_gate(project)
    with pytest.raises(DeployError, match="rolled back"):
        _deploy(project, strategy="blue-green")
    _assert_kept(project, "hot", second)
    _assert_kept(project, "hot__blue", first, state="STOPPED")
    assert "hot__retired" not in project.live_processors()


def test_a_successful_second_blue_green_retires_the_older_target_only_after_the_gate(project):
    _deploy(project)
    project.write("processors", V2)
    _deploy(project, strategy="blue-green")
    second = _identity(project)
    project.write("processors", V3)
    outcome = _deploy(project, strategy="blue-green")
    order = [(r.step.kind.value, r.step.target.name) for r in outcome.applied.results]
    assert order.index(("verify_health", "ws-test")) < order.index(("delete_processor", "hot__retired"))
    _assert_kept(project, "hot__blue", second, state="STOPPED")
    assert set(n for n in project.live_processors() if n.startswith("hot")) == {"hot", "hot__blue"}


@pytest.mark.parametrize("outcome", ["promoted", "canary fails", "final gate fails"])
def test_canary_outcomes_keep_the_live_processor(project, outcome):
    _deploy(project)
    original = _identity(project)
    project.write("processors", V2)
    if outcome == "canary fails":
        project.emulator.faults({"processor": "hot__canary", "fail_on_start": True, "count": 1})
    elif outcome == "final gate fails":
        _fail_final_gate(project)
    if outcome == "promoted":
        result = _deploy(project, strategy="canary")
        assert project.live_processors()["hot"]["pipeline"] == V2["pipeline"]
        service.rollback(project.runner(), result.snapshot, project.desired())
    else:
        with pytest.raises(DeployError, match="rolled back"):
            _deploy(project, strategy="canary")
    _assert_kept(project, "hot", original)
    assert project.live_processors()["hot"]["pipeline"] == FILTER["pipeline"]
    assert "hot__canary" not in project.live_processors()
