"""BIN_FLAT / BIN_IVF_FLAT: metrics, filters, range search, persistence, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import CorruptionError, IndexParamError, InvalidArgument
from keeldb.index.binary_exact import binary_exact_search, binary_scores
from keeldb.index.field_index import create_field_index, load_field_index
from keeldb.types import DataType, MetricType

BIN = DataType.BINARY_VECTOR


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (500, 8), dtype=np.uint8), rng.integers(
        0, 256, (6, 8), dtype=np.uint8
    )


def numpy_hamming(a, b):
    return np.unpackbits(a[:, None, :] ^ b[None, :, :], axis=2).sum(axis=2)


def numpy_jaccard(a, b):
    inter = np.unpackbits(a[:, None, :] & b[None, :, :], axis=2).sum(axis=2)
    union = np.unpackbits(a[:, None, :] | b[None, :, :], axis=2).sum(axis=2)
    return np.where(union == 0, 0.0, 1.0 - inter / np.maximum(union, 1))


def test_scores_match_a_plain_numpy_reference(data):
    base, queries = data
    assert np.array_equal(
        binary_scores(base, queries, MetricType.HAMMING), numpy_hamming(queries, base)
    )
    assert np.allclose(
        binary_scores(base, queries, MetricType.JACCARD), numpy_jaccard(queries, base)
    )
    zeros = np.zeros((1, 8), np.uint8)
    assert binary_scores(zeros, zeros, MetricType.JACCARD)[0, 0] == 0.0


@pytest.mark.parametrize("index_type", ["BIN_FLAT", "BIN_IVF_FLAT"])
@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD"])
def test_filters_are_respected_and_round_trip(data, index_type, metric):
    base, queries = data
    index = create_field_index(
        BIN, index_type, metric, 64, {"nlist": 4} if "IVF" in index_type else {}
    )
    index.build(base)
    allowed = np.zeros(len(base), bool)
    allowed[::7] = True
    hits = index.search(queries, 5, allowed=allowed, params={"nprobe": 4})
    assert allowed[hits.ids[hits.ids >= 0]].all()
    exact = binary_exact_search(base, queries, 5, MetricType(metric), allowed)
    assert np.allclose(np.sort(hits.scores, axis=1), np.sort(exact.scores, axis=1))
    loaded = load_field_index(BIN, index_type, metric, 64, index.params, index.to_bytes())
    again = loaded.search(queries, 5, params={"nprobe": 2})
    assert np.array_equal(again.ids, index.search(queries, 5, params={"nprobe": 2}).ids)


def test_range_search_keeps_distances_inside_bounds(data):
    base, queries = data
    index = create_field_index(BIN, "BIN_FLAT", "HAMMING", 64, {})
    index.build(base)
    hits = index.search(queries, 50, params={"radius": 28, "range_filter": 20})
    found = hits.scores[hits.ids >= 0]
    assert len(found) and ((found >= 20) & (found < 28)).all()
    distances = numpy_hamming(queries, base)
    inside = ((distances >= 20) & (distances < 28)).sum(axis=1)
    assert ((hits.ids >= 0).sum(axis=1) == np.minimum(inside, 50)).all()


def test_bad_metrics_types_and_params_are_refused():
    with pytest.raises(
        IndexParamError, match="binary vector index does not support metric type: L2"
    ):
        create_field_index(BIN, "BIN_FLAT", "L2", 64)
    with pytest.raises(
        IndexParamError, match="float vector index does not support metric type: HAMMING"
    ):
        create_field_index(DataType.FLOAT_VECTOR, "FLAT", "HAMMING", 64)
    with pytest.raises(
        IndexParamError, match="data type BINARY_VECTOR can't build with this index HNSW"
    ):
        create_field_index(BIN, "HNSW", "HAMMING", 64)
    with pytest.raises(
        IndexParamError, match="data type FLOAT_VECTOR can't build with this index BIN_FLAT"
    ):
        create_field_index(DataType.FLOAT_VECTOR, "BIN_FLAT", "L2", 64)
    with pytest.raises(IndexParamError, match="nlist"):
        create_field_index(BIN, "BIN_IVF_FLAT", "HAMMING", 64, {"nlist": 0})
    with pytest.raises(IndexParamError, match="unknown build parameter 'M'"):
        create_field_index(BIN, "BIN_IVF_FLAT", "HAMMING", 64, {"M": 8})
    assert create_field_index(BIN, "AUTOINDEX", "HAMMING", 64).index_type == "BIN_IVF_FLAT"


def test_wrong_query_shapes_and_corrupt_payloads(data):
    base, _ = data
    index = create_field_index(BIN, "BIN_FLAT", "JACCARD", 64)
    index.build(base)
    with pytest.raises(InvalidArgument, match="8 bytes"):
        index.search(np.zeros((1, 4), np.uint8), 3)
    with pytest.raises(InvalidArgument, match="uint8"):
        index.search(np.zeros((1, 8), np.float32), 3)
    with pytest.raises(CorruptionError):
        load_field_index(BIN, "BIN_FLAT", "HAMMING", 64, {}, index.to_bytes())
