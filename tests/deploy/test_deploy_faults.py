"""Faults during deploy: every deploy ends fully applied or fully rolled back (live == snapshot)."""
import json

import pytest

from deploy_project import FILTER, LOGGER, WINDOW
from sp_tasks.atlas.transport import RetryPolicy
from sp_tasks.deploy import service
from sp_tasks.deploy.snapshots import load_snapshot
from sp_tasks.errors import DeployError, PlanMismatch, StalePlanError
from sp_tasks.planning.plan import fingerprint
from sp_tasks.planning.render import render_json
from sp_tasks.planning.snapshot_desired import live_from_snapshot

FAST = RetryPolicy(backoff=0.01, backoff_max=0.05, retry_after_max=0.05)


def _runner(project):
    runner = project.runner()
    runner.client.transport.retry = FAST
    return runner


def _deploy(project, **kwargs):
    return service.deploy(_runner(project), project.desired(), **kwargs)


def _edit_all(project):
    for doc, stage in ((FILTER, {"$match": {"obs.watts": {"$gt": 150}}}),
                       (LOGGER, {"$project": {"device_id": 1}}),
                       (WINDOW, None)):
        pipeline = list(doc["pipeline"])
        if stage:
            pipeline[1] = stage
        else:
            pipeline.insert(2, {"$addFields": {"edited": True}})
        project.write("processors", {**doc, "pipeline": pipeline})


def _assert_live_equals_snapshot(project, path):
    snapshot = load_snapshot(path)
    live = _runner(project).live()
    assert fingerprint(live) == fingerprint(live_from_snapshot(snapshot))


def test_rate_limits_are_waited_out_and_the_deploy_succeeds(project):
    project.emulator.faults({"method": "POST", "path": "/processor$", "status": 429,
                             "headers": {"Retry-After": "0"}, "count": 2},
                            {"method": "GET", "path": "/processors$", "status": 429, "count": 2})
    outcome = _deploy(project)
    assert outcome.applied.ok
    assert not _runner(project).plan(project.desired(), _runner(project).live()).has_changes()


def test_a_5xx_on_create_is_rechecked_then_sent_again(project):
    # "after": 1 lets the deploy lock's own POST through (it is a processor too)
    project.emulator.faults({"method": "POST", "path": "/processor$", "status": 500, "after": 1, "count": 1})
    outcome = _deploy(project)
    assert outcome.applied.ok
    details = [r.detail for r in outcome.applied.results if r.step.kind.value == "create_processor"]
    assert "sent again after re-reading" in details


def test_persistent_5xx_on_create_rolls_back_to_the_snapshot(project):
    _deploy(project)
    project.write("processors", {**FILTER, "name": "extra"})
    project.emulator.faults({"method": "POST", "path": "/processor$", "status": 503, "after": 1, "count": 2})
    with pytest.raises(DeployError) as caught:
        _deploy(project)
    outcome = caught.value.result
    assert "rolled back" in str(caught.value) and outcome.rolled_back.ok
    _assert_live_equals_snapshot(project, outcome.snapshot)
    assert "extra" not in project.live_processors()


def test_processor_that_fails_on_start_fails_the_gate_and_rolls_back(project):
    _deploy(project)
    before = project.live_processors()["hot"]["pipeline"]
    project.write("processors", {**FILTER, "pipeline": [FILTER["pipeline"][0], {"$match": {"group_id": 3}},
                                                         FILTER["pipeline"][2]]})
    project.emulator.faults({"processor": "hot", "fail_on_start": True, "count": 1})
    with pytest.raises(DeployError) as caught:
        _deploy(project)
    assert "hot" in str(caught.value) and "FAILED" in str(caught.value)
    live = project.live_processors()
    assert live["hot"]["pipeline"] == before and live["hot"]["state"] == "STARTED"
    _assert_live_equals_snapshot(project, caught.value.result.snapshot)


def test_failure_in_the_middle_of_a_multi_processor_deploy_rolls_everything_back(project):
    _deploy(project)
    _edit_all(project)
    project.emulator.faults({"method": "POST", "path": ":startWith$", "status": 500, "after": 1, "count": 1})
    with pytest.raises(DeployError) as caught:
        _deploy(project)
    outcome = caught.value.result
    assert any(r.status == "failed" for r in outcome.applied.results)
    _assert_live_equals_snapshot(project, outcome.snapshot)
    assert all(p["state"] == "STARTED" for p in project.live_processors().values())


def test_a_saved_plan_is_refused_when_stale_or_for_another_environment(project, tmp_path):
    _deploy(project)
    project.write("processors", {**FILTER, "name": "extra"})
    runner = _runner(project)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(render_json(runner.plan(project.desired(), runner.live())))
    doc = json.loads(plan_file.read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**doc, "environment": "production"}))
    with pytest.raises(PlanMismatch):
        _deploy(project, plan_file=str(other))
    runner.client.stop_processor("logger")  # live changes after planning
    project.emulator.admin("DELETE", "requests")
    with pytest.raises(StalePlanError):
        _deploy(project, plan_file=str(plan_file))
    assert project.emulator.writes_served() == 0


def test_a_change_made_while_confirming_stops_the_deploy_before_any_write(project):
    from sp_tasks.errors import StalePlanError

    _deploy(project)
    project.write("processors", {**FILTER, "name": "extra"})
    runner = _runner(project)

    def confirm_while_someone_else_deploys(plan):
        runner.client.stop_processor("logger")
        project.emulator.admin("DELETE", "requests")
        return True

    with pytest.raises(StalePlanError):
        service.deploy(runner, project.desired(), confirm=confirm_while_someone_else_deploys)
    assert project.emulator.writes_served() == 2  # the deploy lock taken and given back; nothing else
    assert "extra" not in project.live_processors() and not runner.live().extra["locks"]


def test_a_saved_plan_is_verified_with_its_own_tier_not_the_command_line(project, tmp_path):
    _deploy(project)
    project.write("processors", {**FILTER, "name": "extra"})
    runner = _runner(project)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(render_json(runner.plan(project.desired(), runner.live(), tier="SP30")))
    outcome = _deploy(project, plan_file=str(plan_file))  # no --tier here: must not "fix" SP30 back
    assert outcome.applied.ok and project.live_processors()["extra"]["tier"] == "SP30"


def test_rotate_secrets_updates_connections_whose_secrets_cannot_be_compared(project):
    project.write("connections", {"name": "kafka", "type": "Kafka", "bootstrapServers": "b:9092",
                                  "authentication": {"mechanism": "PLAIN", "username": "u",
                                                     "password": "${KAFKA_PASSWORD}"}})
    project.environ["KAFKA_PASSWORD"] = "first"
    _deploy(project)
    project.environ["KAFKA_PASSWORD"] = "rotated"
    runner = _runner(project)
    assert not runner.plan(project.desired(), runner.live()).has_changes()
    rotated = runner.plan(project.desired(), runner.live(), rotate_secrets=True)
    assert [(c.name, c.action.value) for c in rotated.changes if c.action.value != "no-op"] == [("kafka", "update")]
    project.emulator.admin("DELETE", "requests")
    outcome = _deploy(project, rotate_secrets=True)
    assert outcome.applied.ok
    assert project.emulator.requests_served()["by_endpoint"][
        "PATCH /api/atlas/v2/groups/{group_id}/streams/{workspace}/connections/{connection}"] == 1


def test_a_create_that_landed_but_answered_500_is_confirmed_by_reading_not_resent(project):
    project.emulator.faults({"method": "POST", "path": "/processor$", "status": 500, "after_handler": True, "after": 1,
                             "count": 1})
    outcome = _deploy(project)
    assert outcome.applied.ok
    details = [r.detail for r in outcome.applied.results if r.step.kind.value == "create_processor"]
    assert "confirmed by re-reading after an unclear answer" in details
    posts = project.emulator.requests_served()["by_endpoint"]["POST /api/atlas/v2/groups/{group_id}/streams/{workspace}/processor"]
    assert posts == 4  # the deploy lock and three processors, none sent twice
