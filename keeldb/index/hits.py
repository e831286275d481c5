"""Search results: :class:`SearchHits` and the helpers that pad and fill them.

Shape ``(nq, k)``; empty slots hold id -1 and the metric's padding score
(``+inf`` for L2, ``-inf`` for IP and COSINE), so padding always sorts last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from keeldb.types import MetricType

_INT64 = np.dtype(np.int64)
_FLOAT32 = np.dtype(np.float32)


@dataclass
class SearchHits:
    """Top-k results for a batch of queries.

    ``scores``: (nq, k) float32 in Milvus's convention; ``ids``: (nq, k) int64
    local ids, -1 in padding slots. ``plan`` counts how many queries took each
    route, for explain output and tests: ``index`` (the index's own search),
    ``postfilter`` (answered from an unrestricted probe), ``exact`` (brute force
    over the allowed rows); see :mod:`keeldb.index.filtering`.
    """

    scores: np.ndarray
    ids: np.ndarray
    plan: dict[str, int] = field(default_factory=dict)

    @property
    def nq(self) -> int:
        return int(self.ids.shape[0])

    @property
    def k(self) -> int:
        return int(self.ids.shape[1])


def pad_score(metric: MetricType) -> float:
    """The score of an empty slot: worse than any real score."""
    return float("-inf") if metric.higher_is_closer else float("inf")


def empty_hits(nq: int, k: int, metric: MetricType) -> SearchHits:
    """Hits with every slot padded."""
    return SearchHits(
        scores=np.full((nq, k), pad_score(metric), dtype=np.float32),
        ids=np.full((nq, k), -1, dtype=np.int64),
    )


def hits_from_backend(
    scores: np.ndarray, ids: np.ndarray, k: int, metric: MetricType
) -> SearchHits:
    """Wrap a backend's full (nq, k) answer without copying; pad empty slots.

    The hot path of an unfiltered search: the arrays come straight from the
    backend, so they are fixed in place instead of copied into fresh ones.
    """
    if ids.shape[1] != k or ids.dtype != _INT64 or scores.dtype != _FLOAT32:
        hits = empty_hits(len(ids), k, metric)
        fill_hits(hits, slice(None), scores, ids, metric)
        return hits
    # backends fill each row from the left, so a row with padding has it in its last
    # slot; a Python min over that column is the cheapest test at batch 1
    if k and min(ids[:, -1].tolist(), default=0) < 0:
        empty = ids < 0
        scores[empty] = pad_score(metric)
    return SearchHits(scores=scores, ids=ids)


def fill_hits(
    hits: SearchHits,
    rows: np.ndarray | slice,
    scores: np.ndarray,
    ids: np.ndarray,
    metric: MetricType,
) -> None:
    """Write backend results for query ``rows`` into ``hits``, fixing padding.

    Backends may return fewer than k columns, and mark empty slots with id -1 and
    a ±FLT_MAX score; those slots get the ±inf padding score.
    """
    width = min(ids.shape[1], hits.k)
    ids = ids[:, :width].astype(np.int64, copy=False)
    hits.ids[rows, :width] = ids
    hits.scores[rows, :width] = np.where(ids < 0, pad_score(metric), scores[:, :width])
