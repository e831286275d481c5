"""Retrieval metrics over labelled queries, and the paired bootstrap.

Per query, with ``ranked`` the returned ids (best first) and ``relevant`` a map
id → grade (grade > 0 counts as relevant):

- recall@k = |relevant ∩ ranked[:k]| / |relevant|   (0 when nothing is relevant)
- nDCG@k   = DCG@k / IDCG@k with gain ``2**grade - 1`` and discount ``log2(rank + 1)``
             (rank from 1); IDCG uses the grades sorted descending
- RR       = 1 / rank of the first relevant id in ``ranked`` (0 if none)
- ANN recall = |ann[:k] ∩ exact[:k]| / |exact[:k]|

Summaries are means over queries. :func:`paired_bootstrap` resamples query
indices with replacement (seeded), so both arms are always compared on the
same resampled queries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["ann_recall", "ndcg_at", "paired_bootstrap", "percentile_ms", "recall_at",
           "reciprocal_rank"]  # fmt: skip


def _relevant(relevant: Mapping[Any, float]) -> dict[str, float]:
    return {str(k): float(g) for k, g in relevant.items() if float(g) > 0}


def recall_at(ranked: Sequence[Any], relevant: Mapping[Any, float], k: int) -> float:
    rel = _relevant(relevant)
    if not rel:
        return 0.0
    return sum(1 for x in ranked[:k] if str(x) in rel) / len(rel)


def ndcg_at(ranked: Sequence[Any], relevant: Mapping[Any, float], k: int = 10) -> float:
    rel = _relevant(relevant)
    if not rel:
        return 0.0
    dcg = sum(
        (2.0 ** rel[str(x)] - 1.0) / math.log2(i + 2)
        for i, x in enumerate(ranked[:k])
        if str(x) in rel
    )
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum((2.0**g - 1.0) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg


def reciprocal_rank(ranked: Sequence[Any], relevant: Mapping[Any, float]) -> float:
    rel = _relevant(relevant)
    for i, x in enumerate(ranked):
        if str(x) in rel:
            return 1.0 / (i + 1)
    return 0.0


def ann_recall(ann: Sequence[Any], exact: Sequence[Any], k: int) -> float:
    truth = {str(x) for x in exact[:k]}
    if not truth:
        return 1.0
    return sum(1 for x in ann[:k] if str(x) in truth) / len(truth)


def percentile_ms(latencies_ms: Sequence[float], q: float) -> float:
    return (
        float(np.percentile(np.asarray(latencies_ms, dtype=np.float64), q)) if latencies_ms else 0.0
    )


def paired_bootstrap(
    champion: Sequence[float], challenger: Sequence[float], *, samples: int = 1000,
    seed: int = 0, confidence: float = 0.95,
) -> dict[str, float]:  # fmt: skip
    """Mean of (challenger − champion) per query with a bootstrap confidence interval."""
    a = np.asarray(champion, dtype=np.float64)
    b = np.asarray(challenger, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        raise ValueError("paired bootstrap needs two equally long, non-empty series")
    diff = b - a
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(samples, diff.size))
    means = diff[idx].mean(axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    return {
        "mean": float(diff.mean()),
        "ci_low": float(np.percentile(means, tail)),
        "ci_high": float(np.percentile(means, 100.0 - tail)),
        "confidence": confidence,
        "p_not_better": float(np.mean(means <= 0.0)),
    }
