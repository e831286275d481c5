"""The timed loops of a search phase.

- ``batch1``: one query per call, ``perf_counter`` around each call (latency), QPS =
  queries / the loop's wall time; one client thread.
- ``batched``: 100 queries per call; QPS = queries / wall time. Each system uses its
  own default threading inside a call (FAISS / hnswlib OpenMP or thread pools).
- ``concurrent``: ``n`` client threads, each with its own client connection, issue
  batch-1 queries for a fixed time; QPS = all answered queries / wall time.

Recall is computed by ``bench.suite.recall`` against the exact ground truth.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.metrics import latency_summary
from bench.suite.adapters.base import TOP_K, Search
from bench.suite.recall import recall_both

WARMUP = 5
BATCH = 100
#: a time-budgeted loop still measures at least this many queries
MIN_BUDGET_QUERIES = 10


def batch1(
    search: Search, queries: np.ndarray, budget_s: float | None = None
) -> tuple[list[list[int]], dict[str, float]]:
    """One query per call; with ``budget_s``, stop once that much time has passed
    (after at least :data:`MIN_BUDGET_QUERIES`), so a system that takes seconds per
    query is measured on fewer queries instead of holding the run for hours."""
    clock = time.perf_counter
    first_s = 0.0
    for i in range(min(WARMUP, len(queries))):
        t = clock()
        search(queries[i : i + 1])
        if i == 0:  # what a filter (or parameter) not seen before costs, caches cold
            first_s = clock() - t
    found: list[list[int]] = []
    lat: list[float] = []
    start = clock()
    for i in range(len(queries)):
        t = clock()
        ids = search(queries[i : i + 1])[0]
        lat.append(clock() - t)
        found.append(ids)
        if budget_s is not None and i + 1 >= MIN_BUDGET_QUERIES and clock() - start > budget_s:
            break
    speed = latency_summary(lat, clock() - start)
    speed["first_ms"] = first_s * 1e3
    return found, speed


def batched(search: Search, queries: np.ndarray) -> tuple[list[list[int]], dict[str, float]]:
    search(queries[:BATCH])  # warm-up
    found: list[list[int]] = []
    start = time.perf_counter()
    for lo in range(0, len(queries), BATCH):
        found.extend(search(queries[lo : lo + BATCH]))
    wall = time.perf_counter() - start
    return found, {"qps": len(queries) / wall}


def point(
    search: Search,
    queries: np.ndarray,
    truth: np.ndarray,
    base: np.ndarray,
    mode: str,
    budget_s: float | None = None,
) -> dict[str, Any]:
    """One (parameter, filter) point: recall and speed in ``mode`` "batch1" or "batch100".

    ``budget_s`` (batch 1 only) may stop the loop early; recall and speed are then over
    the queries measured, ``queries`` says how many, and ``budget_stopped`` is True.
    """
    if mode == "batch1":
        found, speed = batch1(search, queries, budget_s)
    else:
        found, speed = batched(search, queries)
    n = len(found)
    out: dict[str, Any] = recall_both(found, truth[:n], base, queries[:n], TOP_K)
    out.update(speed)
    out["queries"] = n
    out["budget_stopped"] = n < len(queries)
    out["short_results"] = sum(
        1 for f, t in zip(found, truth) if len(f) < min(TOP_K, int((t >= 0).sum()))
    )
    return out


def concurrent(
    make_search: Callable[[], Search], queries: np.ndarray, clients: int, duration_s: float
) -> dict[str, Any]:
    """``clients`` threads with a client each, batch-1 queries for ``duration_s`` seconds."""
    searches = [make_search() for _ in range(clients)]
    for s in searches:
        s(queries[:1])
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    ready = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def work(n: int) -> None:
        search, lat, clock = searches[n], latencies[n], time.perf_counter
        ready.wait()
        i = n * 7919  # distinct starting points, so clients do not ask in lockstep
        try:
            while clock() < stop_at[0]:
                q = queries[i % len(queries) : i % len(queries) + 1]
                t = clock()
                search(q)
                lat.append(clock() - t)
                i += 1
        except Exception as exc:  # reported, not hidden: the run is marked failed
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    stop_at[0] = start + duration_s
    ready.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    flat = [x for lat in latencies for x in lat]
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]}")
    out = latency_summary(flat, wall)
    out.update(clients=clients, queries=len(flat))
    return out
