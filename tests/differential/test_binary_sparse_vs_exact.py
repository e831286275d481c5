"""Binary and sparse indexes against exact search on the same data.

BIN_FLAT must give exactly numpy's HAMMING / JACCARD distances; BIN_IVF_FLAT
(default params, clustered data) must keep recall@10 above a floor; the sparse
inverted index must return exactly the exact sparse inner-product answer.
"""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.index.field_index import create_field_index
from keeldb.index.sparse_exact import sparse_exact_search
from keeldb.sparse import SparseRows
from keeldb.types import DataType, MetricType

#: BIN_IVF_FLAT's recall@10 floors at its defaults (nlist 128, nprobe 8) on 8,000 clustered
#: 256-bit vectors. Measured: HAMMING 0.962 (0.992 at nprobe 16); JACCARD 0.808 (0.926 at
#: nprobe 16) - lists are assigned by Hamming distance to the centroids, a looser proxy
#: for Jaccard.
BIN_IVF_RECALL_FLOORS = {"HAMMING": 0.93, "JACCARD": 0.75}


def clustered_bits(rng, n, dim_bits=256, clusters=40, flip=0.08):
    centers = rng.random((clusters, dim_bits)) < 0.5
    labels = rng.integers(0, clusters, n)
    noise = rng.random((n, dim_bits)) < flip
    return np.packbits(centers[labels] ^ noise, axis=1)


def numpy_distances(queries, base, metric):
    a, b = np.unpackbits(queries, axis=1)[:, None, :], np.unpackbits(base, axis=1)[None, :, :]
    if metric == "HAMMING":
        return (a ^ b).sum(axis=2).astype(np.float64)
    inter, union = (a & b).sum(axis=2), (a | b).sum(axis=2)
    return np.where(union == 0, 0.0, 1.0 - inter / np.maximum(union, 1))


@pytest.fixture(scope="module")
def binary_data():
    rng = np.random.default_rng(11)
    return clustered_bits(rng, 8000), clustered_bits(rng, 50)


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD"])
def test_bin_flat_distances_equal_numpy(binary_data, metric):
    base, queries = binary_data
    index = create_field_index(DataType.BINARY_VECTOR, "BIN_FLAT", metric, 256)
    index.build(base)
    hits = index.search(queries, 10)
    truth = np.sort(numpy_distances(queries, base, metric), axis=1)[:, :10]
    assert np.allclose(hits.scores, truth, rtol=1e-6, atol=1e-6)
    full = numpy_distances(queries, base, metric)
    assert np.allclose(np.take_along_axis(full, hits.ids, axis=1), hits.scores, atol=1e-6)


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD"])
def test_bin_ivf_flat_recall_floor(binary_data, metric):
    base, queries = binary_data
    index = create_field_index(DataType.BINARY_VECTOR, "BIN_IVF_FLAT", metric, 256)
    index.build(base)
    hits = index.search(queries, 10)
    full = numpy_distances(queries, base, metric)
    kth = np.sort(full, axis=1)[:, 9:10]
    # tie-aware: a hit counts when its true distance is within the true top 10's
    found = np.take_along_axis(full, np.maximum(hits.ids, 0), axis=1) <= kth + 1e-9
    recall = float((found & (hits.ids >= 0)).sum() / hits.ids.size)
    assert recall >= BIN_IVF_RECALL_FLOORS[metric], recall


def test_sparse_inverted_index_equals_exact():
    rng = np.random.default_rng(5)
    n, vocab = 5000, 3000
    lengths = rng.integers(1, 40, n)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    # a Zipf-like vocabulary, as text term weights have
    indices = [np.unique(rng.zipf(1.3, k) % vocab) for k in lengths]
    lengths = np.array([len(i) for i in indices])
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    base = SparseRows.from_parts(indptr, np.concatenate(indices), rng.random(indptr[-1]))
    queries = base[np.arange(0, 50)]
    index = create_field_index(DataType.SPARSE_FLOAT_VECTOR, "SPARSE_INVERTED_INDEX", "IP", 0)
    index.build(base)
    for allowed in (None, rng.random(n) < 0.02):
        got = index.search(queries, 10, allowed=allowed)
        want = sparse_exact_search(base, queries, 10, MetricType.IP, allowed)
        assert np.array_equal(got.ids, want.ids)
        assert np.array_equal(got.scores, want.scores)
