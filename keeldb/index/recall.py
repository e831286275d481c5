"""Measuring recall: sampled queries, recall@k per query, and its confidence interval.

Used by AUTOINDEX tuning (:mod:`keeldb.index.autotune`) and by the client's
``estimate_recall``.

- :func:`sample_queries` draws ``n`` rows (seeded, without replacement) and adds
  Gaussian noise of ``noise`` times the data's RMS per-dimension spread
  ("held-in" queries: drawn from the data, not the users' queries). The
  default is 2 spreads, which puts a query about as far from its source row as
  real queries sit from their best match in asymmetric retrieval (short
  queries, long documents: on unit vectors the query keeps a cosine of about
  0.5 with its source row). Near-copies of rows (0.1 spread) are the easy case
  and flatter an index: on the Debian/MiniLM corpus, HNSW recall@10 at ef 10-64
  on held-out text queries tracks the 2-spread queries within 0.02 and is up to
  0.15 below the near-copies'. Callers with real queries should pass them
  (``tune_index(..., query_vectors=...)``); a workload whose queries are copies
  of rows (deduplication, item-to-item) gets a conservative tuning from the default.
- :func:`recall_by_score` is tie-aware recall@k per query: a returned row
  counts when its true score is as good as the k-th true neighbour's (real
  corpora hold duplicate vectors, and which of two equal rows comes back is
  arbitrary); :func:`recall_at_k` is the plain ``|found ∩ truth| / |truth|``.
- :func:`recall_interval` is the wider of two 95% intervals: a percentile
  bootstrap over queries (which sees that queries differ in difficulty) and a
  Wilson score interval over the pooled hits (which stays honest when every
  query scored the same, e.g. all 1.0, where a bootstrap collapses to a point).
"""

from __future__ import annotations

import math

import numpy as np

from keeldb.types import MetricType

#: Two-sided 95% normal quantile.
_Z95 = 1.959963984540054


#: Noise of the held-in queries, in units of the data's RMS per-dimension spread.
NOISE_LEVELS = (2.0,)


def sample_queries(
    vectors: np.ndarray,
    n: int,
    *,
    seed: int = 0,
    noise: float | tuple[float, ...] = NOISE_LEVELS,
) -> np.ndarray:
    """``n`` rows of ``vectors`` (fewer if it has fewer) plus scaled Gaussian noise.

    With several ``noise`` levels the queries cycle through them (equal shares).
    """
    rng = np.random.default_rng(seed)
    count = len(vectors)
    rows = rng.choice(count, size=min(n, count), replace=False) if count else np.empty(0, int)
    picked = np.asarray(vectors[np.sort(rows)], dtype=np.float32)
    levels = np.atleast_1d(np.asarray(noise, dtype=np.float64))
    if len(picked) == 0 or not (levels > 0).any():
        return np.ascontiguousarray(picked)
    spread = float(np.sqrt(np.mean(np.var(vectors[: min(count, 100_000)], axis=0))))
    scale = levels[np.arange(len(picked)) % len(levels)][:, None] * spread
    jitter = rng.normal(size=picked.shape) * scale
    return np.ascontiguousarray(picked + jitter.astype(np.float32))


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Recall of each query's ``found`` ids against its ``truth`` ids (rows of -1 padded ids).

    Returns one value per query that has at least one true neighbour.
    """
    out = []
    for got, want in zip(found, truth):
        expected = set(np.asarray(want)[np.asarray(want) >= 0].tolist())
        if expected:
            out.append(len(expected & set(np.asarray(got).tolist())) / len(expected))
    return np.asarray(out, dtype=np.float64)


def true_scores(queries: np.ndarray, found: np.ndarray, metric: MetricType) -> np.ndarray:
    """Exact scores of found vectors: ``found`` is (nq, k, dim) with NaN rows for empty slots."""
    q = np.asarray(queries, dtype=np.float64)[:, None, :]
    v = np.asarray(found, dtype=np.float64)
    if metric is MetricType.L2:
        return ((v - q) ** 2).sum(axis=2)
    if metric is MetricType.COSINE:
        q = q / np.maximum(np.linalg.norm(q, axis=2, keepdims=True), 1e-30)
        v = v / np.maximum(np.linalg.norm(v, axis=2, keepdims=True), 1e-30)
    return (v * q).sum(axis=2)


def recall_by_score(
    found_scores: np.ndarray, truth_scores: np.ndarray, metric: MetricType
) -> np.ndarray:
    """Tie-aware recall@k per query: a found row counts when its *true* score is at
    least as good as the k-th true neighbour's (within 1e-5 relative), as
    ann-benchmarks counts it. Rows with equal vectors (duplicates are common in
    real corpora) are then interchangeable, as they are for a user.

    ``found_scores``: (nq, k) true scores of the returned rows, NaN in empty slots;
    ``truth_scores``: (nq, k) exact top-k scores, padded with ±inf. Queries with
    no true neighbour are left out.
    """
    out = []
    for got, want in zip(found_scores, truth_scores):
        real = want[np.isfinite(want)]
        if len(real) == 0:
            continue
        worst = real[-1]
        slack = 1e-5 * max(1.0, abs(float(worst)))
        valid = got[~np.isnan(got)]
        good = valid >= worst - slack if metric.higher_is_closer else valid <= worst + slack
        out.append(min(int(good.sum()), len(real)) / len(real))
    return np.asarray(out, dtype=np.float64)


def recall_of(found: list[list[object]], truth: list[list[object]]) -> np.ndarray:
    """:func:`recall_at_k` for lists of keys (primary keys of search hits)."""
    out = []
    for got, want in zip(found, truth):
        if want:
            out.append(len(set(got) & set(want)) / len(want))
    return np.asarray(out, dtype=np.float64)


def recall_interval(
    per_query: np.ndarray, k: int, *, seed: int = 0, resamples: int = 1000
) -> tuple[float, float]:
    """95% interval of the mean recall (module docstring); (0, 1) when nothing was measured."""
    n = len(per_query)
    if n == 0:
        return 0.0, 1.0
    rng = np.random.default_rng(seed)
    means = per_query[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    w_low, w_high = wilson(float(per_query.mean()), n * max(k, 1))
    return max(0.0, min(float(low), w_low)), min(1.0, max(float(high), w_high))


def wilson(p: float, trials: int) -> tuple[float, float]:
    """Wilson score interval (95%) of a proportion ``p`` seen over ``trials``."""
    if trials <= 0:
        return 0.0, 1.0
    z2 = _Z95 * _Z95
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = _Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)
