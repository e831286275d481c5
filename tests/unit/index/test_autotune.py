"""Tuning to a recall target (keeldb.index.autotune) and recall measurement (keeldb.index.recall).

The held-out check: the configuration tuning chose, built afresh, searched with
queries drawn with another seed, must reach the target (less 0.02 for the
sampling error of 300 held-out queries).
"""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import IndexParamError
from keeldb.index import create_index, exact_search
from keeldb.index.autotune import search_ladder, tune
from keeldb.index.recall import recall_at_k, recall_interval, sample_queries, wilson
from keeldb.index.tuning_params import parse_target, resolve_build

pytestmark = pytest.mark.usefixtures("one_faiss_thread")


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(77)
    centres = rng.normal(size=(60, 32)) * 2.5
    return (centres[rng.integers(0, 60, 8000)] + rng.normal(size=(8000, 32))).astype(np.float32)


def held_out_recall(vectors, metric, chosen, seed=12345):
    index = create_index(chosen.index_type, metric, vectors.shape[1], chosen.build)
    index.build(vectors)
    queries = sample_queries(vectors, 300, seed=seed)
    truth = exact_search(vectors, queries, 10, metric).ids
    return recall_at_k(index.search(queries, 10, params=chosen.search).ids, truth).mean()


@pytest.mark.parametrize("target", [0.9, 0.95, 0.99])
def test_autoindex_reaches_the_target_on_held_out_queries(vectors, target):
    result = tune(vectors, "L2", "AUTOINDEX", {"recall": target}, target)
    assert result.met and result.chosen.ci[0] >= target
    assert result.chosen.ci[0] <= result.chosen.recall <= result.chosen.ci[1]
    assert {m.index_type for m in result.tried} >= {"HNSW", "IVF_FLAT", "FLAT"}
    assert held_out_recall(vectors, "L2", result.chosen) >= target - 0.02
    stored = result.params()
    assert stored["tuned_params"] == result.chosen.config()
    assert stored["tuned_rows"] == len(vectors) and stored["tuned_k"] == 10


def test_fixed_type_keeps_its_build_and_tunes_search(vectors):
    low = tune(vectors, "COSINE", "HNSW", {"M": 8, "efConstruction": 40}, 0.8)
    high = tune(vectors, "COSINE", "HNSW", {"M": 8, "efConstruction": 40}, 0.99)
    assert [m.index_type for m in high.tried] == ["HNSW"]
    assert high.chosen.build == {"M": 8, "efConstruction": 40}
    assert high.chosen.search["ef"] >= low.chosen.search["ef"]
    assert held_out_recall(vectors, "COSINE", high.chosen) >= 0.97


def test_reuses_the_built_index(vectors):
    current = create_index("IVF_FLAT", "IP", 32, {"nlist": 64})
    current.build(vectors)
    result = tune(vectors, "IP", "IVF_FLAT", {"nlist": 64}, 0.9, current=current)
    assert result.chosen.search["nprobe"] <= 64 and result.met


def test_unreachable_target_reports_the_best_it_found(vectors):
    result = tune(vectors, "L2", "IVF_PQ", {"nlist": 16, "m": 2, "nbits": 4}, 1.0)
    assert not result.met
    assert result.chosen.search == {"nprobe": 16}  # the top of the ladder: all lists
    assert result.chosen.recall < 1.0


def test_search_ladder():
    hnsw = create_index("HNSW", "L2", 4, {"M": 8})
    hnsw.build(np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32))
    assert search_ladder(hnsw, 10)[0] == {"ef": 10} and search_ladder(hnsw, 10)[-1] == {"ef": 300}
    flat = create_index("FLAT", "L2", 4)
    assert search_ladder(flat, 10) == [{}]


def test_recall_interval_and_wilson():
    ones = np.ones(200)
    low, high = recall_interval(ones, 10)
    assert high == 1.0 and 0.99 < low < 1.0  # a perfect score still gets an honest interval
    mixed = np.r_[np.ones(150), np.full(50, 0.6)]
    low, high = recall_interval(mixed, 10)
    assert low < mixed.mean() < high
    assert wilson(0.5, 100)[0] == pytest.approx(0.4038, abs=1e-3)
    assert recall_interval(np.array([]), 10) == (0.0, 1.0)


def test_recall_at_k_ignores_padding():
    found = np.array([[1, 2, -1], [5, 6, 7]])
    truth = np.array([[1, 3, -1], [-1, -1, -1]])
    assert recall_at_k(found, truth).tolist() == [0.5]


def test_targets_and_resolved_builds():
    assert parse_target("0.9") == 0.9
    for bad in (0, 1.5, "x", True, float("nan")):
        with pytest.raises(IndexParamError, match="recall target"):
            parse_target(bad)
    tuned = {"recall": 0.9, "tuned_params": {"index_type": "IVF_FLAT", "build": {"nlist": 8}},
             "measured_recall": 0.93}  # fmt: skip
    assert resolve_build("AUTOINDEX", tuned) == ("IVF_FLAT", {"nlist": 8})
    assert resolve_build("HNSW", {**tuned, "M": 8}) == ("HNSW", {"M": 8})
    assert resolve_build("AUTOINDEX", {"recall": 0.9}) == ("AUTOINDEX", {})
    with pytest.raises(IndexParamError):
        create_index("AUTOINDEX", "L2", 8, {"recall": 2})


def test_recall_by_score_counts_equal_rows_as_hits():
    from keeldb.index.recall import recall_by_score, true_scores
    from keeldb.types import MetricType

    base = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [5.0, 5.0]], dtype=np.float32)
    query = np.array([[0.9, 0.0]], dtype=np.float32)
    truth_ids, found_ids = np.array([[1, 0]]), np.array([[2, 0]])  # row 2 equals row 1
    truth = true_scores(query, base[truth_ids], MetricType.L2)
    found = true_scores(query, base[found_ids], MetricType.L2)
    assert recall_by_score(found, truth, MetricType.L2).tolist() == [1.0]
    assert recall_at_k(found_ids, truth_ids).tolist() == [0.5]
    missing = true_scores(
        query, np.where([[[False], [True]]], base[[[3, 0]]], np.nan), MetricType.L2
    )
    assert recall_by_score(missing, truth, MetricType.L2).tolist() == [0.5]


def test_tuning_on_given_queries(vectors):
    queries = sample_queries(vectors, 100, seed=5, noise=0.1)
    result = tune(vectors, "L2", "HNSW", {"M": 8}, 0.9, query_vectors=queries)
    assert result.queries == 100 and result.met
    with pytest.raises(Exception, match="dimension"):
        tune(vectors, "L2", "HNSW", {"M": 8}, 0.9, query_vectors=queries[:, :5])


def test_autoindex_sweeps_graph_degree_and_quantised_types_on_small_segments():
    from keeldb.index.autotune import SWEEP_MAX_ROWS, autoindex_candidates

    small = autoindex_candidates(10_000)
    assert {kind for kind, _ in small} == {"HNSW", "HNSW_SQ", "SCANN", "IVF_FLAT", "FLAT"}
    assert sorted(b["M"] for kind, b in small if kind == "HNSW") == [12, 18, 32]
    large = autoindex_candidates(SWEEP_MAX_ROWS + 1)
    assert [kind for kind, _ in large] == ["HNSW", "IVF_FLAT"]


def test_search_ladder_re_ranks_quantised_candidates(vectors):
    sq = create_index("HNSW_SQ", "L2", 32, {"M": 8, "refine": True})
    sq.build(vectors)
    assert search_ladder(sq, 10)[0] == {"ef": 10, "refine_k": 4.0}
    scann = create_index("SCANN", "L2", 32, {"nlist": 16})
    scann.build(vectors)
    ladder = search_ladder(scann, 10)
    assert ladder[0] == {"nprobe": 1, "reorder_k": 40} and ladder[-1]["nprobe"] == 16
