"""Tier table, the exact cumulative-parallelism rule, tier advice and profile loading."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sp_tasks.errors import DataFileError
from sp_tasks.model import ProcessorSpec
from sp_tasks.tiers import (THROUGHPUT_METRICS, TIER_TABLE, advise_tier, cumulative_parallelism, load_latest_profiles,
                            minimum_tier, render_advice, resolve_tier, tier_for_parallelism)

SOURCE = {"$source": {"connectionName": "c", "db": "d", "initialSync": {"enable": True, "parallelism": 4}}}
MERGE2 = {"$merge": {"into": {"connectionName": "c", "db": "d", "coll": "x"}, "parallelism": 2}}
PLAIN = [{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "__testLog"}}]


def spec(pipeline=PLAIN, tier=None):
    return ProcessorSpec(name="p", pipeline=pipeline, tier=tier)


def test_table_matches_the_reference():
    assert [(t.name, t.ram_gb, t.bandwidth_mbps, t.max_parallelism) for t in TIER_TABLE.values()] == [
        ("SP2", 0.5, 50, 1), ("SP5", 1, 125, 2), ("SP10", 2, 200, 8), ("SP30", 8, 750, 16), ("SP50", 32, 2500, 64)]


def test_reference_example_source_4_plus_merge_2_needs_sp10():
    assert cumulative_parallelism([SOURCE, MERGE2]) == 4
    assert minimum_tier([SOURCE, MERGE2]) == "SP10"


def test_parallelism_inside_windows_counts_and_invalid_values_do_not():
    lookup = {"$lookup": {"from": {}, "as": "x", "parallelism": 3}}
    window = {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"}, "pipeline": [lookup]}}
    assert cumulative_parallelism([SOURCE, window]) == 3 + 2
    assert cumulative_parallelism([{"$merge": {"parallelism": "8"}}, {"$emit": {"parallelism": True}}]) == 0


@pytest.mark.parametrize("cumulative, tier", [(0, "SP2"), (1, "SP2"), (2, "SP5"), (3, "SP10"), (8, "SP10"),
                                              (9, "SP30"), (16, "SP30"), (17, "SP50"), (64, "SP50"), (65, None)])
def test_tier_for_parallelism_boundaries(cumulative, tier):
    assert tier_for_parallelism(cumulative) == tier


def test_advice_without_profile_uses_parallelism_only():
    advice = advise_tier(spec([SOURCE, MERGE2], tier="SP5"))
    assert (advice.tier, advice.parallelism, advice.declared) == ("SP10", 4, "SP5")
    assert any("no profile" in r for r in advice.reasons) and any("smaller than the recommended SP10" in r
                                                                  for r in advice.reasons)


@pytest.mark.parametrize("profile, tier", [
    ({"memory_mb": 300, "state_mb": 100}, "SP2"),      # 80 % of 0.5 GB = 409.6 MB
    ({"memory_mb": 700}, "SP5"),                       # 80 % of 1 GB = 819.2 MB
    ({"state_mb": 900}, "SP10"),
    ({"memory_mb": 30000}, "SP50"),                    # over every tier: largest, with a warning
    ({"input_mbps": 48}, "SP5"),                       # 48 Mbps > 40 (SP2), <= 100 (SP5)
    ({"input_mbps": 160, "output_mbps": 1}, "SP10"),   # exactly 80 % of SP10's 200 Mbps
    ({"memory_mb": 100, "output_mbps": 560}, "SP30"),  # the busier direction counts
    ({"state_mb": 1500, "input_mbps": 10}, "SP10"),    # memory decides
])
def test_advice_with_profile_takes_the_largest_constraint(profile, tier):
    assert advise_tier(spec(), profile).tier == tier


def test_advice_says_what_it_could_not_check():
    reasons = advise_tier(spec(), {"input_rate": 500.0}).reasons
    assert any("memory not checked" in r for r in reasons) and any("throughput not checked" in r for r in reasons)


def throughput_reason(advice):
    (reason,) = [r for r in advice.reasons if r.startswith("throughput")]
    return reason


def test_throughput_that_fits_sp10_names_the_figure_and_the_limit():
    advice = advise_tier(spec(tier="SP10"), {"input_mbps": 150.0, "output_mbps": 20.0, "memory_mb": 100.0})
    assert advice.tier == "SP10"
    assert throughput_reason(advice) == ("throughput 150 Mbps (input_mbps, the busier direction) fits SP10: limit "
                                         "160 Mbps = 80 % of 200 Mbps bandwidth, our headroom for bursts; "
                                         "SP5 allows 100 Mbps")
    assert not any(r.startswith("declared tier") for r in advice.reasons)


def test_memory_reads_in_the_unit_that_fits_it():
    reasons = advise_tier(spec(), {"memory_mb": 0.00222, "state_mb": 0.0}).reasons
    (reason,) = [r for r in reasons if r.startswith("memory")]
    assert reason.startswith("memory 2.273 KiB") and "fits SP2: limit 409.6 MiB" in reason


def test_throughput_over_sp10_bandwidth_recommends_sp30():
    advice = advise_tier(spec(tier="SP10"), {"input_mbps": 5.0, "output_mbps": 170.0, "memory_mb": 100.0})
    assert advice.tier == "SP30"
    reason = throughput_reason(advice)
    assert reason.startswith("throughput 170 Mbps (output_mbps, the busier direction) fits SP30: limit 600 Mbps")
    assert reason.endswith("SP10 allows 160 Mbps")
    assert "declared tier SP10 is smaller than the recommended SP30" in advice.reasons


def test_throughput_beyond_every_tier_says_so():
    advice = advise_tier(spec(), {"output_mbps": 3000.0})
    assert advice.tier == "SP50"
    reason = throughput_reason(advice)
    assert reason.startswith("throughput 3,000 Mbps (output_mbps) exceeds SP50's limit of 2,000 Mbps")


def test_byte_rate_names_are_no_longer_read():
    reasons = advise_tier(spec(), {"input_bytes_rate": 6e6, "avg_message_bytes": 1000, "input_rate": 1e5}).reasons
    assert any(r.startswith("throughput not checked: the profile has no input_mbps or output_mbps") for r in reasons)


def test_tier_advice_reads_what_the_profiler_records(tmp_path):
    from datetime import datetime, timezone

    import pandas as pd

    from sp_tasks.profiling.datafiles import save_runs
    from sp_tasks.profiling.frames import RunSummary, summary_runs
    from sp_tasks.profiling.metrics import METRIC_NAMES, METRICS

    assert all(name in METRICS and name not in METRIC_NAMES for name in THROUGHPUT_METRICS)  # recorded, not gated
    summary = RunSummary(pd.DataFrame({"processor": ["p", "p"], "metric": ["input_mbps", "memory_mb"],
                                       "value": [170.0, 50.0]}))
    path = tmp_path / "history.csv"
    save_runs(summary_runs(summary, run_id="r1", timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc),
                           git_sha="abc"), path, append=False)
    assert advise_tier(spec(), load_latest_profiles(path)["p"]).tier == "SP30"


def test_no_tier_fits_more_than_64():
    big = [{"$merge": {"parallelism": 64}}, {"$emit": {"parallelism": 4}}]
    assert advise_tier(spec(big)).tier is None


def test_resolve_tier_prefers_the_file_then_default_then_advice():
    assert resolve_tier(spec(tier="SP30"), "SP10") == "SP30"
    assert resolve_tier(spec(), "SP5") == "SP5"
    assert resolve_tier(spec([SOURCE, MERGE2]), "auto") == "SP10"


HISTORY = """run_id,timestamp,git_sha,processor,metric,value
r1,2026-01-01T00:00:00Z,aaa,p,memory_mb,100
r1,2026-01-01T00:00:00Z,aaa,p,input_rate,50
r2,2026-01-02T00:00:00Z,bbb,p,memory_mb,900
r2,2026-01-02T00:00:00Z,bbb,q,memory_mb,10
r0,2025-12-31T00:00:00Z,ccc,q,memory_mb,999
"""


def test_latest_run_per_processor(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    assert load_latest_profiles(path) == {"p": {"memory_mb": 900.0}, "q": {"memory_mb": 10.0}}
    assert load_latest_profiles(tmp_path / "missing.csv") == {}


def test_malformed_history_names_file_and_row(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("run_id,timestamp,processor,metric,value\n")
    with pytest.raises(DataFileError, match=r"history.csv: line 1: missing column\(s\) git_sha"):
        load_latest_profiles(path)
    path.write_text(HISTORY + "r3,2026-01-03T00:00:00Z,c,p,memory_mb,lots\n")
    with pytest.raises(DataFileError, match=r"history.csv: line 7: value 'lots' is not a number"):
        load_latest_profiles(path)


@pytest.mark.parametrize("row", [
    "r3,2026-01-03T00:00:00Z,c,p,heap_mb,1",  # unknown metric
    "r3,last tuesday,c,p,memory_mb,1",  # not a timestamp
    "r3,2026-01-03T00:00:00Z,c,p,memory_mb,inf",  # not finite
    ",2026-01-03T00:00:00Z,c,p,memory_mb,1",  # no run id
    "r3,2026-01-03T00:00:00Z,c,p,memory_mb",  # a field short
])
def test_tier_advice_and_compare_baseline_reject_a_history_row_alike(tmp_path, row):
    from sp_tasks.profiling.datafiles import load_runs

    path = tmp_path / "history.csv"
    path.write_text(HISTORY + row + "\n")
    with pytest.raises(DataFileError) as by_profiler:
        load_runs(path)
    with pytest.raises(DataFileError) as by_tiers:
        load_latest_profiles(path)
    assert str(by_tiers.value) == str(by_profiler.value) and f"{path}: line 7: " in str(by_tiers.value)


def test_latest_run_is_by_time_not_by_spelling_and_an_empty_history_has_none(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY + "r9,2026-01-02T01:00:00+02:00,ddd,p,memory_mb,5\n")  # 23:00Z the day before r2
    assert load_latest_profiles(path)["p"] == {"memory_mb": 900.0}
    path.write_text("")
    assert load_latest_profiles(path) == {}


def test_reading_a_history_for_tier_advice_imports_no_pandas(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    script = ("import sys\nfrom pathlib import Path\nfrom sp_tasks.tiers import load_latest_profiles\n"
              f"assert load_latest_profiles(Path({str(path)!r}))['q'] == {{'memory_mb': 10.0}}\n"
              "print([m for m in ('pandas', 'numpy', 'matplotlib', 'scipy') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[1], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_json_rendering():
    body = json.loads(render_advice([advise_tier(spec())], "json"))
    assert body["advice"][0]["processor"] == "p" and body["advice"][0]["tier"] == "SP2"
    assert render_advice([advise_tier(spec())]).startswith("p: SP2")
