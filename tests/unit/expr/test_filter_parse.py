"""Syntax: literals, keywords, precedence, chained ranges, lists, syntax errors."""

from __future__ import annotations

import pytest

from keeldb.errors import FilterError
from keeldb.expr import ast, compile_filter
from keeldb.expr.parser import parse_expression

from .conftest import FIELDS, select


def literal(text: str):
    node = parse_expression(f"x == {text}")
    assert isinstance(node, ast.Compare) and isinstance(node.right, ast.Literal)
    return node.right.value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("0", 0),
        ("0x1F", 31),
        ("0XfF", 255),
        ("0b101", 5),
        ("0o17", 15),
        ("017", 15),  # a leading zero means octal, as in Milvus
        ("123456789012345678901234567890", 123456789012345678901234567890),
        ("1.5", 1.5),
        (".5", 0.5),
        ("2.", 2.0),
        ("1e3", 1000.0),
        ("1.5E-2", 0.015),
        ('"abc"', "abc"),
        ("'abc'", "abc"),
        ('"it\'s"', "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        (r'"a\"b"', 'a"b'),
        (r"'a\'b'", "a'b"),
        (r'"tab\there\nnew"', "tab\there\nnew"),
        (r'"back\\slash"', "back\\slash"),
        (r'"\u00e4\x41"', "äA"),
        (r'"\U0001F600"', "\U0001f600"),
        (r'"\ud83d\ude00"', "\U0001f600"),  # a surrogate pair makes one character
        (r'"50\%"', "50\\%"),  # unknown escapes keep their backslash (LIKE patterns)
        ('"日本語 ✓"', "日本語 ✓"),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
    ],
)
def test_literals(text, value):
    got = literal(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ("size > 5 and size < 100 or id == 3", [0, 3]),
        ("id == 3 or size > 5 and size < 100", [0, 3]),
        ("(id == 3 or size > 5) and size < 100", [0, 3]),
        ("not id == 1 and id < 3", [0, 2]),  # not binds tighter than and ...
        ("not (id == 1 or id == 2) and id < 4", [0, 3]),
        ("!(id < 4)", [4, 5]),  # ... and looser than comparisons
        ("id < 2 || id > 4 && flag", [0, 1, 5]),
        ("id > 0 AND id < 3 OR id == 5", [1, 2, 5]),
        ("id > 0 And id < 3", [1, 2]),
        ("not not id == 1", [1]),
        ("id + 2 * 3 == 9", [3]),  # * before +
        ("(id + 2) * 3 == 9", [1]),
        ("id - 1 - 1 == 0", [2]),  # left associative
        ("2 ** 3 ** 0 == 2 and id == 1", [1]),  # right associative: 2 ** (3 ** 0)
        ("-2 ** 2 == -4 and id == 1", [1]),  # unary minus below **
        ("- id == -4", [4]),
        ("+id == 4", [4]),
        ("id == 2 ** -1 * 8", [4]),
    ],
)
def test_precedence(expression, ids):
    assert select(expression) == ids


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ("0 < id < 3", [1, 2]),
        ("0 <= id <= 3", [0, 1, 2, 3]),
        ("3 > id >= 1", [1, 2]),
        ("3 >= id > 1", [2, 3]),
        ("-10 < size <= 10", [0, 3, 4]),
        ("1 < id + 1 < 4", [1, 2]),
    ],
)
def test_chained_ranges(expression, ids):
    assert select(expression) == ids


@pytest.mark.parametrize(
    "expression", ["1 < id > 0", "id == 1 == 1", "0 < id >= 1", "1 != id != 2"]
)
def test_mixed_chain_is_refused(expression):
    with pytest.raises(FilterError, match="cannot chain"):
        compile_filter(expression, FIELDS, dynamic=False)


def test_keywords_are_whole_words():
    fields = dict(FIELDS)
    from keeldb.schema.field import FieldSchema
    from keeldb.types import DataType

    for name in ("notes", "order", "android", "island", "likes", "innings", "trueness", "nullable"):
        fields[name] = FieldSchema(name, DataType.INT64)
    expression = " and ".join(
        f"{name} > 0"
        for name in (
            "notes",
            "order",
            "android",
            "island",
            "likes",
            "innings",
            "trueness",
            "nullable",
        )
    )
    compiled = compile_filter(expression, fields, dynamic=False)
    assert compiled is not None
    assert "notes" in compiled.columns and "order" in compiled.columns


def test_list_forms():
    assert select("id in [1, 2,]") == [1, 2]
    assert select("id in []") == []
    assert select("id not in []") == [0, 1, 2, 3, 4, 5]
    assert select("id in [-1, 1 + 1, 2 * 2]") == [2, 4]
    assert select("id IN [1] or id NOT IN [0, 1, 2, 3, 4]") == [1, 5]


def test_whitespace_and_newlines():
    assert select("\n  id\t==\r\n 1  ") == [1]


@pytest.mark.parametrize("expression", ["", "   ", "\n\t"])
def test_empty_filter_is_none(expression):
    assert compile_filter(expression, FIELDS, dynamic=False) is None


@pytest.mark.parametrize(
    ("expression", "message", "caret_at"),
    [
        ("id >", "unexpected end of expression", 4),
        ("id > 1 and", "unexpected end of expression", 10),
        ("id >> 1", "unexpected '>'", 4),
        ("id = 1", "unexpected character '='", 3),
        ("id == 1)", "unexpected ')'", 7),
        ("(id == 1", "unexpected end of expression", 8),
        ("id == 'abc", "unterminated string literal", 6),
        ('title == "abc', "unterminated string literal", 9),
        ("id == 1 id == 2", "unexpected 'id'", 8),
        ("id in 1", "expected a list after 'in'", 6),
        ("title like 5", "'like' needs a string pattern", 11),
        ("id == 08", "invalid octal literal 08", 6),
        ("id == 1e999", "out of range", 6),
        ("id == #", "unexpected character '#'", 6),
        ("id == 12abc", "unexpected 'abc'", 8),
        (r'title == "\ud800"', "unpaired surrogate", 10),
    ],
)
def test_syntax_errors_point_at_the_problem(expression, message, caret_at):
    with pytest.raises(FilterError) as info:
        compile_filter(expression, FIELDS, dynamic=False)
    error = info.value
    assert message in str(error)
    lines = error.message.split("\n")
    assert lines[1] == "  " + expression
    assert lines[2] == "  " + " " * caret_at + "^"
    assert error.position == caret_at


def test_syntax_error_lists_what_was_expected():
    with pytest.raises(FilterError) as info:
        compile_filter("id == 1 and (", FIELDS, dynamic=False)
    assert "expected" in str(info.value)
    assert info.value.hint is not None
