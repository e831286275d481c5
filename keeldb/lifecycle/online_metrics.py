"""Measures of online experiments: agreement between two rankings, and per-arm
rates and means with confidence intervals.

Ranking agreement (``a`` = the champion's ids best first, ``b`` = the challenger's):

- overlap@k = |a[:k] ∩ b[:k]| / k, with k = min(k, max(len(a), len(b))) (1.0 when both are empty)
- Kendall tau-b over the ids both lists hold (their positions in each list); None
  when fewer than two ids are shared (a correlation of one point means nothing)
- rank-biased overlap, extrapolated (Webber, Moffat & Zobel 2010, eq. 32) at
  persistence ``p``: (1 − p)/p · Σ_{d≤k} (X_d/d) p^d + (X_k/k) p^k, X_d = |a[:d] ∩ b[:d]|

Intervals (95% by default):

- a rate (clicked requests / served requests): the Wilson score interval;
- a mean or a latency percentile: the percentile bootstrap over requests with a
  fixed seed, so the same log always gives the same interval;
- the difference of two arms' means: paired bootstrap when the values are paired
  (shadow: both arms ranked the same request), else each arm resampled on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from keeldb.lifecycle.metrics import ndcg_at

__all__ = ["bootstrap_interval", "feedback_ndcg", "kendall_tau", "overlap_at",
           "rank_biased_overlap", "unpaired_difference", "wilson_interval"]  # fmt: skip

_Z95 = 1.959963984540054


def overlap_at(a: Sequence[Any], b: Sequence[Any], k: int) -> float:
    depth = min(k, max(len(a), len(b)))
    if depth == 0:
        return 1.0
    return len({str(x) for x in a[:depth]} & {str(x) for x in b[:depth]}) / depth


def kendall_tau(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Kendall tau-b of the shared ids' positions in ``a`` and ``b`` (no ties inside a list)."""
    pos_b = {str(x): i for i, x in enumerate(b)}
    pairs = [(i, pos_b[str(x)]) for i, x in enumerate(a) if str(x) in pos_b]
    n = len(pairs)
    if n < 2:
        return None
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            s = (pairs[i][0] - pairs[j][0]) * (pairs[i][1] - pairs[j][1])
            concordant += s > 0
            discordant += s < 0
    return (concordant - discordant) / (n * (n - 1) / 2)


def rank_biased_overlap(a: Sequence[Any], b: Sequence[Any], p: float = 0.9) -> float:
    """Extrapolated RBO of two rankings cut at the same depth k = min(len(a), len(b))."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"RBO persistence p must be in (0, 1), got {p}")
    k = min(len(a), len(b))
    if k == 0:
        return 1.0 if len(a) == len(b) else 0.0
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    overlap = 0
    total = 0.0
    for d in range(1, k + 1):
        x, y = str(a[d - 1]), str(b[d - 1])
        overlap += (x in seen_b) + (y in seen_a) + (x == y)
        seen_a.add(x)
        seen_b.add(y)
        total += overlap / d * p**d
    return (1 - p) / p * total + overlap / k * p**k


def feedback_ndcg(ranked: Sequence[Any], grades: Mapping[str, float], k: int = 10) -> float:
    """nDCG@k of a shown ranking against the judged grades (unjudged ids count 0)."""
    return ndcg_at(ranked, grades, k)


def wilson_interval(successes: int, trials: int, z: float = _Z95) -> tuple[float, float]:
    if trials <= 0:
        return (0.0, 1.0)
    phat = successes / trials
    denom = 1 + z * z / trials
    centre = (phat + z * z / (2 * trials)) / denom
    half = z * math.sqrt(phat * (1 - phat) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_interval(
    values: Sequence[float], statistic: Callable[[np.ndarray], np.ndarray] | None = None, *,
    samples: int = 1000, seed: int = 0, confidence: float = 0.95,
) -> tuple[float, float]:  # fmt: skip
    """Percentile-bootstrap interval of ``statistic`` (default: the mean) over ``values``."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    draws = x[rng.integers(0, x.size, size=(samples, x.size))]
    stats = draws.mean(axis=1) if statistic is None else statistic(draws)
    tail = (1.0 - confidence) / 2.0 * 100.0
    return (float(np.percentile(stats, tail)), float(np.percentile(stats, 100.0 - tail)))


def unpaired_difference(
    champion: Sequence[float], challenger: Sequence[float], *, samples: int = 1000, seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, float]:  # fmt: skip
    """Mean(challenger) − mean(champion), each arm resampled on its own (split traffic)."""
    a = np.asarray(champion, dtype=np.float64)
    b = np.asarray(challenger, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError("an unpaired difference needs values in both arms")
    rng = np.random.default_rng(seed)
    diffs = b[rng.integers(0, b.size, size=(samples, b.size))].mean(axis=1) - a[
        rng.integers(0, a.size, size=(samples, a.size))
    ].mean(axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    return {
        "mean": float(b.mean() - a.mean()),
        "ci_low": float(np.percentile(diffs, tail)),
        "ci_high": float(np.percentile(diffs, 100.0 - tail)),
        "confidence": confidence,
        "p_not_better": float(np.mean(diffs <= 0.0)),
    }
