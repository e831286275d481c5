"""Type errors: each names the problem and points at the offending token."""

from __future__ import annotations

import pytest

from keeldb.errors import FilterError, InvalidArgument
from keeldb.expr import compile_filter

from .conftest import FIELDS


def error_of(expression: str, *, dynamic: bool = False, params=None) -> FilterError:
    with pytest.raises(FilterError) as info:
        compile_filter(expression, FIELDS, dynamic=dynamic, params=params)
    return info.value


def caret(error: FilterError) -> int:
    lines = error.message.split("\n")
    return lines[2].index("^") - 2


@pytest.mark.parametrize(
    ("expression", "message", "at"),
    [
        ("title > 5", "cannot compare VARCHAR field 'title' with integer 5", 8),
        ("5 < title", "cannot compare integer 5 with VARCHAR field 'title'", 0),
        ("size == 'a'", "cannot compare INT32 field 'size' with string \"a\"", 8),
        ('price >= "1.5"', "cannot compare DOUBLE field 'price' with string", 9),
        ("flag == 1", "cannot compare BOOL field 'flag' with integer 1", 8),
        ("size == true", "cannot compare INT32 field 'size' with boolean true", 8),
        ("title == size", "cannot compare VARCHAR field 'title' with INT32 field 'size'", 9),
        ("flag > false", "booleans can only be compared with == and !=", 5),
        ("size like 'a%'", "'like' needs a VARCHAR or JSON operand, got INT32 field 'size'", 0),
        ("size in [1, 'a']", "cannot compare INT32 field 'size' with string \"a\"", 12),
        ("title in ['a', 2]", "cannot compare VARCHAR field 'title' with integer 2", 15),
        ("size in [[1]]", "lists hold scalar values", 9),
        ("size in [id]", "list values must be constants", 9),
        ("size", "expected a condition, got INT32 field 'size'", 0),
        ("title and flag", "expected a condition, got VARCHAR field 'title'", 0),
        ("not size", "expected a condition", 4),
        ("'abc'", "expected a condition, got string", 0),
        ("title + 1 > 2", "'+' needs numbers, got VARCHAR field 'title'", 0),
        ("flag * 2 > 1", "'*' needs numbers, got BOOL field 'flag'", 0),
        ("-title == 'a'", "'-' needs numbers", 1),
        ("size / 0 > 1", "division by zero", 7),
        ("size % (1 - 1) > 1", "division by zero", 10),
        ("1 == 'a'", "cannot compare integer 1 with string", 5),
        ("vec == 1", "vector field 'vec' cannot be used in a filter", 0),
        ("tags == 'x'", "cannot compare ARRAY field 'tags'", 0),
        ("tags['a'] == 'x'", "takes one integer index", 0),
        ("size[0] == 1", "INT32 field 'size' cannot be indexed", 0),
        ("size is null and (size + 1) is null", "'is null' applies to fields", 23),
        ("exists size", "'exists' applies to JSON paths and dynamic fields only", 7),
        ("json_contains(meta)", "json_contains takes 2 arguments, got 1", 0),
        ("array_length(tags, 1) > 0", "array_length takes 1 argument, got 2", 0),
        ("array_contains(size, 1)", "needs an ARRAY field or a JSON path", 15),
        ("array_contains(tags, 1)", "holds VARCHAR values, not integer 1", 21),
        ("array_contains_all(tags, 'x')", "needs a list of values", 25),
        ("array_contains_any(nums, [1, 'x'])", "holds INT64 values, not string", 29),
        ("json_contains(meta, size)", "needs a constant value", 20),
        ("jsn_contains(meta, 1)", "unknown function 'jsn_contains'", 0),
        ("$meta['a'] == 1", "only available when the collection has dynamic fields", 0),
        ("(2 ** 128) ** 128 == size", "wider than 4096 bits", 11),
    ],
)
def test_type_errors(expression, message, at):
    error = error_of(expression)
    assert message in str(error)
    assert caret(error) == at
    assert isinstance(error, InvalidArgument) and error.code == 1100


def test_unknown_field_suggests_a_name():
    error = error_of("titel == 'a'")
    assert "field 'titel' does not exist" in str(error)
    assert error.hint == "did you mean 'title'?"
    assert caret(error) == 0


def test_unknown_field_without_a_close_name_lists_fields():
    error = error_of("zzzzzz == 1")
    assert error.hint is not None and "fields: " in error.hint
    assert "vec" not in error.hint  # vectors are not offered


def test_unknown_function_suggests_a_name():
    error = error_of("array_lenght(tags) > 1")
    assert error.hint == "did you mean 'array_length'?"


def test_unknown_name_is_a_dynamic_key_when_dynamic():
    compiled = compile_filter("colour == 'red'", FIELDS, dynamic=True)
    assert compiled is not None and compiled.columns == {"$meta"}


def test_schema_fields_win_over_dynamic_keys():
    compiled = compile_filter("title == 'red'", FIELDS, dynamic=True)
    assert compiled is not None and compiled.columns == {"title"}


def test_json_compares_with_any_scalar():
    for expression in (
        "meta['a'] == 1",
        "meta['a'] == 'x'",
        "meta['a'] != true",
        "meta['a'] > 1.5",
        "meta['a'] like 'x%'",
        "meta['a'] in [1, 'x', true]",
        "meta['a'] == size",
        "meta['a'] < meta['b']",
    ):
        assert compile_filter(expression, FIELDS, dynamic=False) is not None


def test_json_bool_ordering_is_refused():
    assert "booleans" in str(error_of("meta['a'] > true"))


def test_function_names_are_case_insensitive():
    assert compile_filter("JSON_CONTAINS(meta['t'], 1)", FIELDS, dynamic=False) is not None
    assert compile_filter("Array_Length(tags) == 1", FIELDS, dynamic=False) is not None


def test_template_errors():
    error = error_of("size > {min_sise}", params={"min_size": 1})
    assert "template parameter 'min_sise' has no value" in str(error)
    assert error.hint == "did you mean 'min_size'?"
    error = error_of("size > {x}", params={"x": {"a": 1}})
    assert "unsupported type dict" in str(error)
    error = error_of("size > {x}", params={"x": None})
    assert "unsupported type NoneType" in str(error)
    error = error_of("size > {x}", params={"x": float("nan")})
    assert "is nan" in str(error)
    error = error_of("title in {x}", params={"x": ["a", 1]})
    assert "cannot compare VARCHAR field 'title' with integer 1" in str(error)
    error = error_of("title in {x}", params={"x": "abc"})
    assert "expected a list after 'in'" in str(error)
