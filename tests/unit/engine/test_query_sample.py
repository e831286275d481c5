"""The recorded sample of recent query vectors that tuning measures recall on."""

from __future__ import annotations

import numpy as np

from keeldb.engine.query_sample import MIN_FOR_TUNING, QuerySample


def rows(start: int, n: int, dim: int = 3) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32)[:, None].repeat(dim, axis=1)


def test_every_nth_search_is_recorded_oldest_first():
    sample = QuerySample(dim=3, capacity=8, every=2)
    for i in range(6):
        sample.offer(rows(i, 1))
    assert sample.count == 3
    assert sample.vectors()[:, 0].tolist() == [1.0, 3.0, 5.0]  # the 2nd, 4th and 6th


def test_the_ring_keeps_the_most_recent_rows():
    sample = QuerySample(dim=3, capacity=4, every=1)
    sample.offer(rows(0, 3))
    sample.offer(rows(3, 3))  # wraps around
    assert sample.vectors()[:, 0].tolist() == [2.0, 3.0, 4.0, 5.0]
    sample.offer(rows(10, 9))  # a batch larger than the ring: its last rows
    assert sample.vectors()[:, 0].tolist() == [15.0, 16.0, 17.0, 18.0]
    copy = sample.vectors()
    copy[:] = -1  # a copy: the sample is untouched
    assert sample.vectors()[0, 0] == 15.0


def test_offer_says_once_when_the_sample_becomes_large_enough():
    sample = QuerySample(dim=3, capacity=1024, every=1)
    crossings = [sample.offer(rows(i, 7)) for i in range(0, 7 * 60, 7)]
    assert crossings.count(True) == 1
    assert sample.count == 7 * 60 and crossings.index(True) == MIN_FOR_TUNING // 7
