"""Exact search over binary vectors: HAMMING and JACCARD on packed bits.

Vectors are uint8 ``(n, dim / 8)`` rows, bits packed most significant first
(the layout pymilvus sends). Scores follow Milvus: HAMMING is the number of
differing bits, JACCARD the distance ``1 - |a & b| / |a | b|`` (0 when both
vectors are all zeros); both ascending.

Scoring is numpy's popcount over XOR / AND / OR, in blocks that bound the
temporary (nq x rows x bytes) array; it is the ground truth BIN_FLAT and
BIN_IVF_FLAT are tested against, and the scorer they use for JACCARD (FAISS's
binary indexes only know Hamming distances).
"""

from __future__ import annotations

import numpy as np

from keeldb.errors import InvalidArgument
from keeldb.index.base import check_allowed, check_k
from keeldb.index.hits import SearchHits
from keeldb.index.range_search import RangeBounds
from keeldb.index.score_topk import topk_hits
from keeldb.types import BINARY_METRICS, MetricType

#: bytes of the largest temporary (nq x rows x row bytes) block
_BLOCK_BYTES = 32 * 2**20


def binary_scores(base: np.ndarray, queries: np.ndarray, metric: MetricType) -> np.ndarray:
    """(nq, n) HAMMING or JACCARD distances of each query to each row of ``base``."""
    nq, n = len(queries), len(base)
    out = np.empty((nq, n), dtype=np.float32)
    if nq == 0 or n == 0:
        return out
    width = max(1, base.shape[1])
    rows = max(1, _BLOCK_BYTES // (width * nq))
    for start in range(0, n, rows):
        block = base[start : start + rows]
        a = queries[:, None, :]
        if metric is MetricType.HAMMING:
            out[:, start : start + len(block)] = np.bitwise_count(a ^ block).sum(axis=2)
        else:
            inter = np.bitwise_count(a & block).sum(axis=2, dtype=np.int64)
            union = np.bitwise_count(a | block).sum(axis=2, dtype=np.int64)
            with np.errstate(invalid="ignore", divide="ignore"):
                dist = 1.0 - inter / union
            out[:, start : start + len(block)] = np.where(union == 0, 0.0, dist)
    return out


def check_binary(array: np.ndarray, dim: int, what: str) -> np.ndarray:
    """``array`` as C-contiguous uint8 (n, dim / 8); one row of shape (dim / 8,) is accepted."""
    width = dim // 8
    matrix = np.asarray(array)
    if matrix.ndim == 1 and matrix.shape[0] == width:
        matrix = matrix.reshape(1, width)
    if matrix.ndim != 2 or matrix.shape[1] != width:
        raise InvalidArgument(
            f"{what} must be packed binary vectors of {width} bytes (dim {dim}), "
            f"got shape {matrix.shape}"
        )
    if matrix.dtype != np.uint8:
        raise InvalidArgument(f"{what} must be uint8 (packed bits), got dtype {matrix.dtype}")
    return np.ascontiguousarray(matrix)


def binary_exact_search(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: MetricType,
    allowed: np.ndarray | None = None,
    bounds: RangeBounds | None = None,
) -> SearchHits:
    """Brute-force top-``k`` binary search over the ``allowed`` rows (within ``bounds``)."""
    if metric not in BINARY_METRICS:
        raise InvalidArgument(f"binary vectors are searched with HAMMING or JACCARD, not {metric}")
    k = check_k(k)
    vectors = np.asarray(vectors)
    dim = vectors.shape[1] * 8 if vectors.ndim == 2 else 8 * np.asarray(queries).shape[-1]
    vectors = check_binary(vectors, dim, "vectors")
    queries = check_binary(queries, dim, "query vectors")
    mask = check_allowed(allowed, len(vectors))
    row_ids = None if mask is None else np.flatnonzero(mask)
    base = vectors if row_ids is None else vectors[row_ids]
    hits = topk_hits(binary_scores(base, queries, metric), row_ids, k, metric, bounds=bounds)
    hits.plan["exact"] = len(queries)
    return hits
