"""Filtering with scalar indexes gives exactly the rows of a plain vectorised scan.

Two levels, the same random well-typed expressions (the generators of
``test_filter_reference``):

- one segment built from a Hypothesis table (NaN, ±inf, int64 edges, nulls,
  mixed JSON), a random set of its columns indexed, random candidate rows, and
  the planner's cost thresholds forced to random values so every route (index,
  full scan, subset scan) is exercised;
- a real collection through ``keeldb.Client``: an indexed and an unindexed copy
  of the same rows, spread over sealed segments (one compacted), the growing
  segment and some deletes, queried with the same filter.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import keeldb
import keeldb.query.filter_plan as plan
from keeldb import DataType
from keeldb.caches import new_token
from keeldb.errors import FilterError
from keeldb.expr import compile_filter
from keeldb.query.scalar_index import ScalarIndex
from keeldb.query.snapshot import SegmentView
from tests.property.test_filter_reference import FIELDS, condition, tables

INDEXABLE = ["id", "i8", "i64", "f32", "f64", "s", "b"]


def _compile(text):
    try:
        return compile_filter(text, FIELDS, dynamic=True)
    except FilterError as exc:  # constant folding refuses what rows would make null
        assume("division by zero" not in str(exc) and "bits" not in str(exc))
        raise


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    table=tables(),
    expression=condition(3),
    indexed=st.sets(st.sampled_from(INDEXABLE)),
    index_fraction=st.sampled_from([0.0, 0.5, 1.0]),
    subset_fraction=st.sampled_from([0.0, 0.5, 1.0]),
    cached=st.booleans(),
    data=st.data(),
)
def test_segment_plan_matches_scan(
    table, expression, indexed, index_fraction, subset_fraction, cached, data
):
    text, _ = expression
    compiled = _compile(text)
    n = table.num_rows
    cand = None
    if data.draw(st.booleans()):
        cand = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    seg = SegmentView(
        segment_id=1,
        table=table,
        vectors={},
        alive=np.ones(n, dtype=bool),
        scalar_indexes={c: ScalarIndex.build(table.column(c)) for c in indexed},
        cache_token=new_token() if cached else 0,
    )
    expected = compiled.evaluate(table)
    if cand is not None:
        expected &= cand
    saved = plan.INDEX_FRACTION, dict(plan.SUBSET_FRACTION)
    try:
        plan.INDEX_FRACTION = index_fraction
        plan.SUBSET_FRACTION.update(plain=subset_fraction, heavy=subset_fraction)
        got = plan.filter_rows(compiled, seg, cand)
        again = plan.filter_rows(compiled, seg, cand)  # served from the JSON cache if cached
    finally:
        plan.INDEX_FRACTION = saved[0]
        plan.SUBSET_FRACTION.update(saved[1])
    assert got.tolist() == expected.tolist(), (text, indexed)
    assert again.tolist() == expected.tolist(), text


# -- through the client ------------------------------------------------------------------
ROWS = 600
TEXTS = ["", "a", "b", "ab", "ba", "a%", "b_", "ä", "Z", "a\n", "aab", "abab"]


def _value(rng, kind):
    if kind == "int":
        return rng.choice([rng.randint(-3, 3), rng.randint(-20, 20), 2**63 - 1, -(2**63)])
    if kind == "i8":
        return rng.choice([rng.randint(-3, 3), rng.randint(-128, 127)])
    if kind in ("float", "float32"):
        big = 3e38 if kind == "float32" else 1e300
        return rng.choice([rng.randint(-7, 7) / 2, rng.uniform(-1e6, 1e6), big, -0.0])
    if kind == "json":
        return rng.choice([None, True, rng.randint(-3, 3), rng.randint(-20, 20) / 2,
                           rng.choice(TEXTS), [rng.randint(-3, 3), rng.choice(TEXTS)]])  # fmt: skip
    return rng.choice(TEXTS)


def _rows(seed, start, count):
    rng = random.Random(seed)
    out = []
    for i in range(start, start + count):

        def maybe(value, rng=rng):
            return None if rng.random() < 0.15 else value

        doc = {k: _value(rng, "json") for k in ("x", "y", "s", "t") if rng.random() < 0.7}
        row = {
            "id": i,
            "vec": [rng.random(), rng.random()],
            "i8": maybe(_value(rng, "i8")),
            "i64": maybe(_value(rng, "int")),
            "f32": maybe(float(np.float32(_value(rng, "float32")))),
            "f64": maybe(_value(rng, "float")),
            "s": maybe(_value(rng, "text")),
            "b": maybe(rng.random() < 0.5),
            "j": maybe(doc),
            "arr": maybe([rng.randint(-3, 3) for _ in range(rng.randint(0, 4))]),
            "sarr": [rng.choice(TEXTS)[:5] for _ in range(rng.randint(0, 3))],
        }
        if rng.random() < 0.7:
            row["dn"] = _value(rng, "json")
        if rng.random() < 0.7:
            row["ds"] = rng.choice(TEXTS)
        out.append(row)
    return out


def _schema(client):
    schema = client.create_schema(enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    for name, dtype in [("i8", DataType.INT8), ("i64", DataType.INT64),
                        ("f32", DataType.FLOAT), ("f64", DataType.DOUBLE),
                        ("b", DataType.BOOL), ("j", DataType.JSON)]:  # fmt: skip
        schema.add_field(name, dtype, nullable=True)
    schema.add_field("s", DataType.VARCHAR, max_length=20, nullable=True)
    schema.add_field("arr", DataType.ARRAY, element_type=DataType.INT64, max_capacity=5,
                     nullable=True)  # fmt: skip
    schema.add_field("sarr", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=5,
                     max_length=5)  # fmt: skip
    return schema


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    settings = keeldb.Settings(
        background_index_build=False, sync_mode="none", compaction_small_rows=150
    )
    client = keeldb.Client(str(tmp_path_factory.mktemp("pair")), settings=settings)
    for name, types in [("plain", {}), ("indexed", {"i8": "BITMAP", "i64": "STL_SORT",
                        "f32": "STL_SORT", "f64": "INVERTED", "s": "TRIE", "b": "BITMAP",
                        "id": "STL_SORT", "j": "INVERTED", "arr": "INVERTED"})]:  # fmt: skip
        params = client.prepare_index_params()
        params.add_index("vec", index_type="FLAT", metric_type="L2")
        for field, index_type in types.items():
            params.add_index(field, index_type=index_type)
        client.create_collection(name, schema=_schema(client), index_params=params)
        # two small segments that compaction merges, one large one, deletes, growing rows
        for start, count in [(0, 100), (100, 100), (200, 300)]:
            client.insert(name, _rows(start, start, count))
            client.flush(name)
        client.compact(name)
        client.delete(name, filter="id % 7 == 3")
        client.upsert(name, _rows(9, 40, 20))
        client.insert(name, _rows(500, 500, ROWS - 500))
    yield client
    client.close()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(expression=condition(3), index_fraction=st.sampled_from([0.5, 1.0]))
def test_indexed_collection_returns_the_same_rows(pair, expression, index_fraction):
    text, _ = expression
    _compile(text)
    saved = plan.INDEX_FRACTION
    try:
        plan.INDEX_FRACTION = index_fraction
        plain = pair.query("plain", text, output_fields=["id"])
        indexed = pair.query("indexed", text, output_fields=["id"])
    finally:
        plan.INDEX_FRACTION = saved
    assert sorted(r["id"] for r in indexed) == sorted(r["id"] for r in plain), text


def test_the_indexed_copy_really_uses_indexes(pair):
    text = pair.explain("indexed", "i64 == 2 and f64 > 0")
    assert "index STL_SORT on i64" in text
    assert "scalar indexes: b BITMAP, f32 STL_SORT, f64 INVERTED, i64 STL_SORT, i8 BITMAP" in text
    assert "index" not in pair.explain("plain", "i64 == 2").split("\n", 2)[2]
