"""Position-tracking JSON: values as json.loads gives them, lines per pointer, exact syntax errors."""
from __future__ import annotations

import pytest

from sp_tasks import jsonpos
from sp_tasks.errors import MalformedJson

TEXT = """{
  "name": "p",
  "pipeline": [
    {"$source": {"connectionName": "a/b~c"}},
    {"$merge":
      {"into": {"db": "x"}}}
  ],
  "z": 1, "a": 2
}"""


def test_value_keeps_key_order_and_lines_point_at_keys_and_elements():
    doc = jsonpos.parse(TEXT)
    assert list(doc.value) == ["name", "pipeline", "z", "a"]
    assert doc.lines["/name"] == 2
    assert doc.lines["/pipeline/1"] == 5
    assert doc.lines["/pipeline/1/$merge/into/db"] == 6
    assert doc.lines["/pipeline/0/$source/connectionName"] == 4


def test_line_of_falls_back_to_nearest_ancestor():
    doc = jsonpos.parse(TEXT)
    assert doc.line_of("/pipeline/1/$merge/into/coll") == 6
    assert doc.line_of("/nothing/here") == 1
    assert doc.line_of("") == 1


def test_pointer_tokens_are_escaped_and_unescaped():
    assert jsonpos.join("", "a/b", "c~d", 3) == "/a~1b/c~0d/3"
    assert jsonpos.split("/a~1b/c~0d/3") == ["a/b", "c~d", "3"]
    assert jsonpos.split("") == []


def test_duplicate_keys_are_recorded_and_the_last_wins():
    doc = jsonpos.parse('{"a": 1,\n "b": {"x": 1, "x": 2},\n "a": 3}')
    assert doc.value == {"a": 3, "b": {"x": 2}}
    assert doc.duplicate_keys == ("/b/x", "/a")
    assert doc.lines["/a"] == 3


@pytest.mark.parametrize("text, line, column", [
    ('{\n  "a": 1,\n}', 3, 1),
    ('{"a": 1', 1, 8),
    ("", 1, 1),
    ('[1,\n 2\n 3]', 3, 2),
    ('{"a": "ok",\n "b": NaN}', 2, 7),
])
def test_malformed_json_reports_line_and_column(text, line, column):
    with pytest.raises(MalformedJson) as info:
        jsonpos.parse(text, "processors/x.json")
    assert (info.value.line, info.value.column) == (line, column)
    assert str(info.value).startswith(f"processors/x.json:{line}:{column}: malformed JSON")


def test_scalars_unicode_and_nesting():
    doc = jsonpos.parse('[true, null, -1.5e3, "é\\u00e9\\"", [[{}]]]')
    assert doc.value == [True, None, -1500.0, 'éé"', [[{}]]]
    assert doc.lines["/4/0/0"] == 1
