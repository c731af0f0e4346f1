"""The health gate on a small fake workspace whose counters grow with a FakeClock: no wall time."""
from __future__ import annotations

import pytest

from sp_tasks.clock import FakeClock
from sp_tasks.deploy.health import HealthPolicy, assess, run_health_gate
from sp_tasks.errors import ConfigError

FILTER = [{"$source": {"connectionName": "s"}}, {"$match": {"x": 1}}, {"$merge": {"into": {}}}]
WINDOW = [{"$source": {"connectionName": "s"}},
          {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"}, "pipeline": []}},
          {"$merge": {"into": {}}}]


class Workspace:
    """Processors whose counters grow at a rate per second of fake time; states change on a schedule."""

    def __init__(self):
        self.clock = FakeClock()
        self.procs: dict[str, dict] = {}
        self.lists = 0

    def add(self, name, *, rate_in=100.0, rate_out=50.0, rate_dlq=0.0, pipeline=FILTER, states=((0, "STARTED"),)):
        self.procs[name] = {"rates": (rate_in, rate_out, rate_dlq), "pipeline": pipeline, "states": states}

    def list_processors(self):
        self.lists += 1
        t, docs = self.clock.monotonic(), []
        for name, p in self.procs.items():
            state = [s for at, s in p["states"] if at <= t][-1]
            if state is None:
                continue
            stats = {k: int(r * t) + 1000 for k, r in zip(("inputMessageCount", "outputMessageCount",
                                                            "dlqMessageCount"), p["rates"])}
            docs.append({"name": name, "state": state, "pipeline": p["pipeline"], "stats": stats})
        return docs

    def gate(self, names, policy=HealthPolicy(), **kw):
        verdicts = run_health_gate(self.list_processors, names, policy, self.clock, **kw)
        return {v.processor: v for v in verdicts}


def test_a_processor_failed_at_the_first_poll_does_not_make_the_others_unhealthy():
    ws = Workspace()
    ws.add("bad", states=((0, "FAILED"),))
    for name in ("a", "b", "c"):
        ws.add(name)
    verdicts = ws.gate(["bad", "a", "b", "c"])
    assert not verdicts["bad"].healthy and verdicts["bad"].reasons == ("went FAILED during the health gate",)
    assert all(verdicts[n].healthy and verdicts[n].input_delta > 0 for n in "abc"), verdicts


def test_healthy_processors_end_the_gate_as_soon_as_they_show_input_and_output():
    ws = Workspace()
    ws.add("a")
    ws.add("w", rate_out=0, pipeline=WINDOW)  # a window emits only when it closes: input is enough
    verdicts = ws.gate(["a", "w"])
    assert all(v.healthy for v in verdicts.values())
    assert ws.lists == 2 and ws.clock.monotonic() < HealthPolicy().window_s / 4


def test_no_output_yet_keeps_sampling_up_to_the_window_then_judges_the_window():
    ws = Workspace()
    ws.add("quiet_filter", rate_out=0)
    policy = HealthPolicy(window_s=4)
    verdicts = ws.gate(["quiet_filter"], policy)
    assert verdicts["quiet_filter"].healthy  # no output floor configured: a filter may emit nothing
    assert ws.clock.monotonic() == pytest.approx(policy.window_s)
    assert max(ws.clock.sleeps) <= policy.interval_s


def test_input_that_never_grows_is_unhealthy_after_the_window_and_no_later():
    ws = Workspace()
    ws.add("stuck", rate_in=0, rate_out=0)
    ws.add("ok")
    verdicts = ws.gate(["stuck", "ok"], HealthPolicy(window_s=3))
    assert not verdicts["stuck"].healthy and "input count did not grow" in verdicts["stuck"].reasons[0]
    assert verdicts["ok"].healthy
    assert ws.clock.monotonic() == pytest.approx(3)


def test_each_processor_window_starts_when_it_is_started():
    ws = Workspace()
    ws.add("slow_start", states=((0, "CREATED"), (5, "STARTED")))
    ws.add("ok")
    verdicts = ws.gate(["slow_start", "ok"], HealthPolicy(window_s=2))
    assert verdicts["slow_start"].healthy and verdicts["ok"].healthy
    assert 5 <= ws.clock.monotonic() < 7


def test_not_started_in_time_fails_only_that_one_and_the_started_ones_are_still_sampled():
    ws = Workspace()
    ws.add("never", states=((0, "CREATED"),))
    ws.add("stuck", rate_in=0, rate_out=0)
    verdicts = ws.gate(["never", "stuck"], HealthPolicy(started_timeout_s=3, window_s=1))
    assert verdicts["never"].reasons == ("not STARTED within 3s (is CREATED)",)
    assert not verdicts["stuck"].healthy  # judged on its own readings, never passed by default
    assert ws.clock.monotonic() == pytest.approx(3)


def test_a_high_dlq_ratio_is_judged_on_the_whole_window():
    ws = Workspace()
    ws.add("dlq", rate_dlq=20)  # 20 % of the input goes to the DLQ, above the 5 % limit
    verdicts = ws.gate(["dlq"], HealthPolicy(window_s=2))
    assert not verdicts["dlq"].healthy and "DLQ ratio 20.0%" in verdicts["dlq"].reasons[0]
    assert ws.clock.monotonic() == pytest.approx(2)


def test_stopped_or_deleted_while_sampled_is_conclusive():
    ws = Workspace()
    ws.add("stopped", rate_out=0, states=((0, "STARTED"), (0.5, "STOPPED")))
    ws.add("deleted", rate_out=0, states=((0, "STARTED"), (0.5, None)))
    ws.add("absent", states=((0, None),))
    verdicts = ws.gate(["stopped", "deleted", "absent"])
    assert verdicts["stopped"].reasons == ("is STOPPED, expected STARTED",)
    assert verdicts["deleted"].reasons == ("disappeared from the workspace during the health gate",)
    assert verdicts["absent"].reasons == ("is not in the workspace",)


def test_without_early_end_every_processor_is_sampled_for_the_whole_window():
    ws = Workspace()
    ws.add("a")
    ws.gate(["a"], HealthPolicy(window_s=2), early=False)
    assert ws.clock.monotonic() == pytest.approx(2)


def test_assess_waits_for_the_minimum_number_of_readings():
    doc = {"state": "STARTED", "pipeline": FILTER, "stats": {"inputMessageCount": 1, "outputMessageCount": 1}}
    grown = {**doc, "stats": {"inputMessageCount": 9, "outputMessageCount": 9}}
    policy = HealthPolicy(samples=3)
    assert assess("p", [(0, doc), (1, grown)], 1, policy) is None
    assert assess("p", [(0, doc), (1, grown), (2, grown)], 2, policy).healthy


@pytest.mark.parametrize("health, fragment", [
    ({"samples": 1}, "at least 2"), ({"samples": 2.5}, "whole number"), ({"interval_s": 0}, "interval_s"),
    ({"window_s": "4"}, "numbers"), ({"windw_s": 4}, "unknown key(s) windw_s")])
def test_bad_policies_are_config_errors(health, fragment):
    with pytest.raises(ConfigError, match="thresholds.json health") as err:
        HealthPolicy.from_thresholds({"health": health})
    assert fragment in str(err.value)


def test_on_the_emulator_one_failed_processor_leaves_the_others_healthy(project):
    from polling import wait_for
    from sp_tasks.clock import SystemClock
    from sp_tasks.deploy.service import deploy

    runner = project.runner()
    deploy(runner, project.desired())
    client = runner.client
    client.stop_processor("hot")
    wait_for(lambda: client.get_processor("hot")["state"] == "STOPPED")
    project.emulator.faults({"processor": "hot", "fail_on_start": True, "count": 1})
    client.start_processor("hot")
    wait_for(lambda: client.get_processor("hot")["state"] == "FAILED")
    verdicts = {v.processor: v for v in run_health_gate(client.list_processors, ["hot", "per_group", "logger"],
                                                        HealthPolicy(window_s=30), SystemClock())}
    assert not verdicts["hot"].healthy
    assert verdicts["per_group"].healthy and verdicts["logger"].healthy
    assert verdicts["logger"].input_delta > 0 and verdicts["logger"].output_delta > 0


def test_a_long_gate_says_which_processors_it_still_waits_for():
    ws = Workspace()
    ws.add("a")
    ws.add("slow", states=((0, "STARTING"), (12, "STARTED")))
    said = []
    ws.gate(["a", "slow"], progress=said.append)
    beats = [line for line in said if line.startswith("still waiting")]
    assert beats and all(line.startswith("still waiting for the health gate to decide on slow (") for line in beats)
