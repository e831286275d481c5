"""ScalarIndex lookups: exact bounds, nulls, NaN, strings, in-lists, prefixes."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from keeldb.query.filter_plan import like_shape
from keeldb.query.scalar_index import ScalarIndex, complement, value_family


def ids(rows):
    return sorted(rows.ids().tolist())


def brute(values, predicate):
    return [i for i, v in enumerate(values) if v is not None and predicate(v)]


INTS = [5, None, -3, 5, 2**63 - 1, 0, -(2**63), 7, None, 5]
FLOATS = [0.5, float("nan"), -0.0, 0.0, None, 2.5, 1e300, -1.5, float("inf"), 0.5]
STRINGS = ["b", "ab", None, "abc", "", "a", "äb", "ab", "b%", "abd"]


@pytest.mark.parametrize("values, arrow_type", [(INTS, pa.int64()), (FLOATS, pa.float64())])
@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize(
    "literal",
    [5, 5.0, 4.5, 0, -0.0, 2**63 - 1, 2**63, -(2**63) - 1, 1e300, -1.5, math.inf, 2**53 + 1,
     9007199254740993.0],
)  # fmt: skip
def test_numeric_compare_is_exact(values, arrow_type, op, literal):
    index = ScalarIndex.build(pa.array(values, arrow_type))
    found = index.compare(op, literal)
    assert found is not None
    ops = {"==": lambda v: v == literal, "!=": lambda v: v != literal,
           "<": lambda v: v < literal, "<=": lambda v: v <= literal,
           ">": lambda v: v > literal, ">=": lambda v: v >= literal}  # fmt: skip
    assert ids(found) == brute(values, ops[op])
    assert found.count == len(ids(found))


def test_nan_literal_and_wrong_family_are_not_answered():
    index = ScalarIndex.build(pa.array(FLOATS))
    assert index.compare("==", float("nan")) is None
    assert index.compare("==", "a") is None
    assert index.compare("==", True) is None
    assert ScalarIndex.build(pa.array([True, None])).compare("<", True) is None


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize("literal", ["ab", "a", "", "b", "ä", "abcd", "z"])
def test_string_compare_uses_code_point_order(op, literal):
    index = ScalarIndex.build(pa.array(STRINGS))
    ops = {"==": lambda v: v == literal, "!=": lambda v: v != literal,
           "<": lambda v: v < literal, "<=": lambda v: v <= literal,
           ">": lambda v: v > literal, ">=": lambda v: v >= literal}  # fmt: skip
    assert ids(index.compare(op, literal)) == brute(STRINGS, ops[op])


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", "b", "ä", "x"])
def test_prefix(prefix):
    index = ScalarIndex.build(pa.array(STRINGS))
    assert ids(index.prefix(prefix)) == brute(STRINGS, lambda v: v.startswith(prefix))
    assert ids(index.not_prefix(prefix)) == brute(STRINGS, lambda v: not v.startswith(prefix))


def test_in_lists_and_their_negation():
    index = ScalarIndex.build(pa.array(INTS, pa.int64()))
    assert ids(index.isin([5, 7.0, 7.5, 2**64, True])) == [0, 3, 7, 9]
    assert ids(index.isin([5], negated=True)) == [2, 4, 5, 6, 7]
    assert ids(index.isin([])) == []
    floats = ScalarIndex.build(pa.array(FLOATS))
    assert ids(floats.isin([0, 0.5, 2**53 + 1])) == [0, 2, 3, 9]
    # NaN is in no list, so `not in` holds for it; nulls are in neither answer
    assert ids(floats.isin([0.5], negated=True)) == [1, 2, 3, 5, 6, 7, 8]
    strings = ScalarIndex.build(pa.array(STRINGS))
    assert ids(strings.isin(["ab", "zz", 1])) == [1, 7]
    bools = ScalarIndex.build(pa.array([True, None, False, True]))
    assert ids(bools.isin([True])) == [0, 3]
    assert ids(bools.compare("!=", True)) == [2]


def test_complement_is_the_valid_rest():
    index = ScalarIndex.build(pa.array(FLOATS))
    eq = index.compare("==", 0.5)
    assert ids(complement(eq)) == ids(index.compare("!=", 0.5))
    assert ids(complement(complement(eq))) == ids(eq)


def test_postings_are_sorted_local_ids_and_memory_is_counted():
    index = ScalarIndex.build(pa.chunked_array([[3, 1, 3], [1, 3]], pa.int32()))
    assert index.distinct.tolist() == [1, 3]
    assert index.order.tolist() == [1, 3, 0, 2, 4]
    assert index.memory_bytes() > 0 and index.distinct_count == 2
    empty = ScalarIndex.build(pa.array([], pa.string()))
    assert ids(empty.compare(">", "a")) == [] and ids(empty.isin(["a"])) == []
    assert value_family(pa.list_(pa.int64())) is None


@pytest.mark.parametrize(
    "pattern, shape",
    [("abc%", ("prefix", "abc")), ("abc%%", ("prefix", "abc")), ("abc", ("exact", "abc")),
     ("a\\%b", ("exact", "a%b")), ("a\\_%", ("prefix", "a_")), ("%", ("prefix", "")),
     ("a_c", None), ("%abc", None), ("a%c", None), ("a\\", ("exact", "a\\"))],
)  # fmt: skip
def test_like_shapes(pattern, shape):
    assert like_shape(pattern) == shape


def test_random_ranges_match_numpy():
    rng = np.random.default_rng(1)
    values = rng.integers(-50, 50, 2000)
    index = ScalarIndex.build(pa.array(values))
    for low in range(-60, 60, 7):
        assert ids(index.compare(">=", low)) == np.nonzero(values >= low)[0].tolist()
