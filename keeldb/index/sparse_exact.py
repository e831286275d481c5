"""Exact inner-product search over sparse vectors (:class:`keeldb.sparse.SparseRows`).

A row's score is the sum over shared dimensions of ``row value x query value``.
Rows that share no dimension with the query are *not reached* and never
returned, as with Milvus's inverted index (they would score 0). Sums are taken
in float64 in dimension order, then rounded to float32, the same order
SPARSE_INVERTED_INDEX uses, so both give identical scores.
"""

from __future__ import annotations

import numpy as np

from keeldb.errors import InvalidArgument
from keeldb.index.base import check_allowed, check_k
from keeldb.index.hits import SearchHits, empty_hits
from keeldb.index.range_search import RangeBounds
from keeldb.index.score_topk import topk_hits
from keeldb.sparse import SparseRows
from keeldb.types import MetricType


def check_sparse(rows: object, what: str) -> SparseRows:
    if not isinstance(rows, SparseRows):
        raise InvalidArgument(
            f"{what} must be sparse vectors (SparseRows), got {type(rows).__name__}"
        )
    return rows


def sparse_ip_scores(base: SparseRows, queries: SparseRows) -> tuple[np.ndarray, np.ndarray]:
    """(scores, reached), each (nq, len(base)): inner products, and which rows share a dimension."""
    n, nq = base.num_rows, queries.num_rows
    scores = np.zeros((nq, n), dtype=np.float32)
    reached = np.zeros((nq, n), dtype=bool)
    if n == 0 or base.nnz == 0:
        return scores, reached
    entry_rows = base.row_of_entries()
    for q in range(nq):
        lo, hi = queries.indptr[q], queries.indptr[q + 1]
        q_idx, q_val = queries.indices[lo:hi], queries.values[lo:hi].astype(np.float64)
        if len(q_idx) == 0:
            continue
        pos = np.searchsorted(q_idx, base.indices)
        pos_clipped = np.minimum(pos, len(q_idx) - 1)
        match = q_idx[pos_clipped] == base.indices
        weights = base.values[match].astype(np.float64) * q_val[pos_clipped[match]]
        rows = entry_rows[match]
        scores[q] = np.bincount(rows, weights=weights, minlength=n)
        reached[q] = np.bincount(rows, minlength=n) > 0
    return scores, reached


def sparse_exact_search(
    vectors: SparseRows,
    queries: SparseRows,
    k: int,
    metric: MetricType,
    allowed: np.ndarray | None = None,
    bounds: RangeBounds | None = None,
) -> SearchHits:
    """Brute-force top-``k`` by inner product over the ``allowed`` rows (within ``bounds``)."""
    if metric is not MetricType.IP:
        raise InvalidArgument(f"sparse vectors are searched with IP, not {metric.value}")
    k = check_k(k)
    vectors, queries = check_sparse(vectors, "vectors"), check_sparse(queries, "query vectors")
    mask = check_allowed(allowed, len(vectors))
    if len(queries) == 0:
        return empty_hits(0, k, metric)
    row_ids = None if mask is None else np.flatnonzero(mask)
    base = vectors if row_ids is None else vectors.take(row_ids)
    scores, reached = sparse_ip_scores(base, queries)
    hits = topk_hits(scores, row_ids, k, metric, bounds=bounds, reached=reached)
    hits.plan["exact"] = len(queries)
    return hits
