"""The sp command's pure renderings: tables, numbers, and what is never shown."""
from __future__ import annotations

from sp_tasks.cli import views


def test_table_aligns_text_left_and_numbers_right():
    text = views.table(("NAME", "INPUT"), [["hot", 1200], ["per_group", None]])
    assert text.splitlines() == ["NAME       INPUT", "hot        1,200", "per_group      -"]
    assert views.table(("A",), [], empty="no rows") == "no rows"


def test_numbers_are_readable_and_missing_is_a_dash():
    assert [views.cell_text(v) for v in (None, True, 0.0, 0.5, 12.345, 1234.5, 10**6)] == \
        ["-", "yes", "0", "0.5", "12.35", "1,234", "1,000,000"]


def test_connection_documents_lose_write_only_and_credential_fields():
    doc = {"name": "k", "type": "Kafka", "id": "x", "state": "READY",
           "authentication": {"mechanism": "PLAIN", "username": "u", "password": "p"}}
    assert views.safe_connection(doc) == {"name": "k", "type": "Kafka",
                                          "authentication": {"mechanism": "PLAIN", "username": "u"}}
    https = {"name": "h", "type": "Https", "url": "https://x", "headers": {"x-api-key": "k", "Accept": "json"}}
    assert views.safe_connection(https)["headers"] == {"Accept": "json"}


def test_processor_definitions_show_secret_headers_as_a_mark_and_keep_the_original():
    stage = {"$https": {"connectionName": "api", "headers": {"Authorization": "Bearer t", "X-Trace": "1"}}}
    doc = {"name": "p", "pipeline": [stage]}
    shown = views.redacted_definition(doc)
    assert shown["pipeline"][0]["$https"]["headers"] == {"Authorization": "(secret)", "X-Trace": "1"}
    assert stage["$https"]["headers"]["Authorization"] == "Bearer t"


def test_stats_records_keep_absent_metrics_as_null():
    record = views.stats_record({"name": "p", "state": "CREATED"}, {"input_count": 3.0}, verbose=True)
    assert record["input_count"] == 3 and isinstance(record["input_count"], int)  # a count, not 3.0
    assert record["latency_p99_ms"] is None and record["operatorStats"] == []
    assert views.stage_ops([{"$source": {}}, {"$merge": {}}]) == "$source > $merge"


def test_list_summary_counts_every_processor_once():
    from sp_tasks.cli.views import processors_summary, summary_line

    docs = [{"state": s} for s in ("STARTED", "STARTED", "STOPPED", "FAILED", "CREATED", "STOPPING", None)]
    counts = processors_summary(docs)
    assert counts == {"total": 7, "running": 2, "stopped": 1, "failed": 1, "created": 1, "other": 2}
    assert summary_line(counts) == "7 processor(s): 2 running, 1 stopped, 1 failed, 1 created, 2 other"


def test_output_is_json_unless_a_person_is_watching():
    import io

    from sp_tasks.console import result_format as default_format

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert default_format(Terminal()) == "text" and default_format(io.StringIO()) == "json"


def test_memory_is_shown_in_the_unit_that_shows_it():
    """2 KiB used to read "MEMORY MIB 0": a healthy-looking zero that was not zero."""
    assert [views.memory_text(v) for v in (2 / 1024, 12.5, 1229 / 1, 0.0, None)] == [
        "2 KiB", "12.5 MiB", "1.2 GiB", "0 MiB", None]
    table = views.stats_table([{"name": "p", "state": "STARTED", "tier": "SP10", "input_count": 5, "output_count": 5,
                                "dlq_count": 0, "latency_p50_ms": 1.0, "latency_p99_ms": 2.0, "memory_mb": 2 / 1024}])
    assert "MEMORY" in table.splitlines()[0] and table.splitlines()[1].endswith("2 KiB")
