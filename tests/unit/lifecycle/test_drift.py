"""Drift statistics: an unshifted sample does not alarm, shifted ones do."""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import InvalidArgument
from keeldb.lifecycle.drift import drift_statistics


def _unit_rows(rng, n, d, centre, scale=1.0):
    x = rng.normal(size=(n, d)) * scale + centre
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_unshifted_samples_rarely_alarm_and_shifted_ones_always_do():
    d = 32
    centre = np.zeros(d)
    centre[0] = 2.0
    moved = centre.copy()
    moved[1] = 0.6  # the centroid turns a little
    false_alarms = alarms = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        reference = _unit_rows(rng, 400, d, centre)
        same = drift_statistics(reference, _unit_rows(rng, 300, d, centre), seed=seed)
        shifted = drift_statistics(reference, _unit_rows(rng, 300, d, moved), seed=seed)
        false_alarms += same["drifted"]
        alarms += shifted["drifted"]
        assert shifted["mean_shift"] > same["mean_shift"]
    assert false_alarms <= 2  # α = 0.01 per statistic: expect about 0.4 of 20
    assert alarms == 20


def test_a_change_of_shape_with_the_same_mean_is_caught_by_the_projections():
    rng = np.random.default_rng(3)
    d = 16
    reference = rng.normal(size=(500, d))
    wider = rng.normal(size=(500, d))
    wider[:, :4] *= 2.5  # same mean, different spread in four dimensions
    result = drift_statistics(reference, wider)
    assert result["projection_ks"] > result["projection_ks_threshold"]
    assert result["drifted"]


def test_bad_shapes_are_refused():
    with pytest.raises(InvalidArgument, match="one dim"):
        drift_statistics(np.zeros((10, 4)), np.zeros((10, 5)))
