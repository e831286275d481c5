"""Ranking agreement and interval arithmetic of online experiments, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from keeldb.lifecycle import online_metrics as om


def test_overlap_at_k():
    assert om.overlap_at([1, 2, 3, 4], [3, 9, 1, 8], 4) == 0.5
    assert om.overlap_at([1, 2, 3, 4], [3, 9, 1, 8], 2) == 0.0
    assert om.overlap_at([], [], 10) == 1.0
    assert om.overlap_at([1, 2], [2, 1], 10) == 1.0  # depth is cut to the lists' length


def test_kendall_tau_on_shared_ids():
    assert om.kendall_tau([1, 2, 3], [1, 2, 3]) == 1.0
    assert om.kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    # shared ids 1,2,3 in b's order 2,1,3: pairs (1,2) discordant, (1,3),(2,3) concordant
    assert om.kendall_tau([1, 2, 3, 7], [2, 9, 1, 3]) == pytest.approx(1 / 3)
    assert om.kendall_tau([1, 2], [1, 5]) is None  # one shared id: no correlation


def test_rank_biased_overlap_hand_computed():
    assert om.rank_biased_overlap([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert om.rank_biased_overlap([1, 2, 3], [4, 5, 6]) == 0.0
    # a=[1,2], b=[2,1], p=0.5: X1=0, X2=2 → (1-p)/p·(0·p + 2/2·p²) + (2/2)·p² = 0.25 + 0.25
    assert om.rank_biased_overlap([1, 2], [2, 1], p=0.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="persistence"):
        om.rank_biased_overlap([1], [1], p=1.0)


def test_wilson_interval_hand_computed():
    low, high = om.wilson_interval(8, 10)
    z = 1.959963984540054
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z * math.sqrt(0.8 * 0.2 / 10 + z * z / 400) / (1 + z * z / 10)
    assert (low, high) == pytest.approx((centre - half, centre + half))
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert om.wilson_interval(0, 0) == (0.0, 1.0)


def test_bootstrap_interval_brackets_the_mean_and_is_deterministic():
    values = [0.0, 1.0] * 50
    low, high = om.bootstrap_interval(values)
    assert low < 0.5 < high and high - low < 0.3
    assert om.bootstrap_interval(values) == (low, high)
    assert om.bootstrap_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)


def test_unpaired_difference():
    diff = om.unpaired_difference([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0])
    assert diff["mean"] == pytest.approx(0.25)
    assert diff["ci_low"] <= diff["mean"] <= diff["ci_high"]
    with pytest.raises(ValueError, match="both arms"):
        om.unpaired_difference([], [1.0])
