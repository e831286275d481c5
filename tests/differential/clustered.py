"""The clustered data, filters and recall both index-vs-exact differential tests use.

20,000 × 64 float32 vectors around 100 Gaussian cluster centres (fixed seed), 200
queries drawn the same way; filters keep a fraction of rows at random or by whole
clusters. The fixtures (``clustered_dataset``, ``one_faiss_thread``) are in conftest.py.
"""

from __future__ import annotations

import numpy as np

N, DIM, CLUSTERS, K = 20_000, 64, 100, 10


def make_mask(kind: str, fraction: float, labels: np.ndarray) -> np.ndarray | None:
    if fraction == 1.0:
        return None
    rng = np.random.default_rng(int(fraction * 10_000))
    if kind == "random":
        return rng.random(N) < fraction
    chosen = rng.choice(CLUSTERS, max(1, round(fraction * CLUSTERS)), replace=False)
    mask = np.isin(labels, chosen)
    if fraction < 1 / CLUSTERS:  # below one cluster: a random part of one cluster
        mask &= rng.random(N) < fraction * CLUSTERS
    return mask


def recall_at_k(found: np.ndarray, expected: np.ndarray) -> float:
    per_query = [
        len(set(f[f >= 0]) & set(e[e >= 0])) / max(1, int((e >= 0).sum()))
        for f, e in zip(found, expected)
    ]
    return float(np.mean(per_query))
