"""Evaluation metrics against hand-computed values; bootstrap; gate parsing and checking."""

from __future__ import annotations

import math

import pytest

from keeldb.errors import InvalidArgument
from keeldb.lifecycle import metrics as m
from keeldb.lifecycle.gate import Gate

RANKED = [3, 1, 7, 2]
RELEVANT = {"1": 1, "2": 2, "9": 1, "5": 0}  # grade 0 is not relevant


def test_recall_at_k_by_hand():
    assert m.recall_at(RANKED, RELEVANT, 1) == 0.0
    assert m.recall_at(RANKED, RELEVANT, 2) == pytest.approx(1 / 3)
    assert m.recall_at(RANKED, RELEVANT, 4) == pytest.approx(2 / 3)
    assert m.recall_at(RANKED, {}, 4) == 0.0


def test_ndcg_by_hand():
    # hits at ranks 2 (grade 1) and 4 (grade 2); ideal order of grades is 2, 1, 1
    dcg = 1 / math.log2(3) + 3 / math.log2(5)
    idcg = 3 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert m.ndcg_at(RANKED, RELEVANT, 10) == pytest.approx(dcg / idcg)
    assert m.ndcg_at(RANKED, RELEVANT, 10) == pytest.approx(0.465503, abs=1e-6)
    assert m.ndcg_at([2, 1, 9], RELEVANT, 10) == pytest.approx(1.0)
    # at k=2 the ideal list is cut to grades 2, 1
    assert m.ndcg_at(RANKED, RELEVANT, 2) == pytest.approx(
        (1 / math.log2(3)) / (3 + 1 / math.log2(3))
    )


def test_reciprocal_rank_and_ann_recall_by_hand():
    assert m.reciprocal_rank(RANKED, RELEVANT) == 0.5
    assert m.reciprocal_rank([8, 8, 8], RELEVANT) == 0.0
    assert m.reciprocal_rank(["2"], {2: 1}) == 1.0  # ids compare as strings
    assert m.ann_recall([1, 2, 3, 4], [1, 2, 5, 6], 4) == 0.5
    assert m.ann_recall([1, 2], [2, 1], 2) == 1.0


def test_percentiles():
    latencies = list(range(1, 101))
    assert m.percentile_ms(latencies, 50) == pytest.approx(50.5)
    assert m.percentile_ms(latencies, 99) == pytest.approx(99.01)


def test_paired_bootstrap():
    same = m.paired_bootstrap([0.1, 0.5, 0.9], [0.1, 0.5, 0.9])
    assert (same["mean"], same["ci_low"], same["ci_high"]) == (0.0, 0.0, 0.0)
    shifted = m.paired_bootstrap([0.1, 0.5, 0.9, 0.3], [0.2, 0.6, 1.0, 0.4])
    assert shifted["mean"] == pytest.approx(0.1)
    assert shifted["ci_low"] == pytest.approx(0.1) and shifted["ci_high"] == pytest.approx(0.1)
    assert shifted["p_not_better"] == 0.0
    noisy = m.paired_bootstrap([0, 1] * 50, [1, 0] * 50, samples=500, seed=1)
    assert noisy["ci_low"] < 0 < noisy["ci_high"]
    assert m.paired_bootstrap([0, 1] * 50, [1, 0] * 50, samples=500, seed=1) == noisy


def _record(champion: dict, challenger: dict) -> dict:
    return {"champion": {"summary": champion}, "challenger": {"summary": challenger}}


def test_gate_clauses():
    record = _record({"ndcg@10": 0.50, "p99_ms": 10.0}, {"ndcg@10": 0.495, "p99_ms": 11.0})
    assert Gate.parse("ndcg@10 >= champion - 0.01").check(record).passed
    assert not Gate.parse("ndcg@10 >= champion").check(record).passed
    assert Gate.parse("ndcg@10>=champion-0.01, p99_ms <= champion * 1.2").check(record).passed
    result = Gate.parse("ndcg@10 >= 0.4 and p99_ms <= champion * 1.05").check(record)
    assert not result.passed
    assert [c.passed for c in result.clauses] == [True, False]
    assert "FAIL" in result.summary()


def test_gate_errors_are_clear():
    with pytest.raises(InvalidArgument, match="cannot parse gate clause"):
        Gate.parse("ndcg@10 is better")
    with pytest.raises(InvalidArgument, match="empty gate"):
        Gate.parse("  ")
    with pytest.raises(InvalidArgument, match="not in the evaluation"):
        Gate.parse("bleu >= 1").check(_record({"mrr": 1}, {"mrr": 1}))
