"""Evaluation of scalar fields: comparisons, nulls, numbers, strings, arithmetic."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from keeldb.expr import compile_filter

from .conftest import FIELDS, TABLE, select

# size:  [10, None, 300, -5, 0, 2**31-1]     small: [1, -128, 127, 0, 5, -1]
# price: [1.5, 2.0, None, nan, 0.0, -3.25]   ratio (float32): [0.1, 0.5, 1, -0.1, 2.5, 0]
# title: ["apple", "banana", None, "äpfel", "", "Apple pie"]
# flag:  [True, False, None, True, False, True]
# big:   [2**63-1, -2**63, 2**53+1, 0, 7, -7]


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ("size == 10", [0]),
        ("10 == size", [0]),
        ("size != 10", [2, 3, 4, 5]),  # null row 1 is not a match
        ("size > 0", [0, 2, 5]),
        ("0 < size", [0, 2, 5]),
        ("size >= 0", [0, 2, 4, 5]),
        ("size < 0", [3]),
        ("size <= 0", [3, 4]),
        ("not size > 0", [3, 4]),  # not of unknown is still not a match
        ("not (size > 0 or size <= 0)", []),
        ("size > 0 or id == 1", [0, 1, 2, 5]),  # unknown or true -> true
        ("not (size > 0 and id == 1)", [0, 2, 3, 4, 5]),  # unknown and false -> false
        ("not (size > 0 and id != 1)", [1, 3, 4]),  # false and unknown -> false
        ("size in [10, 300]", [0, 2]),
        ("size not in [10, 300]", [3, 4, 5]),
        ("not size in [10, 300]", [3, 4, 5]),
        ("id == 2 or id == 4", [2, 4]),
    ],
)
def test_integers_and_nulls(expression, ids):
    assert select(expression) == ids


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ("size > 9.5", [0, 2, 5]),
        ("size >= 10.0", [0, 2, 5]),
        ("size == 10.0", [0]),
        ("size == 10.5", []),
        ("size != 10.5", [0, 2, 3, 4, 5]),
        ("size < -4.5", [3]),
        ("size <= -5.5", []),
        ("small > 300", []),  # no INT8 wraparound
        ("small < 300", [0, 1, 2, 3, 4, 5]),
        ("small >= -128", [0, 1, 2, 3, 4, 5]),
        ("small == 383", []),  # 383 wraps to 127 in int8
        ("small in [383, -129, 1]", [0]),
        ("big == 9223372036854775807", [0]),
        ("big > 9223372036854775806", [0]),
        ("big == 9223372036854775808", []),
        ("big < 9223372036854775808", [0, 1, 2, 3, 4, 5]),
        ("big > 99999999999999999999999", []),
        ("big >= -9223372036854775808", [0, 1, 2, 3, 4, 5]),
        ("big == 9007199254740993", [2]),  # 2**53 + 1: exact, not via float
        ("big == 9007199254740992.0", []),
        ("big > 9007199254740992.0", [0, 2]),
        ("big < 9.223372036854775807e18", [0, 1, 2, 3, 4, 5]),  # the float is 2**63
        ("big in [9007199254740992.0]", []),
        ("price > 1", [0, 1]),
        ("price == 2", [1]),
        ("price != 2", [0, 3, 4, 5]),  # NaN != 2 is true, null is unknown
        ("price < 100", [0, 1, 4, 5]),  # NaN is unordered
        ("price > -1e308", [0, 1, 4, 5]),
        ("price in [1.5, 0]", [0, 4]),
        ("ratio == 0.5", [1]),
        # a literal compared with a FLOAT column is read as a FLOAT first, as in Milvus:
        # the stored float32(0.1) equals `0.1` and is not greater than it
        ("ratio == 0.1", [0]),
        ("ratio > 0.1", [1, 2, 4]),
        ("ratio < 0.1", [3, 5]),
        ("ratio in [0.1, 7]", [0]),
        ("0.1 <= ratio < 0.5", [0]),
        ("ratio == 16777217", []),  # float32(16777217) = 16777216: no row holds it
        ("ratio == 0.10000000149011612", [0]),  # the float32 value, exactly
        ("price < size", [0, 5]),
        ("big > size", [0, 2, 3, 4]),
        ("small == id + 1", [0, 4]),
    ],
)
def test_number_comparisons_are_exact(expression, ids):
    assert select(expression) == ids


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ("title == 'apple'", [0]),
        ("title != 'apple'", [1, 3, 4, 5]),
        ("title > 'apple'", [1, 3]),  # codepoint order: 'ä' > 'b' > 'a' > 'A'
        ("title < 'a'", [4, 5]),
        ("title >= ''", [0, 1, 3, 4, 5]),
        ("title == 'äpfel'", [3]),
        ("title == '\\u00e4pfel'", [3]),
        ("title in ['apple', 'banana', 'x']", [0, 1]),
        ("title not in ['apple']", [1, 3, 4, 5]),
        ("title like 'a%'", [0]),
        ("title like 'A%'", [5]),  # case-sensitive
        ("title like '%e'", [0, 5]),
        ("title like '%an%'", [1]),
        ("title like '_pfel'", [3]),  # _ is one character, even a non-ASCII one
        ("title like 'apple'", [0]),
        ("title like '%'", [0, 1, 3, 4, 5]),
        ("title like ''", [4]),
        ("title like '_'", []),
        ("title like 'Apple_pie'", [5]),
        ("not title like 'a%'", [1, 3, 4, 5]),
        ("title LIKE 'b%'", [1]),
    ],
)
def test_strings(expression, ids):
    assert select(expression) == ids


def test_like_escapes_and_special_characters():
    table = pa.table(
        {"id": pa.array([0, 1, 2, 3, 4]), "title": pa.array(["50%", "50x", "a_b", "a.b", "x\ny"])}
    )
    assert select(r"title like '50\%'", table=table) == [0]
    assert select(r"title like '50\\%'", table=table) == [0]
    assert select("title like '50%'", table=table) == [0, 1]
    assert select(r"title like 'a\_b'", table=table) == [2]
    assert select("title like 'a.b'", table=table) == [3]  # regex characters are literal
    assert select("title like 'x_y'", table=table) == [4]  # _ matches a newline
    assert select("title like '%(%'", table=table) == []


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ("flag", [0, 3, 5]),
        ("not flag", [1, 4]),
        ("flag == true", [0, 3, 5]),
        ("flag == False", [1, 4]),
        ("flag != true", [1, 4]),
        ("flag in [true]", [0, 3, 5]),
        ("flag and id > 2", [3, 5]),
        ("!flag || id == 2", [1, 2, 4]),
        ("true", [0, 1, 2, 3, 4, 5]),
        ("false", []),
        ("not false and id < 2", [0, 1]),
        ("1 < 2", [0, 1, 2, 3, 4, 5]),
        ("'b' < 'a' or id == 0", [0]),
    ],
)
def test_booleans_and_constants(expression, ids):
    assert select(expression) == ids


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ("size is null", [1]),
        ("size is not null", [0, 2, 3, 4, 5]),
        ("size IS NULL", [1]),
        ("title is null or flag is null", [2]),
        ("not size is null", [0, 2, 3, 4, 5]),
        ("id is null", []),
        ("price is not null", [0, 1, 3, 4, 5]),
    ],
)
def test_is_null(expression, ids):
    assert select(expression) == ids


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ("size * 2 == 20", [0]),
        ("size + 1 > 300", [2, 5]),  # 2**31-1 + 1 does not wrap in int32
        ("size * size > 10000", [2, 5]),
        ("size - 10 == 0", [0]),
        ("(id + small) % 2 == 0", [5]),
        ("(id + small) % 2 == -1", [1]),
        ("small % 3 == -2", [1]),  # C remainder: sign of the dividend
        ("small / 2 == -64", [1]),
        ("size / 3 == 3", [0]),  # truncating integer division
        ("size / -3 == 1", [3]),
        ("size / 2.0 == 5", [0]),
        ("price * 2 == 3", [0]),
        ("price * 0.9 > 1", [0, 1]),
        ("price / 0.5 == 4", [1]),
        ("price % 1 == 0.5", [0]),
        ("ratio * 2 == 1", [1]),
        ("size ** 2 == 100", [0]),
        ("2 ** id == 8", [3]),
        ("id ** 0.5 == 2", [4]),
        ("-size > 0", [3]),
        ("big + 1 > 9223372036854775807", [0]),  # exact beyond int64
        ("big - 1 < -9223372036854775808", [1]),
        ("big * 2 == 18446744073709551614", [0]),
        ("-big == 9223372036854775808", [1]),
        ("big / -1 == 9223372036854775808", [1]),
        ("big % -1 == 0", [0, 1, 2, 3, 4, 5]),
        ("big ** 2 > 10 ** 37", [0, 1]),
        ("size / (id - 1) == 300", [2]),  # zero divisor in row 1: null, not an error
        ("size % (id - 3) >= 0", [0, 2, 4, 5]),
        ("not (size / (id - 0) > 0)", [3, 4]),
        ("price * (1 - 0.1) > 1.4", [1]),
        ("10 < size * 2 <= 600", [0, 2]),
    ],
)
def test_arithmetic(expression, ids):
    assert select(expression) == ids


def test_template_params():
    params = {"min_size": 5, "titles": ["apple", "banana"], "p": 1.5, "f": True, "t": "äpfel"}
    assert select("size > {min_size} and title in {titles}", params=params) == [0]
    assert select("price == {p} or flag != {f} or title == { t }", params=params) == [0, 1, 3, 4]
    assert select("id in {ids}", params={"ids": np.array([1, 3])}) == [1, 3]
    assert select("id == {i}", params={"i": np.int64(2)}) == [2]
    assert select("id in {ids}", params={"ids": (4, 5)}) == [4, 5]
    assert select("id < {x} * 2", params={"x": 1}) == [0, 1]
    # a template is a value, never text: quotes in it stay inside the string
    assert select("title == {t}", params={"t": "x' or 'a' == 'a"}) == []


def test_evaluate_on_chunked_and_sliced_tables():
    chunked = pa.concat_tables([TABLE.slice(0, 2), TABLE.slice(2, 4)])
    assert chunked.column("id").num_chunks == 2
    assert select("size > 0 and flag", table=chunked) == [0, 5]
    assert select("array_contains(tags, 'x') and nums[0] == 7", table=chunked) == [5]
    assert select(
        "array_length(tags) == 1 and json_contains(meta['t'], 3)", table=TABLE.slice(3, 3)
    ) == [4]


def test_evaluate_on_an_empty_table():
    empty = TABLE.slice(0, 0)
    assert select("size > 0 and meta['a'] == 1 and array_contains(tags, 'x')", table=empty) == []


def test_large_in_list_is_vectorised():
    ids = list(range(0, 200_000, 2))
    compiled = compile_filter("id in {ids}", FIELDS, dynamic=False, params={"ids": ids})
    table = pa.table({"id": pa.array(np.arange(1000, dtype=np.int64))})
    mask = compiled.evaluate(table)
    assert mask.sum() == 500 and mask[0] and not mask[1]
