"""Built indexes: FLAT equals exact, HNSW recall, padding, round trips, corruption, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from keeldb.errors import CorruptionError, InvalidArgument
from keeldb.index import VectorIndex, create_index, exact_search, load_index
from keeldb.types import MetricType

METRICS = [MetricType.L2, MetricType.IP, MetricType.COSINE]
# Small build params keep the suite fast; defaults are exercised by the differential test.
BUILD = {
    "FLAT": None,
    "HNSW": {"M": 16, "efConstruction": 100},
    "HNSW/hnswlib": {"M": 16, "efConstruction": 100, "backend": "hnswlib"},
    "IVF_FLAT": {"nlist": 32},
    "IVF_SQ8": {"nlist": 32},
    "IVF_PQ": {"nlist": 32, "m": 8, "nbits": 6},
}

pytestmark = pytest.mark.usefixtures("one_faiss_thread")


def build(kind, metric, vectors, params=None):
    params = BUILD[kind] if params is None else params
    index = create_index(kind.split("/")[0], metric, vectors.shape[1], params)
    index.build(vectors)
    return index


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2024)
    centers = rng.normal(size=(40, 32)) * 3
    vectors = centers[rng.integers(0, 40, 6000)] + rng.normal(size=(6000, 32))
    queries = centers[rng.integers(0, 40, 100)] + rng.normal(size=(100, 32))
    return vectors.astype(np.float32), queries.astype(np.float32)


def recall(found, expected):
    hits = [
        len(set(f[f >= 0]) & set(e[e >= 0])) / max(1, (e >= 0).sum())
        for f, e in zip(found, expected)
    ]
    return float(np.mean(hits))


@pytest.mark.parametrize("metric", METRICS)
def test_flat_equals_exact_search(data, metric):
    vectors, queries = data
    index = build("FLAT", metric, vectors)
    allowed = np.random.default_rng(0).random(len(vectors)) < 0.3
    for mask in (None, allowed):
        got = index.search(queries, 10, allowed=mask)
        want = exact_search(vectors, queries, 10, metric, allowed=mask)
        np.testing.assert_array_equal(got.ids, want.ids)
        np.testing.assert_array_equal(got.scores, want.scores)


@pytest.mark.parametrize("metric", METRICS)
def test_hnsw_unfiltered_recall(data, metric):
    vectors, queries = data
    index = build("HNSW", metric, vectors)
    hits = index.search(queries, 10)
    assert hits.plan == {"index": 100}
    want = exact_search(vectors, queries, 10, metric)
    assert recall(hits.ids, want.ids) >= 0.95
    # Scores follow Milvus's convention and match exact scores for the rows returned.
    same = hits.ids == want.ids
    np.testing.assert_allclose(hits.scores[same], want.scores[same], rtol=1e-4, atol=1e-4)
    order = hits.scores if metric is MetricType.L2 else -hits.scores
    assert (np.diff(order, axis=1) >= 0).all()


def test_hnswlib_unfiltered_recall(data):
    vectors, queries = data
    index = build("HNSW/hnswlib", MetricType.COSINE, vectors)
    want = exact_search(vectors, queries, 10, MetricType.COSINE)
    hits = index.search(queries, 10)
    assert recall(hits.ids, want.ids) >= 0.95
    same = hits.ids == want.ids
    np.testing.assert_allclose(hits.scores[same], want.scores[same], atol=1e-5)


@pytest.mark.parametrize("kind", list(BUILD))
@pytest.mark.parametrize("metric", [MetricType.L2, MetricType.COSINE])
def test_round_trip_gives_identical_hits(data, kind, metric):
    vectors, queries = data
    index = build(kind, metric, vectors)
    data_bytes = index.to_bytes()
    loaded = load_index(kind.split("/")[0], metric, 32, BUILD[kind], data_bytes)
    assert isinstance(loaded, VectorIndex) and type(loaded) is type(index)
    assert (loaded.count, loaded.params, loaded.metric) == (index.count, index.params, metric)
    assert loaded.memory_bytes() > 0
    allowed = np.random.default_rng(1).random(len(vectors)) < 0.2
    for mask in (None, allowed):
        before = index.search(queries, 10, allowed=mask)
        after = loaded.search(queries, 10, allowed=mask)
        np.testing.assert_array_equal(before.ids, after.ids)
        np.testing.assert_array_equal(before.scores, after.scores)


@pytest.mark.parametrize("kind", list(BUILD))
def test_filtered_search_returns_only_allowed_rows_and_pads(data, kind):
    vectors, queries = data
    index = build(kind, MetricType.IP, vectors)
    allowed = np.zeros(len(vectors), bool)
    allowed[[7, 99, 4000]] = True
    hits = index.search(queries[:5], 5, allowed=allowed)
    assert set(hits.ids[:, :3].ravel()) == {7, 99, 4000}
    assert (hits.ids[:, 3:] == -1).all() and (hits.scores[:, 3:] == -np.inf).all()
    nothing = index.search(queries[:5], 5, allowed=np.zeros(len(vectors), bool))
    assert (nothing.ids == -1).all()


@pytest.mark.parametrize("kind", list(BUILD))
def test_empty_and_tiny_indexes(kind):
    metric = MetricType.L2
    params = {"nlist": 32, "m": 2, "nbits": 2} if kind == "IVF_PQ" else BUILD[kind]
    index = build(kind, metric, np.empty((0, 4), np.float32), params)
    assert index.count == 0
    assert (index.search(np.ones((2, 4), np.float32), 3).ids == -1).all()
    loaded = load_index(kind.split("/")[0], metric, 4, params, index.to_bytes())
    assert loaded.count == 0 and (loaded.search(np.ones((1, 4)), 2).ids == -1).all()

    tiny = build(kind, metric, np.eye(4, dtype=np.float32) * np.arange(1, 5)[:, None], params)
    hits = tiny.search(np.array([[0, 0, 0, 4.2]], np.float32), 6)
    assert hits.ids[0, 0] == 3 and sorted(hits.ids[0, :4]) == [0, 1, 2, 3]
    assert (hits.ids[0, 4:] == -1).all() and np.isinf(hits.scores[0, 4:]).all()


def test_empty_query_batch(data):
    vectors, _ = data
    index = build("HNSW", MetricType.L2, vectors[:100])
    hits = index.search(np.empty((0, 32), np.float32), 4)
    assert hits.ids.shape == (0, 4)


def test_search_input_validation(data):
    vectors, queries = data
    index = build("HNSW", MetricType.L2, vectors[:200])
    with pytest.raises(InvalidArgument, match="dimension 16"):
        index.search(queries[:, :16], 3)
    with pytest.raises(InvalidArgument, match=r"shape \(200,\)"):
        index.search(queries, 3, allowed=np.ones(10, bool))
    with pytest.raises(InvalidArgument, match="topk"):
        index.search(queries, 0)
    with pytest.raises(InvalidArgument, match="dimension 8"):
        create_index("FLAT", "L2", 32).build(np.ones((3, 8)))


def test_build_copies_and_cosine_normalises(data):
    vectors, queries = data
    source = vectors[:300].copy()
    index = build("FLAT", MetricType.COSINE, source)
    source[:] = 0  # the caller's buffer is not the index's
    hits = index.search(queries[:3], 3)
    assert np.all(hits.scores <= 1.0 + 1e-6) and np.all(hits.scores > 0.0)
    want = exact_search(vectors[:300], queries[:3], 3, "COSINE")
    np.testing.assert_array_equal(hits.ids, want.ids)


@pytest.mark.parametrize("kind", ["FLAT", "HNSW", "IVF_PQ"])
def test_load_rejects_corrupt_or_mismatched_bytes(data, kind):
    vectors, _ = data
    index = build(kind, MetricType.L2, vectors[:500])
    good = index.to_bytes()
    with pytest.raises(CorruptionError):
        load_index(kind, "L2", 32, BUILD[kind], b"not an index")
    with pytest.raises(CorruptionError):
        load_index(kind, "L2", 32, BUILD[kind], good[: len(good) // 2])
    with pytest.raises(CorruptionError, match="metric"):
        load_index(kind, "IP", 32, BUILD[kind], good)
    with pytest.raises(CorruptionError, match="index_type"):
        load_index("IVF_FLAT" if kind != "IVF_FLAT" else "FLAT", "L2", 32, None, good)


def test_load_rejects_other_params(data):
    vectors, _ = data
    index = build("HNSW", MetricType.L2, vectors[:200])
    with pytest.raises(CorruptionError, match="params"):
        load_index("HNSW", "L2", 32, {"M": 8}, index.to_bytes())


def test_ivf_pq_too_small_to_train_is_searched_exactly(data):
    vectors, queries = data
    index = create_index("IVF_PQ", "L2", 32, {"nbits": 8})
    index.build(vectors[:100])  # 100 rows < 256 codebook entries
    got = index.search(queries, 5)
    np.testing.assert_array_equal(got.ids, exact_search(vectors[:100], queries, 5, "L2").ids)
    loaded = load_index("IVF_PQ", "L2", 32, {"nbits": 8}, index.to_bytes())
    np.testing.assert_array_equal(loaded.search(queries, 5).ids, got.ids)


@pytest.mark.parametrize("kind", ["HNSW", "HNSW/hnswlib", "IVF_FLAT"])
def test_concurrent_searches_match_serial_ones(data, kind):
    vectors, queries = data
    index = build(kind, MetricType.L2, vectors)
    rng = np.random.default_rng(9)
    masks = [None, rng.random(len(vectors)) < 0.5, rng.random(len(vectors)) < 0.05]
    params = [{"ef": 32}, {"ef": 128}, None] if kind.startswith("HNSW") else [{"nprobe": 4}, None]
    jobs = [(m, p) for m in masks for p in params]
    serial = [index.search(queries, 10, allowed=m, params=p).ids for m, p in jobs]
    results: dict[int, np.ndarray] = {}

    def worker(slot: int) -> None:
        for round_ in range(3):
            job = (slot + round_) % len(jobs)
            mask, p = jobs[job]
            results[slot * 10 + round_] = (
                job,
                index.search(queries, 10, allowed=mask, params=p).ids,
            )

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 18
    for job, ids in results.values():
        np.testing.assert_array_equal(ids, serial[job])
