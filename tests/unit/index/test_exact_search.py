"""exact_search against a naive float64 loop: metrics, allowed masks, padding, edge shapes."""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import InvalidArgument
from keeldb.index import exact_search
from keeldb.types import MetricType

METRICS = [MetricType.L2, MetricType.IP, MetricType.COSINE]


def naive_search(vectors, queries, k, metric, allowed=None):
    """One query, one row at a time, in float64: the slowest obviously-right reference."""
    vectors = np.asarray(vectors, dtype=np.float64)
    rows = range(len(vectors)) if allowed is None else np.flatnonzero(allowed)
    ids, scores = [], []
    for query in np.asarray(queries, dtype=np.float64):
        scored = []
        for row in rows:
            vector = vectors[row]
            if metric is MetricType.L2:
                scored.append((float(np.sum((vector - query) ** 2)), row))
            elif metric is MetricType.IP:
                scored.append((-float(vector @ query), row))
            else:
                cos = vector @ query / (np.linalg.norm(vector) * np.linalg.norm(query))
                scored.append((-float(cos), row))
        scored.sort()
        top = scored[:k]
        pad = float("inf") if metric is MetricType.L2 else float("-inf")
        sign = 1 if metric is MetricType.L2 else -1
        ids.append([row for _, row in top] + [-1] * (k - len(top)))
        scores.append([sign * s for s, _ in top] + [pad] * (k - len(top)))
    return np.array(ids, dtype=np.int64).reshape(-1, k), np.array(scores).reshape(-1, k)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(300, 16)).astype(np.float32), rng.normal(size=(12, 16)).astype(
        np.float32
    )


def assert_matches_naive(hits, vectors, queries, k, metric, allowed=None):
    ids, scores = naive_search(vectors, queries, k, metric, allowed)
    np.testing.assert_array_equal(hits.ids, ids)
    np.testing.assert_allclose(hits.scores, scores, rtol=1e-4, atol=1e-4)
    assert hits.scores.dtype == np.float32 and hits.ids.dtype == np.int64


@pytest.mark.parametrize("metric", METRICS)
def test_matches_naive_loop(data, metric):
    vectors, queries = data
    hits = exact_search(vectors, queries, 10, metric)
    assert hits.ids.shape == (12, 10)
    assert_matches_naive(hits, vectors, queries, 10, metric)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("fraction", [0.9, 0.3, 0.02])
def test_allowed_mask_restricts_rows_and_maps_ids_back(data, metric, fraction):
    vectors, queries = data
    allowed = np.random.default_rng(3).random(len(vectors)) < fraction
    hits = exact_search(vectors, queries, 10, metric, allowed=allowed)
    assert_matches_naive(hits, vectors, queries, 10, metric, allowed)
    returned = hits.ids[hits.ids >= 0]
    assert allowed[returned].all()


@pytest.mark.parametrize("metric", METRICS)
def test_k_larger_than_allowed_rows_is_padded(data, metric):
    vectors, queries = data
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[[5, 17, 250]] = True
    hits = exact_search(vectors, queries, 8, metric, allowed=allowed)
    assert_matches_naive(hits, vectors, queries, 8, metric, allowed)
    assert (hits.ids[:, 3:] == -1).all()
    pad = np.inf if metric is MetricType.L2 else -np.inf
    assert (hits.scores[:, 3:] == pad).all()


def test_k_larger_than_n(data):
    vectors, queries = data
    hits = exact_search(vectors[:4], queries, 6, MetricType.L2)
    assert sorted(hits.ids[0, :4]) == [0, 1, 2, 3]
    assert (hits.ids[:, 4:] == -1).all() and np.isinf(hits.scores[:, 4:]).all()


def test_no_allowed_rows_gives_all_padding(data):
    vectors, queries = data
    hits = exact_search(vectors, queries, 3, MetricType.IP, allowed=np.zeros(300, dtype=bool))
    assert (hits.ids == -1).all() and (hits.scores == -np.inf).all()


def test_empty_data_and_empty_queries(data):
    vectors, queries = data
    empty = exact_search(np.empty((0, 16), np.float32), queries, 5, MetricType.L2)
    assert empty.ids.shape == (12, 5) and (empty.ids == -1).all()
    none = exact_search(vectors, np.empty((0, 16), np.float32), 5, MetricType.L2)
    assert none.ids.shape == (0, 5) and none.scores.shape == (0, 5)


def test_accepts_float64_lists_and_a_single_vector(data):
    vectors, queries = data
    one = exact_search(vectors.astype(np.float64), queries[0], 4, "COSINE")
    assert one.ids.shape == (1, 4)
    listed = exact_search(vectors.tolist(), [queries[0].tolist()], 4, MetricType.COSINE)
    np.testing.assert_array_equal(one.ids, listed.ids)


def test_cosine_does_not_modify_inputs(data):
    vectors, queries = data
    before_v, before_q = vectors.copy(), queries.copy()
    exact_search(vectors, queries, 3, MetricType.COSINE, allowed=np.ones(300, bool))
    np.testing.assert_array_equal(vectors, before_v)
    np.testing.assert_array_equal(queries, before_q)


def test_cosine_zero_vector_scores_zero():
    vectors = np.array([[0.0, 0.0], [1.0, 0.0]], np.float32)
    hits = exact_search(vectors, np.array([[2.0, 0.0]], np.float32), 2, MetricType.COSINE)
    np.testing.assert_array_equal(hits.ids, [[1, 0]])
    np.testing.assert_allclose(hits.scores, [[1.0, 0.0]], atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "topk 0 is invalid"),
        ({"queries": np.zeros((2, 5), np.float32)}, "dimension 5"),
        ({"allowed": np.ones(7, bool)}, "shape (300,)"),
        ({"allowed": np.ones(300, np.int8)}, "boolean"),
    ],
)
def test_bad_arguments_raise_invalid_argument(data, kwargs, message):
    vectors, queries = data
    args = {"vectors": vectors, "queries": queries, "k": 3, "metric": MetricType.L2, **kwargs}
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        exact_search(**args)


def test_unknown_metric_is_rejected(data):
    vectors, queries = data
    with pytest.raises(InvalidArgument, match="does not support metric type: MANHATTAN"):
        exact_search(vectors, queries, 3, "MANHATTAN")
    # a binary metric over float vectors: refused by the binary search
    with pytest.raises(InvalidArgument, match="uint8"):
        exact_search(vectors, queries, 3, "HAMMING")
