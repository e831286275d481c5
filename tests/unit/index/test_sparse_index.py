"""SPARSE_INVERTED_INDEX / SPARSE_WAND: exact IP, filters, pruning, persistence, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import CorruptionError, IndexParamError
from keeldb.index import exact_search
from keeldb.index.field_index import create_field_index, load_field_index
from keeldb.index.sparse_exact import sparse_exact_search
from keeldb.sparse import SparseRows
from keeldb.types import DataType, MetricType

SPARSE = DataType.SPARSE_FLOAT_VECTOR


def random_rows(rng, n, vocab=500, most=12):
    lengths = rng.integers(0, most, n)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = [np.sort(rng.choice(vocab, k, replace=False)) for k in lengths]
    flat = np.concatenate(indices) if n else np.empty(0)
    return SparseRows.from_parts(indptr, flat.astype(np.uint32), rng.random(indptr[-1]))


def dict_ip(a, b):
    return sum(v * b[k] for k, v in a.items() if k in b)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    return random_rows(rng, 800), random_rows(rng, 10, most=6)


def test_exact_matches_a_dict_reference(data):
    base, queries = data
    hits = sparse_exact_search(base, queries, 5, MetricType.IP)
    rows, qs = base.to_dicts(), queries.to_dicts()
    for q, (ids, scores) in enumerate(zip(hits.ids, hits.scores)):
        want = sorted(((dict_ip(r, qs[q]), i) for i, r in enumerate(rows) if set(r) & set(qs[q])),
                      key=lambda t: (-t[0], t[1]))[:5]  # fmt: skip
        got = [(s, i) for s, i in zip(scores, ids) if i >= 0]
        assert [i for _, i in got] == [i for _, i in want]
        assert np.allclose([s for s, _ in got], [s for s, _ in want], rtol=1e-6)


@pytest.mark.parametrize("index_type", ["SPARSE_INVERTED_INDEX", "SPARSE_WAND"])
def test_index_is_identical_to_exact_with_and_without_filters(data, index_type):
    base, queries = data
    index = create_field_index(
        SPARSE, index_type, "IP", 0, {"inverted_index_algo": "DAAT_MAXSCORE"}
    )
    index.build(base)
    assert index.params == {"inverted_index_algo": "DAAT_MAXSCORE"}
    for allowed in (None, np.arange(len(base)) % 3 == 0):
        got = index.search(queries, 10, allowed=allowed)
        want = exact_search(base, queries, 10, MetricType.IP, allowed)
        assert np.array_equal(got.ids, want.ids) and np.array_equal(got.scores, want.scores)


def test_persisted_index_answers_the_same(data):
    base, queries = data
    index = create_field_index(SPARSE, "SPARSE_INVERTED_INDEX", "IP", 0)
    index.build(base)
    loaded = load_field_index(SPARSE, "SPARSE_INVERTED_INDEX", "IP", 0, {}, index.to_bytes())
    assert np.array_equal(loaded.search(queries, 7).ids, index.search(queries, 7).ids)
    with pytest.raises(CorruptionError):
        load_field_index(SPARSE, "SPARSE_WAND", "IP", 0, {}, index.to_bytes())


def test_rows_sharing_no_dimension_are_not_returned():
    base = SparseRows.from_parts([0, 1, 2], [1, 2], [1.0, 1.0])
    query = SparseRows.from_parts([0, 1], [1], [2.0])
    index = create_field_index(SPARSE, "SPARSE_INVERTED_INDEX", "IP", 0)
    index.build(base)
    hits = index.search(query, 5)
    assert hits.ids[0].tolist() == [0, -1, -1, -1, -1] and hits.scores[0, 0] == 2.0


def test_drop_ratio_search_prunes_small_query_terms(data):
    base, _ = data
    query = SparseRows.from_parts([0, 2], [3, 9], [0.01, 1.0])
    index = create_field_index(SPARSE, "SPARSE_INVERTED_INDEX", "IP", 0)
    index.build(base)
    pruned = index.search(query, 800, params={"drop_ratio_search": 0.5})
    touched = {i for i, r in enumerate(base.to_dicts()) if 9 in r}
    assert set(pruned.ids[0][pruned.ids[0] >= 0].tolist()) == touched


def test_bad_metric_and_params_are_refused():
    with pytest.raises(
        IndexParamError, match="only IP is the supported metric type for sparse index"
    ):
        create_field_index(SPARSE, "SPARSE_INVERTED_INDEX", "L2", 0)
    with pytest.raises(IndexParamError, match="can't build with this index HNSW"):
        create_field_index(SPARSE, "HNSW", "IP", 0)
    with pytest.raises(IndexParamError, match="drop_ratio_build"):
        create_field_index(SPARSE, "SPARSE_INVERTED_INDEX", "IP", 0, {"drop_ratio_build": 1.5})
    with pytest.raises(IndexParamError, match="inverted_index_algo"):
        create_field_index(SPARSE, "SPARSE_INVERTED_INDEX", "IP", 0, {"inverted_index_algo": "X"})
    index = create_field_index(SPARSE, "AUTOINDEX", "IP", 0)
    assert index.index_type == "SPARSE_INVERTED_INDEX"
    index.build(SparseRows.from_parts([0, 1], [1], [1.0]))
    with pytest.raises(IndexParamError, match="drop_ratio_search"):
        index.search(SparseRows.from_parts([0, 1], [1], [1.0]), 1, params={"drop_ratio_search": 1})
