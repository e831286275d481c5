"""HNSW_SQ, HNSW_PQ and SCANN: params, build, search, filters, persistence, memory."""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.index import create_index, exact_search, load_index, validate_search_params
from keeldb.index.faiss_ivf import trained_nlist
from keeldb.types import MetricType

DIM = 32
QUANTIZED = [
    ("HNSW_SQ", None),
    ("HNSW_SQ", {"sq_type": "SQ6", "refine": True, "refine_type": "FP16"}),
    ("HNSW_SQ", {"sq_type": "sq4u"}),
    ("HNSW_PQ", {"m": 8, "nbits": 6}),
    ("HNSW_PQ", {"m": 8, "refine": "true"}),
    ("SCANN", None),
    ("SCANN", {"with_raw_data": False}),
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(20, DIM)) * 4
    vectors = (centres[rng.integers(0, 20, 3000)] + rng.normal(size=(3000, DIM))).astype(np.float32)
    queries = (centres[rng.integers(0, 20, 40)] + rng.normal(size=(40, DIM))).astype(np.float32)
    return vectors, queries


@pytest.mark.parametrize(
    ("index_type", "params", "expected"),
    [
        ("HNSW_SQ", None, {"M": 30, "efConstruction": 360}),
        ("HNSW_SQ", {"sq_type": "SQ8", "refine": "True", "refine_type": "FP32"},
         {"M": 30, "efConstruction": 360, "sq_type": "sq8", "refine": True, "refine_type": "fp32"}),
        ("HNSW_PQ", None, {"M": 30, "efConstruction": 360, "m": 32, "nbits": 8}),
        ("SCANN", None, {"nlist": 128}),
        ("scann", {"nlist": "64", "with_raw_data": "false"}, {"nlist": 64, "with_raw_data": False}),
    ],
)  # fmt: skip
def test_build_params_are_normalised(index_type, params, expected):
    assert create_index(index_type, "L2", 64, params).params == expected


def test_hnsw_pq_default_m_divides_the_dimension():
    assert create_index("HNSW_PQ", "L2", 96, None).params["m"] == 32
    assert create_index("HNSW_PQ", "L2", 100, None).params["m"] == 25


def test_search_params_defaults():
    assert validate_search_params("HNSW_SQ", None, 10) == {"ef": 64, "refine_k": 1.0}
    assert validate_search_params("HNSW_PQ", {"ef": 20, "refine_k": "2.5"}, 10) == {
        "ef": 20,
        "refine_k": 2.5,
    }
    assert validate_search_params("SCANN", {"reorder_k": 100, "ef": 3}, 10) == {
        "nprobe": 8,
        "reorder_k": 100,
    }


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
@pytest.mark.parametrize(("index_type", "params"), QUANTIZED)
def test_search_finds_neighbours_and_respects_filters(data, index_type, params, metric):
    vectors, queries = data
    index = create_index(index_type, metric, DIM, params)
    index.build(vectors)
    assert index.count == len(vectors) and index.index_type == index_type
    hits = index.search(queries, 10, params={"nprobe": 32, "ef": 128, "reorder_k": 100})
    truth = exact_search(vectors, queries, 10, metric).ids
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(hits.ids, truth)])
    # far above chance (10 / 3000): codes alone rank coarsely inside one Gaussian blob;
    # tests/differential/test_quantized_vs_exact.py holds the recall floors
    assert overlap >= 0.1
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[::7] = True
    filtered = index.search(queries, 10, allowed=allowed)
    assert allowed[filtered.ids[filtered.ids >= 0]].all()
    assert (filtered.ids >= 0).all()


@pytest.mark.parametrize(("index_type", "params"), QUANTIZED)
def test_round_trip_reloads_without_rebuilding(data, index_type, params):
    vectors, queries = data
    index = create_index(index_type, "COSINE", DIM, params)
    index.build(vectors)
    blob = index.to_bytes()
    reloaded = load_index(index_type, "COSINE", DIM, params, blob)
    assert reloaded.count == index.count
    assert reloaded.memory_bytes() == index.memory_bytes()
    a, b = index.search(queries, 5), reloaded.search(queries, 5)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)


def test_quantised_codes_are_smaller_than_raw_vectors(data):
    vectors, _ = data
    raw = vectors.nbytes
    sizes = {}
    for index_type, params in QUANTIZED:
        index = create_index(index_type, "L2", DIM, params)
        index.build(vectors)
        sizes[(index_type, repr(params))] = index.memory_bytes()
    assert sizes[("SCANN", repr({"with_raw_data": False}))] < raw / 4
    flat_graph = create_index("HNSW", "L2", DIM, None)
    flat_graph.build(vectors)
    assert sizes[("HNSW_PQ", repr({"m": 8, "nbits": 6}))] < flat_graph.memory_bytes() - raw / 2
    # keeping raw vectors for re-ranking costs them on top of the codes
    assert sizes[("SCANN", "None")] > raw


def test_refine_improves_recall(data):
    vectors, queries = data
    truth = exact_search(vectors, queries, 10, MetricType.L2).ids
    recalls = []
    for params, search in ((None, None), ({"refine": True}, {"refine_k": 4})):
        index = create_index("HNSW_PQ", "L2", DIM, {"m": 4, **(params or {})})
        index.build(vectors)
        found = index.search(queries, 10, params=search).ids
        recalls.append(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
    assert recalls[1] > recalls[0]


@pytest.mark.parametrize(("index_type", "params"), QUANTIZED)
def test_too_few_rows_to_train_is_searched_exactly(index_type, params):
    vectors = np.random.default_rng(1).normal(size=(10, DIM)).astype(np.float32)
    index = create_index(index_type, "L2", DIM, params)
    index.build(vectors)
    if index_type != "HNSW_SQ":  # SQ trains on any row count
        hits = index.search(vectors, 3)
        np.testing.assert_array_equal(hits.ids, exact_search(vectors, vectors, 3, "L2").ids)
    reloaded = load_index(index_type, "L2", DIM, params, index.to_bytes())
    np.testing.assert_array_equal(reloaded.search(vectors, 3).ids, index.search(vectors, 3).ids)


def test_empty_index_round_trips():
    for index_type, params in QUANTIZED:
        index = create_index(index_type, "L2", DIM, params)
        index.build(np.empty((0, DIM), dtype=np.float32))
        reloaded = load_index(index_type, "L2", DIM, params, index.to_bytes())
        assert reloaded.count == 0
        assert (reloaded.search(np.zeros((1, DIM), np.float32), 3).ids == -1).all()


def test_range_search_on_quantised_indexes(data):
    vectors, queries = data
    for index_type, params in QUANTIZED[:1] + QUANTIZED[5:6]:
        index = create_index(index_type, "L2", DIM, params)
        index.build(vectors)
        hits = index.search(queries[:5], 10, params={"radius": 40.0})
        found = hits.scores[hits.ids >= 0]
        assert (found < 40.0).all()


@pytest.mark.parametrize(
    ("nlist", "rows", "trained"),
    [(128, 100_000, 128), (1000, 5116, 131), (128, 20, 1), (64, 39 * 64, 64)],
)
def test_nlist_follows_milvus_rule_for_small_segments(nlist, rows, trained):
    assert trained_nlist(nlist, rows) == trained


def test_ivf_trains_fewer_lists_on_a_small_segment():
    vectors = np.random.default_rng(2).normal(size=(500, 8)).astype(np.float32)
    index = create_index("IVF_FLAT", "L2", 8, {"nlist": 1024})
    index.build(vectors)
    assert index.nlist == 500 // 39 and index.params["nlist"] == 1024
