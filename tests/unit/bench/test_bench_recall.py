"""The benchmark's recall arithmetic on hand-made cases, and a smoke run of bench.engine.

If recall were computed wrong, every committed benchmark figure would be wrong
with it; these cases pin the definition: |found[:k] ∩ truth[:k]| / |truth[:k]|,
padding (-1) ignored, duplicates counted once, queries without any true
neighbour left out.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.metrics import exact_topk, first_reaching, latency_summary, recall_at_k

# -- recall_at_k -------------------------------------------------------------------


def test_perfect_and_order_free():
    truth = np.array([[1, 2, 3], [4, 5, 6]])
    assert recall_at_k([[1, 2, 3], [6, 5, 4]], truth, 3) == 1.0


def test_partial_overlap_is_averaged_over_queries():
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    # query 0: 2 of 4 found; query 1: 1 of 4 found -> (0.5 + 0.25) / 2
    assert recall_at_k([[1, 2, 90, 91], [8, 92, 93, 94]], truth, 4) == pytest.approx(0.375)


def test_duplicates_count_once():
    truth = np.array([[1, 2, 3, 4]])
    assert recall_at_k([[1, 1, 1, 1]], truth, 4) == pytest.approx(0.25)


def test_only_the_first_k_results_count():
    truth = np.array([[1, 2]])
    assert recall_at_k([[9, 8, 1, 2]], truth, 2) == 0.0
    assert recall_at_k([[1, 8, 2]], truth, 2) == pytest.approx(0.5)


def test_padding_is_neither_truth_nor_hit():
    # only two rows pass the filter: finding both is full recall
    truth = np.array([[7, 3, -1, -1]])
    assert recall_at_k([[3, 7]], truth, 4) == 1.0
    assert recall_at_k([[3, -1, -1, -1]], truth, 4) == pytest.approx(0.5)
    # -1 in the results never matches -1 padding in the truth
    assert recall_at_k([[-1, -1, -1, -1]], truth, 4) == 0.0


def test_short_result_lists_lose_recall():
    truth = np.array([[1, 2, 3, 4]])
    assert recall_at_k([[1]], truth, 4) == pytest.approx(0.25)
    assert recall_at_k([[]], truth, 4) == 0.0


def test_queries_without_truth_are_skipped():
    truth = np.array([[-1, -1], [1, 2]])
    assert recall_at_k([[5, 6], [1, 9]], truth, 2) == pytest.approx(0.5)


def test_mismatched_query_counts_raise():
    with pytest.raises(ValueError):
        recall_at_k([[1]], np.array([[1], [2]]), 1)


# -- exact_topk (the ground truth) ------------------------------------------------------


def test_exact_topk_on_a_line():
    base = np.array([[0.0], [10.0], [3.0], [7.0], [4.0]], dtype=np.float32)
    queries = np.array([[3.4], [9.0]], dtype=np.float32)
    got = exact_topk(base, queries, 3)
    assert got.tolist() == [[2, 4, 0], [1, 3, 4]]


def test_exact_topk_ties_break_by_lower_id():
    base = np.array([[1.0], [-1.0], [1.0], [-1.0]], dtype=np.float32)
    got = exact_topk(base, np.array([[0.0]], dtype=np.float32), 4)
    assert got.tolist() == [[0, 1, 2, 3]]


def test_exact_topk_with_a_filter_pads():
    base = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
    allowed = np.array([False, True, False, True])
    got = exact_topk(base, np.array([[0.0]], dtype=np.float32), 3, allowed)
    assert got.tolist() == [[1, 3, -1]]
    none = exact_topk(base, np.array([[0.0]], dtype=np.float32), 2, np.zeros(4, bool))
    assert none.tolist() == [[-1, -1]]


def test_exact_topk_matches_a_brute_force_loop():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((300, 8)).astype(np.float32)
    queries = rng.standard_normal((20, 8)).astype(np.float32)
    allowed = rng.random(300) < 0.3
    got = exact_topk(base, queries, 5, allowed)
    for qi, q in enumerate(queries):
        d = ((base.astype(np.float64) - q) ** 2).sum(axis=1)
        d[~allowed] = np.inf
        assert got[qi].tolist() == np.argsort(d, kind="stable")[:5].tolist()


# -- small helpers ------------------------------------------------------------------------


def test_first_reaching_picks_the_lowest_ef():
    sweep = [{"ef": 64, "recall": 0.99}, {"ef": 16, "recall": 0.9}, {"ef": 32, "recall": 0.96}]
    assert first_reaching(sweep, 0.95)["ef"] == 32
    assert first_reaching(sweep, 0.999) is None


def test_latency_summary():
    s = latency_summary([0.001] * 99 + [0.1], wall_s=0.2)
    assert s["p50_ms"] == pytest.approx(1.0)
    assert s["qps"] == pytest.approx(500.0)
    assert s["p99_ms"] > 1.0


# -- smoke run of the benchmark driver (subprocesses, tiny corpus) --------------------------


def _smoke(tmp_path, systems: str) -> dict:
    from bench import engine

    out = tmp_path / "smoke.json"
    engine.main(
        [
            "--rows",
            "2000",
            "--queries",
            "50",
            "--systems",
            systems,
            "--efs",
            "10,32,128",
            "--filter-efs",
            "64",
            "--out",
            str(out),
        ]
    )
    result = json.loads(out.read_text())
    assert (tmp_path / "smoke.md").exists()
    return result


def _check_searched(entry: dict) -> None:
    assert "error" not in entry["ingest"], entry["ingest"]
    search = entry["search"]
    assert "error" not in search, search
    assert search["rows_seen"] == 2000
    assert search["reopen"]["first_hits"] == 10
    assert [p["ef"] for p in search["sweep"]] == [10, 32, 128]
    for p in search["sweep"]:
        assert 0.0 <= p["recall"] <= 1.0 and p["qps"] > 0
    # HNSW at ef=128 over 2,000 rows is near exact: low recall here means broken ground truth
    assert search["sweep"][-1]["recall"] >= 0.99


def test_smoke_keeldb_and_faiss(tmp_path):
    result = _smoke(tmp_path, "keeldb,faiss")
    for name in ("keeldb", "faiss"):
        _check_searched(result["systems"][name])
    keel = result["systems"]["keeldb"]
    assert keel["ingest"]["rows"] == 2000
    for points in keel["search"]["filtered"].values():
        for p in points:
            assert p["recall"] >= 0.95  # keeldb's promise: filters keep recall
    assert "latency_vs_faiss" in result["ratios"]
    assert result["ratios"]["filtered_recall"]["value"] >= 0.95


@pytest.mark.slow
def test_smoke_milvus_lite(tmp_path):
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    # ~7 s more (pymilvus + Milvus Lite start-up in two subprocesses), so slow-marked
    result = _smoke(tmp_path, "milvus-lite")
    _check_searched(result["systems"]["milvus-lite"])
