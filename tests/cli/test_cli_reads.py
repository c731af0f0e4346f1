"""sp processors list/stats/test/tier-advise/schema/profile: one call for stats, honest numbers, exit codes."""
from __future__ import annotations

import json

from deploy_project import FILTER, THRESHOLDS


def test_stats_is_one_list_call_whatever_the_processor_count(deployed, sp):
    deployed.emulator.admin("DELETE", "requests")
    ran = sp("processors", "stats")
    assert ran.code == 0, ran.err
    served = deployed.emulator.requests_served()
    assert served["total"] == 1 and list(served["by_endpoint"]) == [next(iter(served["by_endpoint"]))]
    assert "processors" in next(iter(served["by_endpoint"]))
    header = ran.out.splitlines()[0].split()
    assert header[:6] == ["NAME", "STATE", "TIER", "INPUT", "OUTPUT", "DLQ"] and "P99" in header
    assert {line.split()[0] for line in ran.out.splitlines()[1:]} == {"hot", "per_group", "logger"}


def test_stats_json_reports_counts_latency_and_memory_in_our_units(deployed, sp):
    ran = sp("processors", "stats", "-p", "logger", "--format", "json")
    (record,) = ran.json["processors"]
    assert record["name"] == "logger" and record["state"] == "STARTED"
    assert record["input_count"] > 0 and record["latency_p99_ms"] >= record["latency_p50_ms"] > 0
    assert record["memory_mb"] is not None and "operatorStats" not in record


def test_stats_verbose_adds_operator_stats(deployed, sp):
    ran = sp("processors", "stats", "-p", "hot", "--verbose")
    assert ran.code == 0
    assert "SampleDataSourceOperator" in ran.out and "MatchOperator" in ran.out and "MergeOperator" in ran.out


def test_stats_shows_a_missing_metric_as_a_dash_not_zero(project, sp):
    project.runner().client.create_workspace({"dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}})
    project.runner().client.create_processor({"name": "fresh", "pipeline": FILTER["pipeline"][:1] + [
        {"$emit": {"connectionName": "__testLog"}}]})
    ran = sp("processors", "stats", "--format", "json")
    (record,) = ran.json["processors"]
    assert record["state"] == "CREATED" and record["latency_p99_ms"] is None
    assert sp("processors", "stats").out.splitlines()[1].split()[3:] == ["-"] * 6


def test_list_marks_processors_git_does_not_define(deployed, sp):
    deployed.remove("processors", "logger")
    ran = sp("processors", "list")
    rows = {line.split()[0]: line.split() for line in ran.out.splitlines()[1:]}
    assert rows["logger"][3] == "no" and rows["hot"][3] == "yes"
    listed = sp("processors", "list", "-p", "hot", "--format", "json").json["processors"]
    assert [p["name"] for p in listed] == ["hot"] and listed[0]["pipeline"] == FILTER["pipeline"]


def test_list_json_has_the_seeds_status_and_summary(deployed, sp):
    assert sp("processors", "stop", "-p", "logger").code == 0
    doc = sp("processors", "list", "--format", "json").json
    assert {p["name"]: p["status"] for p in doc["processors"]} == {p["name"]: p["state"] for p in doc["processors"]} \
        == {"hot": "STARTED", "per_group": "STARTED", "logger": "STOPPED"}
    assert doc["summary"] == {"total": 3, "running": 2, "stopped": 1, "failed": 0, "created": 0, "other": 0}
    assert "3 processor(s): 2 running, 1 stopped" in sp("processors", "list").out


def test_profile_thresholds_file_is_checked_before_sampling(deployed, sp, tmp_path):
    deployed.emulator.admin("DELETE", "requests")
    missing = sp("processors", "profile", "--thresholds", str(tmp_path / "nope.json"), "--duration", "30")
    assert missing.code == 4 and "nope.json" in missing.err
    odd = tmp_path / "odd.json"
    odd.write_text('{"memory_mb": 512, "latency_p999": 3}')
    wrong = sp("processors", "profile", "--thresholds", str(odd), "--duration", "30")
    assert wrong.code == 4 and "latency_p999" in wrong.err
    assert deployed.emulator.requests_served()["total"] == 0  # nothing sampled


def test_test_validates_only_the_named_files_and_exits_4_on_errors(project, sp):
    project.write("processors", {"name": "broken", "pipeline": [{"$match": {}}]})
    assert sp("processors", "test", "-p", "hot").code == 0
    ran = sp("processors", "test", "--all", "--format", "json")
    assert ran.code == 4 and ran.json["errors"] >= 1
    assert {d["file"] for d in ran.json["diagnostics"]} == {"processors/broken.json"}
    assert sp("processors", "test", "-p", "missing").code == 1


def test_tier_advise_for_the_named_processor(project, sp):
    ran = sp("processors", "tier-advise", "-p", "hot", "--format", "json")
    assert ran.code == 0
    assert [a["processor"] for a in ran.json["advice"]] == ["hot"] and ran.json["advice"][0]["tier"] == "SP2"


def test_schema_prints_the_file_schema_or_a_definition(deployed, sp):
    schema = json.loads(sp("processors", "schema").out)
    assert "properties" in schema and "pipeline" in schema["properties"]
    assert json.loads(sp("processors", "schema", "hot").out) == FILTER
    live = json.loads(sp("processors", "schema", "hot", "--live").out)
    assert live == {**FILTER, "tier": "SP10"}
    ran = sp("processors", "schema", "hot", "-n", "5")
    assert ran.code == 1 and "mongosh" in ran.err


def test_schema_hides_credential_headers(project, sp):
    project.write("processors", {"name": "caller", "pipeline": [
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$https": {"connectionName": "api", "path": "/x", "as": "resp", "headers": {"Authorization": "${API_TOKEN}"}}},
        {"$emit": {"connectionName": "__testLog"}}]})
    project.write("connections", {"name": "api", "type": "Https", "url": "https://example.com"})
    config = project.root / "environments" / "test" / "config.env"
    config.write_text(config.read_text() + "API_TOKEN=Bearer s3cr3t-value\n")
    ran = sp("processors", "schema", "caller")
    assert ran.code == 0, ran.err
    assert "s3cr3t" not in ran.out and '"Authorization": "(secret)"' in ran.out


def test_profile_samples_the_named_processor_and_exits_3_on_a_breach(deployed, sp):
    ran = sp("processors", "profile", "-p", "hot", "--duration", "0.6", "--interval", "0.3", "--format", "json")
    assert ran.code == 0, ran.err
    assert set(ran.json["processors"]) == {"hot"} and ran.json["processors"]["hot"]["recommendations"]
    assert (deployed.root / ".sp" / "test" / "samples.csv").is_file()
    strict = {**THRESHOLDS, "latency_p99_ms": 0.000001}
    (deployed.root / "environments" / "test" / "thresholds.json").write_text(json.dumps(strict))
    breached = sp("processors", "profile", "-p", "hot", "--duration", "0.6", "--interval", "0.3")
    assert breached.code == 3


def test_stats_and_profile_of_a_running_processor_without_latency_say_so_not_zero(deployed, sp):
    deployed.emulator.admin("POST", "config", {"stats_latency": False})  # older Atlas responses
    (record,) = sp("processors", "stats", "-p", "hot", "--format", "json").json["processors"]
    assert record["state"] == "STARTED" and record["input_count"] > 0
    assert record["latency_p50_ms"] is None and record["latency_p99_ms"] is None
    row = sp("processors", "stats", "-p", "hot").out.splitlines()[1].split()
    assert row[6:8] == ["-", "-"]
    strict = {**THRESHOLDS, "latency_p99_ms": 0.000001}  # nothing measured: nothing breached
    (deployed.root / "environments" / "test" / "thresholds.json").write_text(json.dumps(strict))
    ran = sp("processors", "profile", "-p", "hot", "--duration", "0.6", "--interval", "0.3", "--format", "json")
    assert ran.code == 0, ran.out + ran.err
    summary = ran.json["processors"]["hot"]
    assert summary["input_rate"]["avg"] > 0 and not [m for m in summary if m.startswith("latency")]
    text = sp("processors", "profile", "-p", "hot", "--duration", "0.6", "--interval", "0.3")
    assert text.code == 0 and "latency_p99_ms not measured" in text.out + text.err
    assert "thresholds: all within limits" in text.out
