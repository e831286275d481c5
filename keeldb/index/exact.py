"""Exact (brute-force) k-nearest-neighbour search.

The ground truth for every approximate index, the search path for growing
(unsealed) data, and the fallback the approximate indexes take when a filter
leaves so few rows that scanning them beats walking a graph.

Invariants:

- Results are exact up to float32 rounding, ordered best first in Milvus's
  convention (see :mod:`keeldb.index.base`); ties keep FAISS's order.
- With ``allowed``, only allowed rows are scanned (they are gathered first, so
  the cost is proportional to the allowed count) and ids are mapped back to the
  caller's row offsets.
- ``k`` larger than the rows that qualify, ``n == 0`` and ``nq == 0`` all give
  well-formed, padded ``(nq, k)`` hits.
- With ``bounds`` (range search, :mod:`keeldb.index.range_search`), rows outside
  the range are dropped *before* the top ``k`` are taken.

Scoring runs in FAISS's brute-force kernels (BLAS for batches), which release
the GIL, so concurrent calls run in parallel.

Gathering the allowed rows can cost more than scoring them (10% of 64k × 384
floats: 1.3 ms to gather, 0.4 ms to score). When an index falls back to exact
search over a *read-only* ``allowed`` mask — a sealed segment's cached filter
result (``query/filter_results.py``), which never changes — the gathered rows
are kept in :data:`GATHERED`, keyed by the identities of the vectors and the
mask (checked through weak references, so a recycled ``id`` never answers);
an entry is dropped when its mask is freed.
"""

from __future__ import annotations

import weakref

import faiss
import numpy as np

from keeldb.caches import SegmentCache
from keeldb.index.base import as_matrix, check_allowed, check_k, coerce_metric, normalized
from keeldb.index.binary_exact import binary_exact_search
from keeldb.index.hits import SearchHits, empty_hits, fill_hits
from keeldb.index.range_search import RangeBounds, exact_range_topk
from keeldb.index.sparse_exact import sparse_exact_search
from keeldb.sparse import SparseRows
from keeldb.types import BINARY_METRICS, MetricType

#: metrics (and their names) that :func:`exact_search` hands to the binary search
_BINARY_METRIC_NAMES = frozenset([*BINARY_METRICS, *(m.value for m in BINARY_METRICS)])

#: gathered rows of read-only masks; the key's first item is not a segment token
GATHERED = SegmentCache(256 << 20)


def faiss_metric(metric: MetricType) -> int:
    """The FAISS metric that scores ``metric`` (COSINE is IP over unit vectors)."""
    return faiss.METRIC_L2 if metric is MetricType.L2 else faiss.METRIC_INNER_PRODUCT


def exact_search(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: MetricType | str,
    allowed: np.ndarray | None = None,
    bounds: RangeBounds | None = None,
) -> SearchHits:
    """Brute-force top-``k`` of ``queries`` over ``vectors`` (rows restricted to ``allowed``,
    scores to ``bounds``).

    ``vectors`` is (n, dim) and ``queries`` (nq, dim), any real dtype; for COSINE
    both are normalised here (on copies). Binary vectors (HAMMING, JACCARD) and
    sparse ones (``SparseRows``) go to their own exact searches.
    """
    if metric in _BINARY_METRIC_NAMES:
        return binary_exact_search(vectors, queries, k, MetricType(metric), allowed, bounds)
    if isinstance(vectors, SparseRows):
        return sparse_exact_search(vectors, queries, k, MetricType(metric), allowed, bounds)
    metric = coerce_metric(metric)
    k = check_k(k)
    vectors = np.asarray(vectors)
    dim = vectors.shape[1] if vectors.ndim == 2 else np.asarray(queries).shape[-1]
    vectors = as_matrix(vectors, dim, "vectors")
    queries = as_matrix(queries, dim, "query vectors")
    allowed = check_allowed(allowed, len(vectors))
    base, row_ids = gather_rows(vectors, allowed)
    if metric is MetricType.COSINE:
        queries = normalized(queries)
        # A gathered base is already a private copy, so normalise it in place.
        base = normalized(base, in_place=row_ids is not None)
    return _search_base(base, row_ids, queries, k, metric, bounds)


def exact_search_prepared(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: MetricType,
    allowed: np.ndarray | None = None,
    bounds: RangeBounds | None = None,
) -> SearchHits:
    """:func:`exact_search` for callers that already hold validated inputs.

    ``vectors`` and ``queries`` must be C-contiguous float32 of one dimension and,
    for COSINE, already unit-normalised (as an index stores them); ``allowed`` a
    checked bool mask or None. Skips every copy but the gather, which is cached for
    a read-only ``allowed`` (module docstring).
    """
    if allowed is not None and not allowed.flags.writeable:
        base, row_ids = _gather_cached(vectors, allowed)
    else:
        base, row_ids = gather_rows(vectors, allowed)
    return _search_base(base, row_ids, queries, k, metric, bounds)


def _gather_cached(
    vectors: np.ndarray, allowed: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    key = ("gathered", id(vectors), id(allowed))
    entry = GATHERED.get(key)
    if entry is not None and entry[0]() is vectors and entry[1]() is allowed:
        return entry[2], entry[3]
    base, row_ids = gather_rows(vectors, allowed)
    if row_ids is not None:  # shared from now on: nobody may write to them
        base.flags.writeable = False
        row_ids.flags.writeable = False
        # the entry goes when its mask does (the filter cache dropped it)
        drop = weakref.ref(allowed, lambda _ref, key=key: GATHERED.discard(key))
        entry = (weakref.ref(vectors), drop, base, row_ids)
        GATHERED.put(key, entry, base.nbytes + row_ids.nbytes)
    return base, row_ids


def gather_rows(
    vectors: np.ndarray, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (the allowed rows, their row offsets), or (vectors, None) when all are allowed."""
    if allowed is None:
        return vectors, None
    row_ids = np.flatnonzero(allowed)
    if len(row_ids) == len(vectors):
        return vectors, None
    # np.take is the fastest numpy gather of whole rows (no per-element indexing).
    return np.take(vectors, row_ids, axis=0), row_ids


def _search_base(
    base: np.ndarray,
    row_ids: np.ndarray | None,
    queries: np.ndarray,
    k: int,
    metric: MetricType,
    bounds: RangeBounds | None = None,
) -> SearchHits:
    hits = empty_hits(len(queries), k, metric)
    if len(queries) == 0 or len(base) == 0:
        return hits
    width = min(k, len(base))
    if bounds is not None:
        scores, ids = exact_range_topk(base, queries, width, metric, bounds)
    else:
        scores, ids = faiss.knn(queries, base, width, metric=faiss_metric(metric))
    if row_ids is not None:
        ids = np.where(ids >= 0, row_ids[np.maximum(ids, 0)], -1)
    fill_hits(hits, slice(None), scores, ids, metric)
    hits.plan["exact"] = len(queries)
    return hits
