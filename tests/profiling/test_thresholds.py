"""thresholds.json limits against a run summary: seed keys, generic keys, per-processor overrides."""
from __future__ import annotations

import pandas as pd
import pytest

from sp_tasks.errors import ConfigError
from sp_tasks.profiling.thresholds import check_thresholds, parse_thresholds


def summary(rows):
    return pd.DataFrame.from_records(rows, columns=["processor", "metric", "value"])


SUMMARY = summary([
    ("fast", "input_rate", 900.0), ("fast", "output_rate", 10.0), ("fast", "memory_mb", 600.0),
    ("fast", "latency_p99_ms", 80.0), ("fast", "dlq_rate", 0.0),
    ("windowed", "input_rate", 0.8), ("windowed", "memory_mb", 100.0), ("windowed", "latency_p99_ms", 14000.0),
])
SEED = {"memory_mb": 512, "latency_p99_ms": 2000, "throughput_min": 50, "dlq_rate_max": 1.0,
        "processors": {"windowed": {"latency_p99_ms": 15000, "throughput_min": 0.5}}}


def test_seed_keys_global_and_per_processor():
    breaches = check_thresholds(SUMMARY, SEED, source="environments/local/thresholds.json")
    assert [(b.processor, b.metric, b.kind) for b in breaches] == [("fast", "memory_mb", "max")]
    assert breaches[0].reason == "memory_mb 600 MiB > max 512 MiB (global limit)"


def test_throughput_min_is_about_input_not_output():
    # "fast" filters 99 % of its input: output 10 msg/s is healthy, input 900 msg/s is its throughput
    lifted = {"windowed": {"throughput_min": None}}  # null lifts the global limit for one processor
    assert check_thresholds(SUMMARY, {"throughput_min": 50, "processors": lifted}) == []
    (breach,) = check_thresholds(SUMMARY, {"throughput_min": 1000, "processors": lifted})
    assert (breach.processor, breach.metric, breach.kind, breach.limit) == ("fast", "input_rate", "min", 1000.0)


def test_generic_keys_and_override_reason():
    limits = {"output_rate_min": 20, "processors": {"windowed": {"latency_p99_ms_max": 10000, "output_rate": None}}}
    got = [(b.processor, b.metric, b.value) for b in check_thresholds(SUMMARY, limits)]
    assert got == [("fast", "output_rate", 10.0), ("windowed", "latency_p99_ms", 14000.0)]
    assert check_thresholds(SUMMARY, limits)[1].reason.endswith("(limit for windowed)")


def test_unmeasured_minimum_breaches_but_unmeasured_maximum_does_not():
    (breach,) = check_thresholds(SUMMARY, {"output_rate_min": 1, "state_mb": 10})
    assert breach.processor == "windowed" and breach.value is None
    assert breach.reason == "output_rate not measured (min 1 msg/s, global limit)"


def test_comments_and_other_sections_are_skipped():
    assert check_thresholds(SUMMARY, {"_comment": "x", "$schema": "y", "health": {"samples": 3}}) == []


@pytest.mark.parametrize("doc, message", [
    ({"latency_p95_ms": 10}, "unknown threshold key 'latency_p95_ms'"),
    ({"memory_mb": "512"}, "memory_mb must be a number or null"),
    ({"memory_mb": True}, "memory_mb must be a number or null"),
    ({"processors": {"a": {"bogus_max": 1}}}, "t.json: processors.a: unknown threshold key 'bogus_max'"),
    ({"processors": ["a"]}, "processors must be an object"),
])
def test_bad_keys_and_values_name_the_file_and_key(doc, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_thresholds(doc, source="t.json")


def test_bandwidth_takes_an_explicit_maximum_only():
    rows = summary([("fast", "input_mbps", 170.0), ("fast", "output_mbps", 2.0), ("windowed", "input_rate", 0.8)])
    (breach,) = check_thresholds(rows, {"input_mbps_max": 160, "output_mbps_max": 160})
    assert breach.reason == "input_mbps 170 Mbps > max 160 Mbps (global limit)"
    assert check_thresholds(rows, {"processors": {"fast": {"input_mbps_max": 200}}}) == []
    for key in ("input_mbps_min", "input_mbps"):  # no floor: the API may omit message sizes
        with pytest.raises(ConfigError, match=f"'{key}': input_mbps is informational and takes only a maximum"):
            parse_thresholds({key: 1}, source="t.json")


def test_unknown_key_lists_the_bandwidth_maxima():
    with pytest.raises(ConfigError, match="state_mb\\[_max\\|_min\\], input_mbps_max, output_mbps_max, processors"):
        parse_thresholds({"bandwidth": 1})
