"""Fixtures of the index-vs-exact differential tests (data: ``clustered.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.differential.clustered import CLUSTERS, DIM, N


@pytest.fixture(scope="module")
def clustered_dataset():
    rng = np.random.default_rng(20_000)
    centres = rng.normal(size=(CLUSTERS, DIM)) * 3
    labels = rng.integers(0, CLUSTERS, N)
    vectors = (centres[labels] + rng.normal(size=(N, DIM))).astype(np.float32)
    queries = (centres[rng.integers(0, CLUSTERS, 200)] + rng.normal(size=(200, DIM))).astype(
        np.float32
    )
    return vectors, queries, labels
