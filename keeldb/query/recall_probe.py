"""Estimating the recall a collection's searches get now: ``Client.estimate_recall``.

Queries are live rows sampled uniformly over every segment (sealed and
growing, deleted rows excluded; seeded) plus noise, as
:func:`keeldb.index.recall.sample_queries` makes them. Each is searched twice
over the same snapshot: through the normal path (indexes, the request's search
params, its filter and partitions) and exactly (``SearchRequest.exact``: every
segment by brute force), both returning the vectors of their hits. Recall@k is
tie-aware (:func:`keeldb.index.recall.recall_by_score`: a hit counts when its
true score is as good as the k-th exact hit's), with the interval of
:func:`keeldb.index.recall.recall_interval`. Callers may pass their own query
vectors (real queries) instead of sampled ones.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from keeldb.index.recall import recall_by_score, recall_interval, sample_queries, true_scores
from keeldb.query.output import resolve_output_fields
from keeldb.query.search import SearchRequest, execute_search
from keeldb.query.snapshot import Snapshot
from keeldb.schema.vector_values import dense_as_float


def _true_scores(hits: list[list[Any]], queries: np.ndarray, request: SearchRequest) -> np.ndarray:
    """(nq, k) true scores of the hits, from their vectors; NaN in empty slots."""
    dim = queries.shape[1]
    rows = np.full((len(queries), request.limit, dim), np.nan)
    for q, found in enumerate(hits):
        for j, hit in enumerate(found):
            rows[q, j] = dense_as_float(request.vector_type, hit["entity"][request.field])
    return true_scores(queries, rows, request.metric)


def live_vectors(snapshot: Snapshot, field: str, n: int, seed: int) -> np.ndarray:
    """Up to ``n`` live vectors of ``field``, sampled uniformly over all segments."""
    live = [np.flatnonzero(seg.alive[: seg.num_rows]) for seg in snapshot.segments]
    sizes = np.asarray([len(rows) for rows in live], dtype=np.int64)
    total = int(sizes.sum())
    if total == 0:
        return np.empty((0, 0), dtype=np.float32)
    picks = np.sort(np.random.default_rng(seed).choice(total, min(n, total), replace=False))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    parts = []
    for i, seg in enumerate(snapshot.segments):
        mine = picks[(picks >= starts[i]) & (picks < starts[i + 1])] - starts[i]
        if len(mine):
            parts.append(seg.vectors[field][live[i][mine]])
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def estimate_recall(
    snapshot: Snapshot,
    request: SearchRequest,
    k: int,
    queries: int,
    seed: int = 0,
    *,
    given_queries: bool = False,
) -> dict[str, Any]:
    """``{"recall", "ci", "queries", "k", "params"}`` for ``request``'s settings (docstring).

    ``request`` gives the field, metric, params, filter and partitions, and with
    ``given_queries`` the query vectors to use; otherwise queries are sampled.
    """
    if given_queries:
        sample = request.queries
    else:
        base = live_vectors(snapshot, request.field, queries, seed)
        sample = sample_queries(base, queries, seed=seed) if len(base) else base
    if len(sample) == 0:
        return {"recall": 1.0, "ci": [0.0, 1.0], "queries": 0, "k": k,
                "params": dict(request.params)}  # fmt: skip
    vector_out = resolve_output_fields(snapshot.schema, [request.field], include_pk=False)
    probe = replace(request, queries=sample, limit=k, offset=0, group_by=None, output=vector_out)
    found = _true_scores(execute_search(snapshot, probe), sample, request)
    truth = _true_scores(execute_search(snapshot, replace(probe, exact=True)), sample, request)
    per_query = recall_by_score(found, truth, request.metric)
    low, high = recall_interval(per_query, k, seed=seed)
    return {
        "recall": round(float(per_query.mean()), 4) if len(per_query) else 1.0,
        "ci": [round(low, 4), round(high, 4)],
        "queries": int(len(per_query)),
        "k": k,
        "params": dict(request.params),
    }
