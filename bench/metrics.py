"""Recall and latency arithmetic, kept apart so it can be unit-tested on hand-made cases."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def exact_topk(
    base: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> np.ndarray:
    """Exact L2 top-``k`` row ids per query (over ``allowed`` rows only), padded with -1.

    Computed in float64 with numpy, independent of FAISS and of every system
    under test; ties are broken by the lower row id.
    """
    ids = np.arange(len(base)) if allowed is None else np.flatnonzero(allowed)
    sub = np.asarray(base[ids], dtype=np.float64)
    sub_sq = np.einsum("ij,ij->i", sub, sub)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    take = min(k, len(ids))
    if take == 0:
        return out
    step = 256
    for lo in range(0, len(queries), step):
        q = np.asarray(queries[lo : lo + step], dtype=np.float64)
        d = sub_sq[None, :] - 2.0 * (q @ sub.T) + np.einsum("ij,ij->i", q, q)[:, None]
        part = (
            np.argpartition(d, take - 1, axis=1)[:, :take]
            if take < len(ids)
            else (np.tile(np.arange(len(ids)), (len(q), 1)))
        )
        pd = np.take_along_axis(d, part, axis=1)
        # lexsort: primary key distance, secondary key row id (stable tie-break)
        order = np.lexsort((ids[part], pd), axis=1)
        out[lo : lo + len(q), :take] = ids[np.take_along_axis(part, order, axis=1)]
    return out


def recall_at_k(found: Sequence[Sequence[int]], truth: np.ndarray, k: int) -> float:
    """Mean over queries of |found[:k] ∩ truth[:k]| / |truth[:k]|.

    ``truth`` rows are padded with -1 where fewer than ``k`` rows qualify; padding
    is neither a true neighbour nor a hit. A result id counts once however often
    it is repeated. A query with no true neighbour at all is left out of the mean.
    """
    if len(found) != len(truth):
        raise ValueError(f"{len(found)} result lists for {len(truth)} queries")
    total, counted = 0.0, 0
    for got, want in zip(found, truth):
        want_set = {int(i) for i in want[:k] if i >= 0}
        if not want_set:
            continue
        got_set = {int(i) for i in list(got)[:k] if i >= 0}
        total += len(got_set & want_set) / len(want_set)
        counted += 1
    return total / counted if counted else 1.0


def latency_summary(latencies_s: Sequence[float], wall_s: float) -> dict[str, float]:
    """p50 / p99 / mean latency in ms and QPS (queries over the loop's wall time)."""
    lat = np.asarray(latencies_s, dtype=np.float64) * 1e3
    return {
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "mean_ms": float(lat.mean()),
        "qps": float(len(lat) / wall_s) if wall_s > 0 else float("inf"),
    }


def first_reaching(sweep: Sequence[dict], target: float) -> dict | None:
    """The first point of an ef sweep (ascending ef) whose recall reaches ``target``."""
    for point in sorted(sweep, key=lambda p: p["ef"]):
        if point["recall"] >= target:
            return point
    return None
