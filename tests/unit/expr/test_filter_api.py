"""CompiledFilter's API: columns, primary keys, pruning, explain, limits, failures."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from keeldb.errors import FilterError
from keeldb.expr import (
    MAX_EXPRESSION_LENGTH,
    MAX_LIST_LENGTH,
    MAX_NESTING_DEPTH,
    CompiledFilter,
    compile_filter,
)
from keeldb.schema.field import FieldSchema
from keeldb.types import DataType

from .conftest import FIELDS, TABLE, select


def compiled(expression: str, *, dynamic: bool = True, params=None, fields=FIELDS):
    result = compile_filter(expression, fields, dynamic=dynamic, params=params)
    assert isinstance(result, CompiledFilter)
    return result


@pytest.mark.parametrize(
    ("expression", "columns"),
    [
        ("size > 1", {"size"}),
        ("size > 1 and color == 'x'", {"size", "$meta"}),
        ("meta['a'] == 1 or array_contains(tags, 'x')", {"meta", "tags"}),
        ("nums[0] + id > 2", {"nums", "id"}),
        ("true", set()),
    ],
)
def test_columns(expression, columns):
    assert compiled(expression).columns == frozenset(columns)


@pytest.mark.parametrize(
    ("expression", "keys"),
    [
        ("id in [3, 1, 3]", [3, 1]),
        ("id == 5", [5]),
        ("5 == id", [5]),
        ("id == 1 or id in [2, 3] or id == 1", [1, 2, 3]),
        ("(id == 1 or id == 2) or id == 7", [1, 2, 7]),
        ("id in []", []),
        ("id == 2.0", [2]),
        ("id == 2.5", []),
        ("id in [99999999999999999999, 4]", [4]),
        ("id in {ids}", [8, 9]),
        ("id == 1 and size > 0", None),
        ("id > 1", None),
        ("id != 1", None),
        ("not id in [1]", None),
        ("id not in [1]", None),
        ("id == 1 or size == 1", None),
        ("size == 1", None),
        ("id + 0 == 1", None),
        ("true", None),
    ],
)
def test_primary_key_values(expression, keys):
    assert compiled(expression, params={"ids": [8, 9]}).primary_key_values("id") == keys


def test_primary_key_values_for_a_varchar_key():
    fields = {
        "name": FieldSchema("name", DataType.VARCHAR, is_primary=True, max_length=10),
        "n": FieldSchema("n", DataType.INT64),
    }
    f = compiled('name in ["a", "b"] or name == "c"', fields=fields)
    assert f.primary_key_values("name") == ["a", "b", "c"]
    assert compiled('name > "a"', fields=fields).primary_key_values("name") is None


@pytest.mark.parametrize(
    ("expression", "stats", "may"),
    [
        ("size > 5", {"size": (0, 5)}, False),
        ("size > 5", {"size": (0, 6)}, True),
        ("size >= 5", {"size": (0, 5)}, True),
        ("size < 0", {"size": (0, 5)}, False),
        ("5 < size", {"size": (0, 5)}, False),
        ("size == 7", {"size": (0, 5)}, False),
        ("size == 7", {"size": (7, 7)}, True),
        ("not size == 7", {"size": (7, 7)}, False),
        ("size != 7", {"size": (7, 7)}, False),
        ("size != 7", {"size": (6, 7)}, True),
        ("price != 2", {"price": (2.0, 2.0)}, True),  # NaN rows are != 2
        ("size > 5.5", {"size": (0, 5)}, False),
        ("10 < size <= 500", {"size": (600, 900)}, False),
        ("10 < size <= 500", {"size": (0, 11)}, True),
        ("size > 5 or title == 'a'", {"size": (0, 5), "title": ("b", "c")}, False),
        ("size > 5 or title == 'b'", {"size": (0, 5), "title": ("b", "c")}, True),
        ("size > 5 and id == 1", {"size": (0, 5)}, False),
        ("size > 5 and id == 1", {"size": (0, 9)}, True),
        ("size in [100, 200]", {"size": (0, 50)}, False),
        ("size in [100, 20]", {"size": (0, 50)}, True),
        ("size not in [1]", {"size": (1, 1)}, False),
        ("not size in [1, 2]", {"size": (1, 1)}, False),
        ("price not in [1.0]", {"price": (1.0, 1.0)}, True),
        ("title like 'a%'", {"title": ("b", "c")}, True),
        ("size > 5", {}, True),
        ("size > 5", {"size": (None, None)}, True),
        ("size > 5", {"size": ("a", "b")}, True),
        ("size > 5", {"size": (float("nan"), 1)}, True),
        ("size > 5", {"size": "garbage"}, True),
        ("meta['a'] > 5", {"meta": (0, 1)}, True),
        ("false", {}, False),
        ("flag == true", {"flag": (False, False)}, False),
    ],
)
def test_may_match(expression, stats, may):
    assert compiled(expression).may_match(stats) is may


def test_explain_shows_the_structure():
    text = compiled("10 < size <= 500 and (title in ['a', 'b'] or not color == 'red')").explain()
    assert text.splitlines()[0].startswith("filter: 10 < size")
    assert "AND" in text and "OR" in text and "NOT" in text
    assert "10 < size (INT32)" in text
    assert 'title (VARCHAR) in ["a", "b"]' in text
    assert "color ($meta: JSON)" in text
    many = compiled("id in {ids}", params={"ids": list(range(100))}).explain()
    assert "(100 values)" in many


def test_missing_table_column_is_a_filter_error():
    with pytest.raises(FilterError, match="does not have"):
        compiled("size > 1").evaluate(pa.table({"id": [1]}))


def test_bad_arguments_are_filter_errors():
    with pytest.raises(FilterError):
        compile_filter(b"id > 1", FIELDS, dynamic=False)  # type: ignore[arg-type]
    with pytest.raises(FilterError):
        compile_filter("id > 1", FIELDS, dynamic=False, params=[1])  # type: ignore[arg-type]
    with pytest.raises(FilterError, match="lone surrogate"):
        compile_filter("title == '\ud800'", FIELDS, dynamic=False)
    with pytest.raises(FilterError, match="lone surrogate"):
        compile_filter("title == {t}", FIELDS, dynamic=False, params={"t": "\udc00"})


# -- limits ---------------------------------------------------------------------------
def test_expression_length_limit():
    assert MAX_EXPRESSION_LENGTH == 65_536
    with pytest.raises(FilterError, match="too long"):
        compile_filter("id == 1 or " * 6000 + "id == 2", FIELDS, dynamic=False)


def test_long_flat_expressions_are_fine():
    expression = " or ".join(f"id == {i}" for i in range(3000))
    assert select(expression) == [0, 1, 2, 3, 4, 5]
    values = ", ".join(str(i) for i in range(10_000))
    assert select(f"id in [{values}]") == [0, 1, 2, 3, 4, 5]


def test_nesting_limit_points_at_the_bracket():
    ok = "(" * MAX_NESTING_DEPTH + "id == 1" + ")" * MAX_NESTING_DEPTH
    assert select(ok) == [1]
    too_deep = "(" * (MAX_NESTING_DEPTH + 1) + "id == 1" + ")" * (MAX_NESTING_DEPTH + 1)
    with pytest.raises(FilterError, match="nested too deeply") as info:
        compile_filter(too_deep, FIELDS, dynamic=False)
    assert info.value.position is not None
    assert select("(" * 40 + "id == 1" + ")" * 40) == [1]


@pytest.mark.parametrize(
    "expression",
    [
        "(" * 1_000_000,
        "(" * 60_000,
        "[" * 60_000,
        "(" * 30_000 + ")" * 30_000,
        "not " * 10_000 + "flag",
        "!" * 60_000 + "flag",
        "-" * 60_000 + "1 > 0",
        "id" + " + 1" * 10_000 + " > 0",
        "2 ** " * 10_000 + "2 > 0",
        "json_contains(" * 5_000,
    ],
)
def test_hostile_nesting_is_refused_quickly(expression):
    started = time.monotonic()
    with pytest.raises(FilterError):
        compile_filter(expression, FIELDS, dynamic=True)
    assert time.monotonic() - started < 10  # generous: this guards hangs, not speed


def test_brackets_inside_strings_do_not_count():
    text = "(" * 500
    assert select(f"title == '{text}' or id == 1") == [1]


def test_list_and_literal_limits():
    assert MAX_LIST_LENGTH == 100_000
    ok = list(range(MAX_LIST_LENGTH))
    assert select("id in {ids}", params={"ids": ok}) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(FilterError, match="100,001 values"):
        compile_filter("id in {ids}", FIELDS, dynamic=False, params={"ids": ok + [1]})
    with pytest.raises(FilterError, match="integer literal is too long"):
        compile_filter("id == " + "9" * 401, FIELDS, dynamic=False)
    assert select("id < " + "9" * 400) == [0, 1, 2, 3, 4, 5]


def test_error_on_a_long_expression_is_windowed():
    expression = "id == 1 and " * 1000 + "id == 'x'"
    with pytest.raises(FilterError) as info:
        compile_filter(expression, FIELDS, dynamic=False)
    lines = info.value.message.split("\n")
    assert lines[1].startswith("  ...") and len(lines[1]) < 200
    assert lines[1][lines[2].index("^")] == "'"


def test_evaluate_does_not_mutate_and_is_repeatable():
    f = compiled("size > 0 and meta['a'] != 1")
    first = f.evaluate(TABLE)
    assert (f.evaluate(TABLE) == first).all()
    assert "size > 0" in repr(f)
