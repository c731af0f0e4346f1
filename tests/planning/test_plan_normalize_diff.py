"""Normalization and diff: quiet where Atlas adds noise, exact where MongoDB reads key order."""
from __future__ import annotations

from sp_tasks.planning.diff import FieldChange, changed_stages, compute_diff
from sp_tasks.planning.normalize import (
    canonical,
    clean_options,
    connection_document,
    get_pointer,
    join_pointer,
    remove_pointer,
    same,
    secret_pointers,
    without_server_defaults,
)


def test_whole_numbers_compare_equal_across_int_and_float_but_strings_never_change():
    assert same({"size": 10}, {"size": 10.0})
    assert not same({"size": "10"}, {"size": 10})
    assert not same({"x": 10.5}, {"x": 10})
    assert canonical(True) is True and not same(True, 1)


def test_key_order_counts_only_when_asked():
    assert same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1}, ordered=True)


def test_request_only_options_nulls_and_an_empty_dlq_are_not_definition():
    assert clean_options({"resumeFromCheckpoint": False, "dlq": {}}) is None
    assert clean_options({"dlq": {"coll": "d"}, "x": None}) == {"dlq": {"coll": "d"}}


def test_connection_document_drops_read_only_fields_and_secret_values():
    body = {"id": "1", "state": "READY", "links": [], "authentication": {"username": "u", "password": "p"}}
    doc = connection_document(body, name="k", type="Kafka", secrets=("/authentication/password",))
    assert doc == {"name": "k", "type": "Kafka", "authentication": {"username": "u"}}


def test_secret_pointers_find_write_only_fields_and_credential_headers():
    body = {"authentication": {"password": "p", "username": "u"}, "headers": {"Authorization": "x", "X-Team": "t"}}
    assert secret_pointers(body) == ("/authentication/password", "/headers/Authorization")
    assert secret_pointers({"url": "https://x"}) == ()


def test_server_filled_connection_fields_are_ignored_only_when_the_file_omits_them():
    live = {"name": "k", "region": "VIRGINIA_USA", "networking": {"access": {"type": "PUBLIC"}}}
    assert without_server_defaults(live, {"name": "k"}) == {"name": "k"}
    private = {"name": "k", "networking": {"access": {"type": "PRIVATE_LINK"}}}
    assert without_server_defaults(private, {"name": "k"}) == private
    assert "region" in without_server_defaults(live, {"name": "k", "region": "OREGON_USA"})


def test_pointers_escape_slash_and_tilde():
    pointer = join_pointer("/config", "a/b~c")
    assert pointer == "/config/a~1b~0c"
    assert get_pointer({"config": {"a/b~c": 1}}, pointer) == 1
    assert remove_pointer({"config": {"a/b~c": 1, "d": 2}}, pointer) == {"config": {"d": 2}}
    assert get_pointer({"pipeline": [{"x": 1}]}, "/pipeline/3/x") is None


def test_diff_ignores_number_types_and_option_key_order():
    before = {"pipeline": [{"$match": {"x": 10.0}}], "options": {"dlq": {"db": "d", "coll": "c"}}}
    after = {"pipeline": [{"$match": {"x": 10}}], "options": {"dlq": {"coll": "c", "db": "d"}}}
    assert compute_diff(before, after) == ()


def test_reordered_keys_inside_a_pipeline_are_one_change_of_the_whole_document():
    before = {"pipeline": [{"$sort": {"a": 1, "b": -1}}]}
    after = {"pipeline": [{"$sort": {"b": -1, "a": 1}}]}
    assert compute_diff(before, after) == (FieldChange("/pipeline/0/$sort", {"a": 1, "b": -1}, {"b": -1, "a": 1}),)


def test_an_inserted_stage_is_one_addition_not_a_cascade():
    stages = [{"$source": {"connectionName": "s"}}, {"$match": {"a": 1}}, {"$merge": {"into": {"coll": "c"}}}]
    after = {"pipeline": stages[:1] + [{"$set": {"b": 2}}] + stages[1:]}
    assert compute_diff({"pipeline": stages}, after) == (FieldChange("/pipeline/1", None, {"$set": {"b": 2}}),)


def test_a_removed_stage_is_addressed_by_its_index_before():
    stages = [{"$source": {}}, {"$match": {"a": 1}}, {"$merge": {}}]
    changes = compute_diff({"pipeline": stages}, {"pipeline": [stages[0], stages[2]]})
    assert changes == (FieldChange("/pipeline/1", {"$match": {"a": 1}}, None),)


def test_a_changed_operator_is_a_whole_stage_change():
    changes = compute_diff({"pipeline": [{"$set": {"a": 1}}]}, {"pipeline": [{"$addFields": {"a": 1}}]})
    assert [c.path for c in changes] == ["/pipeline/0"]


def test_nested_field_changes_report_the_deepest_path_and_the_stage():
    before = {"pipeline": [{"$source": {}}, {"$match": {"w": {"$gt": 1}}}]}
    after = {"pipeline": [{"$source": {}}, {"$match": {"w": {"$gt": 2}}}]}
    changes = compute_diff(before, after)
    assert changes == (FieldChange("/pipeline/1/$match/w/$gt", 1, 2),)
    assert changed_stages(changes) == (1,)


def test_arrays_outside_pipelines_stay_order_sensitive():
    assert compute_diff({"urls": ["a", "b"]}, {"urls": ["b", "a"]}, ordered=()) != ()
