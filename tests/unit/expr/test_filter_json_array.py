"""JSON paths, dynamic fields, ARRAY fields and the contains / length functions."""

from __future__ import annotations

import pytest

from .conftest import select

# meta: 0 {"a": 1, "b": {"c": "x"}, "t": [1, 2, "z"], "flag": true}
#       1 {"a": "s", "t": "not a list"}          2 null
#       3 {"a": 2.5, "t": [], "n": null}         4 {"a": true, "b": {"c": "y"}, "t": [[1, 2], 3]}
#       5 {"a": 9223372036854775807}
# $meta: 0 {"color": "red", "n": 3}  1 {}  2 null  3 {"color": "blue", "n": 2.5}
#        4 {"color": 7}  5 {"n": null}


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ('meta["a"] == 1', [0]),  # true is not the number 1
        ('meta["a"] != 1', [1, 3, 4, 5]),  # other types are not equal; missing is unknown
        ('meta["a"] > 1', [3, 5]),
        ('not (meta["a"] > 1)', [0, 1, 4]),  # "s" > 1 is false, so its not is true
        ('meta["a"] == true', [4]),
        ('meta["a"] == "s"', [1]),
        ('meta["a"] == 9223372036854775807', [5]),
        ('meta["a"] > 2.4 and meta["a"] < 2.6', [3]),
        ('meta["a"] in [1, "s"]', [0, 1]),
        ('meta["a"] not in [1, "s"]', [3, 4, 5]),
        ('meta["a"] like "s%"', [1]),
        ('meta["a"] like "%"', [1]),
        ('meta["b"]["c"] == "x"', [0]),
        ('meta["b"]["c"] != "x"', [4]),
        ('meta["t"][2] == "z"', [0]),
        ('meta["t"][0][1] == 2', [4]),
        ('meta["t"][9] == 1', []),
        ('meta["a"]["deeper"] == 1', []),
        ("meta['a'] == 1", [0]),
        ('meta["missing"] is null', [0, 1, 2, 3, 4, 5]),
        ('meta["a"] is null', [2]),
        ('meta["a"] is not null', [0, 1, 3, 4, 5]),
        ('meta["n"] is null', [0, 1, 2, 4, 5]),  # is null == not exists, as in Milvus
        ('meta["n"] is not null', [3]),  # the key holds JSON null: it exists
        ('exists meta["n"]', [3]),  # ... but the key exists
        ('exists meta["b"]["c"]', [0, 4]),
        ("meta is null", [2]),
        ('meta["flag"]', [0]),
        ('not meta["flag"]', []),
        ('meta["a"] + 1 > 2', [3, 5]),
        ('meta["a"] * 2 == 5', [3]),
        ('meta["a"] % 2 == 1', [0, 5]),
        ("meta['a'] == size", []),
        ("meta['a'] != size", [0, 3, 4, 5]),
        ('meta["a"] < meta["a"] + 1', [0, 3, 5]),
        ('meta["flag"] <= meta["flag"]', []),  # booleans are never ordered
        ('meta["flag"] == meta["flag"]', [0]),
    ],
)
def test_json_paths(expression, ids):
    assert select(expression) == ids


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ('json_contains(meta["t"], 2)', [0]),
        ('json_contains(meta["t"], "z")', [0]),
        ('json_contains(meta["t"], 2.0)', [0]),
        ('json_contains(meta["t"], [1, 2])', [4]),
        ('json_contains(meta["t"], true)', []),
        ('not json_contains(meta["t"], 2)', [1, 3, 4]),  # non-lists are false, missing unknown
        ('json_contains_all(meta["t"], [1, 2])', [0]),
        ('json_contains_all(meta["t"], [1, 3])', []),
        ('json_contains_all(meta["t"], [])', [0, 3, 4]),
        ('json_contains_any(meta["t"], ["z", 3])', [0, 4]),
        ('json_contains_any(meta["t"], [])', []),
        ('JSON_CONTAINS_ANY(meta["t"], {vals})', [0, 4]),
        ('array_length(meta["t"]) == 0', [3]),
        ('array_length(meta["t"]) >= 2', [0, 4]),
        ('array_contains(meta["t"], 3)', [4]),  # the json_ and array_ names are the same
    ],
)
def test_json_functions(expression, ids):
    assert select(expression, params={"vals": ["z", 3]}) == ids


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ('color == "red"', [0]),
        ('color != "red"', [3, 4]),
        ("color > 5", [4]),
        ('color like "b%"', [3]),
        ('$meta["color"] == "blue"', [3]),
        ("exists color", [0, 3, 4]),
        ('exists $meta["color"]', [0, 3, 4]),
        ("color is null", [1, 2, 5]),
        ("n > 2", [0, 3]),
        ("n == 3.0", [0]),
        ("exists n", [0, 3, 5]),
        ("n is null", [1, 2, 4]),  # row 5 holds {"n": null}: the key exists
        ('color in ["red", 7]', [0, 4]),
        ("n * 2 == 5", [3]),
        ('color == "red" or size < 0', [0, 3]),
    ],
)
def test_dynamic_fields(expression, ids):
    assert select(expression) == ids


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ('array_contains(tags, "x")', [0, 4, 5]),
        ('ARRAY_CONTAINS(tags, "x")', [0, 4, 5]),
        ('not array_contains(tags, "x")', [1, 3]),  # the null array stays unknown
        ('array_contains_all(tags, ["x", "y"])', [0, 5]),
        ('array_contains_any(tags, ["z", "y"])', [0, 3, 5]),
        ("array_contains_all(tags, [])", [0, 1, 3, 4, 5]),
        ("array_contains_any(tags, [])", []),
        ("array_length(tags) == 0", [1]),
        ("array_length(tags) > 1", [0, 5]),
        ("array_length(nums) == 3", [3]),
        ('tags[0] == "x"', [0, 4]),
        ('tags[1] == "x"', [5]),
        ('tags[2] == "y"', [5]),
        ('tags[5] == "y"', []),
        ('not tags[1] == "x"', [0]),  # out of range is null
        ("tags[1] is null", [1, 2, 3, 4]),
        ('tags[0] like "%"', [0, 3, 4, 5]),
        ('tags[0] in ["z", "y"]', [3, 5]),
        ("nums[0] + nums[1] == 14", [5]),
        ("nums[0] in [1, 4]", [0, 3]),
        ("nums[0] > 2.5", [1, 3, 5]),
        ("array_contains(nums, 7)", [5]),
        ("array_contains(nums, 2.0)", [0, 4]),
        ("array_contains(nums, 2.5)", []),
        ("array_contains_any(nums, [3, 6])", [1, 3]),
        ("tags is null", [2]),
        ("nums is not null", [0, 1, 2, 3, 4, 5]),
    ],
)
def test_arrays(expression, ids):
    assert select(expression) == ids
