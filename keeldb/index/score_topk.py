"""Top-k selection from a dense score matrix, for the backends that score in numpy.

Binary (HAMMING / JACCARD) and sparse (IP) search compute every candidate's
score as one (nq, m) matrix; :func:`topk_hits` turns it into :class:`SearchHits`
in Milvus's order (distances ascending, similarities descending), ties broken
by the lower row id, dropping rows outside range bounds and rows a sparse
search never reached (``reached`` False).
"""

from __future__ import annotations

import numpy as np

from keeldb.index.hits import SearchHits, empty_hits, pad_score
from keeldb.index.range_search import RangeBounds
from keeldb.types import MetricType


def topk_hits(
    scores: np.ndarray,
    row_ids: np.ndarray | None,
    k: int,
    metric: MetricType,
    *,
    bounds: RangeBounds | None = None,
    reached: np.ndarray | None = None,
) -> SearchHits:
    """Best ``k`` of ``scores`` (nq, m) per query; column j is row ``row_ids[j]`` (or j)."""
    nq, m = scores.shape
    hits = empty_hits(nq, k, metric)
    if nq == 0 or m == 0:
        return hits
    key = -scores if metric.higher_is_closer else scores.astype(np.float64, copy=True)
    key = key.astype(np.float64, copy=False)
    valid = np.ones(scores.shape, dtype=bool) if reached is None else reached.copy()
    if bounds is not None:
        valid &= bounds.contains(scores)
    key[~valid] = np.inf
    width = min(k, m)
    if width < m:
        part = np.argpartition(key, width - 1, axis=1)[:, :width]
    else:
        part = np.broadcast_to(np.arange(m), key.shape).copy()
    part_key = np.take_along_axis(key, part, axis=1)
    # ties: the lower column (row) first, so results do not depend on partition order
    order = np.lexsort((part, part_key), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    ok = np.take_along_axis(valid, top, axis=1)
    chosen = np.take_along_axis(scores, top, axis=1).astype(np.float32)
    hits.scores[:, :width] = np.where(ok, chosen, pad_score(metric))
    ids = top if row_ids is None else row_ids[top]
    hits.ids[:, :width] = np.where(ok, ids, -1)
    return hits
