"""Recall@k of a system's answers against the exact ground truth, by id and tie-aware.

``recall_ids`` is plain id overlap (``bench.metrics.recall_at_k``). ``recall_tied``
counts a returned row as correct when its true distance to the query is no larger
than the k-th true neighbour's (plus a small relative tolerance for float32
rounding), as ann-benchmarks does: the Debian corpus holds duplicate vectors
(packages sharing one description), and which of two equal rows a system
returns is arbitrary. Both are computed by this module with numpy from the
corpus vectors, never from the distances a system reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.metrics import recall_at_k

TOLERANCE = 1e-5


def true_sq_distances(base: np.ndarray, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """Squared L2 distances (float64) from ``query`` to rows ``ids`` of ``base``."""
    rows = np.asarray(base[np.asarray(ids, dtype=np.int64)], dtype=np.float64)
    diff = rows - np.asarray(query, dtype=np.float64)
    return np.einsum("ij,ij->i", diff, diff)


def recall_tied(
    found: Sequence[Sequence[int]],
    truth: np.ndarray,
    base: np.ndarray,
    queries: np.ndarray,
    k: int,
) -> float:
    """Mean over queries of (returned rows within the k-th true distance) / (true neighbours).

    Only the first ``k`` results count, each id once, ids < 0 never; queries
    with no true neighbour (an empty filter) are left out of the mean.
    """
    if len(found) != len(truth):
        raise ValueError(f"{len(found)} result lists for {len(truth)} queries")
    total, counted = 0.0, 0
    for got, want, query in zip(found, truth, queries):
        want_ids = [int(i) for i in want[:k] if i >= 0]
        if not want_ids:
            continue
        got_ids = sorted({int(i) for i in list(got)[:k] if i >= 0})
        counted += 1
        if not got_ids:
            continue
        bound = true_sq_distances(base, query, want_ids[-1:])[0]
        dist = true_sq_distances(base, query, got_ids)
        hits = int((dist <= bound + TOLERANCE * max(1.0, abs(bound))).sum())
        total += min(hits, len(want_ids)) / len(want_ids)
    return total / counted if counted else 1.0


def recall_both(found, truth, base, queries, k) -> dict[str, float]:
    return {
        "recall": recall_tied(found, truth, base, queries, k),
        "recall_ids": recall_at_k(found, truth, k),
    }
