"""Fixtures of the index-vs-exact differential tests (data: ``clustered.py``)."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from tests.differential.clustered import CLUSTERS, DIM, N


@pytest.fixture(scope="module")
def one_faiss_thread():
    # The test machine is small and shared: one OpenMP thread avoids spin-wait contention.
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


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
