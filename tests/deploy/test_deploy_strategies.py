"""Blue-green and canary deploys end to end on the emulator."""
import pytest

from deploy_project import FILTER
from sp_tasks.deploy import service
from sp_tasks.errors import DeployError

EDITED = {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"obs.watts": {"$gt": 250}}}, FILTER["pipeline"][2]]}


def _deploy(project, **kwargs):
    return service.deploy(project.runner(), project.desired(), **kwargs)


def test_blue_green_cuts_over_and_keeps_blue_stopped_as_rollback_target(project):
    _deploy(project)
    old_id = project.live_processors()["hot"]["id"]
    project.write("processors", EDITED)
    outcome = _deploy(project, strategy="blue-green")
    kinds = [r.step.kind.value for r in outcome.applied.results if "hot" in r.step.target.name]
    assert kinds.index("verify_health") < kinds.index("rename_processor")
    live = project.live_processors()
    assert live["hot"]["pipeline"][1] == EDITED["pipeline"][1] and live["hot"]["state"] == "STARTED"
    assert live["hot__blue"]["state"] == "STOPPED" and live["hot__blue"]["id"] == old_id
    assert "hot__green" not in live
    runner = project.runner()
    assert not runner.plan(project.desired(), runner.live()).has_changes()


def test_blue_green_with_an_unhealthy_green_leaves_blue_running(project):
    _deploy(project)
    project.write("processors", EDITED)
    project.emulator.faults({"processor": "hot__green", "fail_on_start": True, "count": 1})
    with pytest.raises(DeployError):
        _deploy(project, strategy="blue-green")
    live = project.live_processors()
    assert live["hot"]["state"] == "STARTED" and live["hot"]["pipeline"] == FILTER["pipeline"]
    assert not any(name.startswith("hot__") for name in live)


def test_canary_runs_a_shadow_copy_then_promotes_in_place(project):
    _deploy(project)
    project.write("processors", EDITED)
    outcome = _deploy(project, strategy="canary")
    steps = [(r.step.kind.value, r.step.target.name) for r in outcome.applied.results]
    assert ("compare_canary", "hot__canary") in steps and ("delete_processor", "hot__canary") in steps
    live = project.live_processors()
    assert "hot__canary" not in live and live["hot"]["pipeline"][1] == EDITED["pipeline"][1]
    shadow = project.emulator.admin("GET", "documents", group="0123456789abcdef01234567",
                                    cluster="Cluster0", db="solar", coll="hot__canary", limit="1")
    assert shadow["results"], "the canary wrote to its shadow collection"


def test_canary_with_an_output_tolerance_catches_a_volume_change_and_rolls_back(project):
    import json

    thresholds = project.root / "environments" / "test" / "thresholds.json"
    doc = json.loads(thresholds.read_text())
    doc["health"]["canary_output_tolerance"] = 0.2
    thresholds.write_text(json.dumps(doc))
    _deploy(project)
    project.write("processors", EDITED)  # keeps far fewer documents than live: volume drops
    with pytest.raises(DeployError) as caught:
        _deploy(project, strategy="canary")
    assert "output ratio" in str(caught.value)
    live = project.live_processors()
    assert live["hot"]["pipeline"] == FILTER["pipeline"] and "hot__canary" not in live
