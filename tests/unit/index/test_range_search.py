"""Range search at the index layer: exact bounds for FLAT, widening for approximate indexes."""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import IndexParamError
from keeldb.index import create_index, exact_search
from keeldb.index.range_search import RangeBounds, parse_range
from keeldb.types import FLOAT_METRICS, MetricType

INDEXES = {
    "FLAT": ("FLAT", None, 1.0),
    "HNSW": ("HNSW", {"M": 16, "efConstruction": 100}, 0.95),
    "HNSW-hnswlib": ("HNSW", {"M": 16, "efConstruction": 100, "backend": "hnswlib"}, 0.95),
    "IVF_FLAT": ("IVF_FLAT", {"nlist": 32}, 0.95),
    "IVF_SQ8": ("IVF_SQ8", {"nlist": 32}, 0.85),
}

pytestmark = pytest.mark.usefixtures("one_faiss_thread")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(30, 24)) * 3
    vectors = centres[rng.integers(0, 30, 4000)] + rng.normal(size=(4000, 24))
    queries = centres[rng.integers(0, 30, 40)] + rng.normal(size=(40, 24))
    return vectors.astype(np.float32), queries.astype(np.float32)


def band(vectors, queries, metric, inner_rank=20, outer_rank=300):
    """Bounds per the median query: the scores ranked inner_rank and outer_rank."""
    truth = exact_search(vectors, queries, outer_rank + 1, metric)
    radius = float(np.median(truth.scores[:, outer_rank]))
    inner = float(np.median(truth.scores[:, inner_rank]))
    return radius, inner


def reference(vectors, queries, k, metric, bounds, allowed=None):
    return exact_search(vectors, queries, k, metric, allowed=allowed, bounds=bounds)


@pytest.mark.parametrize("metric", FLOAT_METRICS)
@pytest.mark.parametrize("name", INDEXES)
def test_range_search_vs_exact(data, metric, name):
    vectors, queries = data
    kind, params, floor = INDEXES[name]
    if metric is MetricType.IP and kind == "HNSW":
        floor -= 0.1  # graph search under raw IP is weaker: plain top-50 at ef=64 gets 0.87 here
    index = create_index(kind, metric, vectors.shape[1], params)
    index.build(vectors)
    radius, inner = band(vectors, queries, metric)
    bounds = RangeBounds(metric, radius, inner)
    allowed = np.random.default_rng(3).random(len(vectors)) < 0.5
    for mask in (None, allowed):
        got = index.search(
            queries, 50, allowed=mask, params={"radius": radius, "range_filter": inner}
        )
        want = reference(vectors, queries, 50, metric, bounds, mask)
        valid = got.ids >= 0
        assert bounds.contains(got.scores[valid]).all()
        if mask is not None:
            assert mask[got.ids[valid]].all()
        hits = sum(len(set(g[g >= 0]) & set(w[w >= 0])) for g, w in zip(got.ids, want.ids))
        assert hits / max(1, (want.ids >= 0).sum()) >= floor
        if name == "FLAT":
            np.testing.assert_array_equal(got.ids, want.ids)


def test_widening_takes_more_rounds_for_a_far_annulus(data):
    vectors, queries = data
    index = create_index("HNSW", "L2", vectors.shape[1], {"M": 16, "efConstruction": 100})
    index.build(vectors)
    radius, inner = band(vectors, queries, MetricType.L2, inner_rank=200, outer_rank=400)
    hits = index.search(queries, 10, params={"radius": radius, "range_filter": inner})
    assert hits.plan["range_rounds"] >= 4  # 10 → 20 → ... → 160+ candidates past 200 rows
    assert ((hits.ids >= 0).sum(axis=1) > 0).mean() > 0.9


def test_untrained_ivf_segment_answers_exactly(data):
    vectors, queries = data
    index = create_index("IVF_PQ", "L2", vectors.shape[1], {"nlist": 4, "m": 4, "nbits": 8})
    index.build(vectors[:100])  # too few rows to train 2^8 codes: raw vectors, exact search
    radius, inner = band(vectors[:100], queries, MetricType.L2, 2, 30)
    bounds = RangeBounds(MetricType.L2, radius, inner)
    got = index.search(queries, 10, params={"radius": radius, "range_filter": inner})
    want = reference(vectors[:100], queries, 10, MetricType.L2, bounds)
    np.testing.assert_array_equal(got.ids, want.ids)


def test_parse_range():
    assert parse_range({"ef": 3}, MetricType.L2) is None
    assert parse_range({"radius": "2"}, MetricType.L2) == RangeBounds(MetricType.L2, 2.0)
    bounds = parse_range({"radius": 0.1, "range_filter": 0.9}, MetricType.COSINE)
    assert bounds.contains(np.array([0.1, 0.5, 0.9, 0.95, -np.inf])).tolist() == [
        False, True, True, False, False,
    ]  # fmt: skip
    with pytest.raises(IndexParamError, match="greater than radius"):
        parse_range({"radius": 0.9, "range_filter": 0.1}, MetricType.IP)
