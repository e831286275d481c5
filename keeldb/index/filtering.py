"""Planning a search over an ``allowed`` bitmap, per query: the filtered-search cost model.

Approximate indexes lose recall under selective filters: FAISS's HNSW beam fills
with rows the filter rejects and stops early, and an IVF probe may open lists
that hold no allowed row. :func:`search_planned` picks, for every query, the
cheapest route expected to keep recall, priced in "row scans" (the cost of
scoring one vector exactly). Routes, as counted in ``SearchHits.plan``:

1. **exact** for the whole batch when at most ``k`` rows are allowed, or when
   scanning the ``m`` allowed rows costs no more than one unrestricted index
   search (``exact_cost_rows(m) <= effort_cost_rows(effort)``): small segments
   and very selective filters. No filter at all otherwise means one plain
   **index** search.
2. With a filter, an unrestricted probe fetches the top ``P = max(k, effort,
   64)`` rows. A query with at least ``k`` allowed rows among them is answered
   from the probe (**postfilter**): those are the nearest allowed rows the index
   sees at this effort anyway.
   When even a typical query (``P·s`` allowed rows in its probe, fewer than
   ``k``) would be sent exact by step 3, the probe is skipped: **exact** for the
   whole batch.
3. For the remaining queries the probe measures the *local* selectivity
   ``ŝ = (allowed_in_probe + w·s) / (P + w)`` (``s`` = global selectivity, ``w``
   = prior weight), which exposes filters correlated with the query (one that
   excludes the query's own neighbourhood). The effort is raised to
   ``effort / ŝ`` (rounded up to ``effort · 2^j`` so queries batch) so the
   restricted search still meets about ``effort`` allowed candidates; the query
   goes **exact** instead when that effort costs at least the exact scan.
   Otherwise it is an **index** search restricted to the bitmap.
4. A restricted search that returns fewer than ``min(k, m)`` rows is redone
   exactly, so a qualifying row is never silently missing.

Invariants: every returned id is an allowed row; a query is padded only when
fewer than ``k`` rows are allowed; the plan counts add up to ``nq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from keeldb.index.hits import SearchHits, empty_hits, fill_hits, hits_from_backend
from keeldb.types import MetricType


@dataclass(frozen=True)
class FilterPolicy:
    """Tunable constants of the cost model (defaults measured on 2 CPU cores).

    ``graph_rows_per_ef``: row scans one unit of HNSW ``ef`` costs. Measured with
    FAISS at dim 64-256: 12 (single queries, gather included) to 115 (batches of
    256 scored with BLAS); 32 sits between and leans to exact, which never loses
    recall. ``prior_weight``: pseudo-count of the global selectivity in the
    local-selectivity estimate, so a probe with no allowed row still gives a
    finite effort. ``min_probe``: the probe fetches at least this many rows, so
    the estimate rests on enough samples even when ``k`` and the effort are small.
    ``cached_scan_share``: what scoring a row costs, relative to gathering and
    scoring it, when the allowed rows were gathered before (a backend with
    ``caches_gathered_rows`` searching under a read-only mask, the filter cache's:
    ``index/exact.py``). Measured 0.24 at 64k × 384 (10% allowed: 0.41 ms to
    score, 1.7 ms with the gather); 0.3 leans, again, to exact.
    """

    graph_rows_per_ef: float = 32.0
    prior_weight: float = 4.0
    min_probe: int = 64
    cached_scan_share: float = 0.3


DEFAULT_POLICY = FilterPolicy()


class Restriction:
    """An ``allowed`` mask plus its FAISS-ready packed bitmap, computed once per search."""

    def __init__(self, allowed: np.ndarray) -> None:
        self.allowed = allowed
        self.count = int(np.count_nonzero(allowed))
        self._bits: np.ndarray | None = None
        self._list: list[bool] | None = None

    @property
    def bits(self) -> np.ndarray:
        """Little-endian packed bits, FAISS's ``IDSelectorBitmap`` layout (bit i of byte i//8)."""
        if self._bits is None:
            self._bits = np.packbits(self.allowed, bitorder="little")
        return self._bits

    def as_list(self) -> list[bool]:
        """The mask as a Python list, whose ``__getitem__`` is the cheapest Python predicate."""
        if self._list is None:
            self._list = self.allowed.tolist()
        return self._list


class PlannedBackend(Protocol):
    """What an approximate index offers :func:`search_planned`.

    ``effort`` is the index's search-breadth knob (HNSW ``ef``, IVF ``nprobe``).
    Results are raw ``(scores, ids)`` with -1 ids in empty slots. ``search_restricted``
    gets the raised ``effort`` and the user's ``base_effort``; a backend whose
    filtered walk counts only allowed candidates (hnswlib) may use the latter.
    """

    def effort_cost_rows(self, effort: int) -> float: ...

    def exact_cost_rows(self, allowed_count: int) -> float: ...

    def search_unrestricted(
        self, queries: np.ndarray, k: int, effort: int
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def search_restricted(
        self,
        queries: np.ndarray,
        k: int,
        effort: int,
        restriction: Restriction,
        base_effort: int,
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def search_exact(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> SearchHits: ...

    # optional: ``caches_gathered_rows = True`` where ``search_exact`` reuses the rows
    # gathered for a read-only mask (``exact_search_prepared`` over stored vectors)


def search_planned(
    backend: PlannedBackend,
    queries: np.ndarray,
    k: int,
    allowed: np.ndarray | None,
    count: int,
    effort: int,
    metric: MetricType,
    policy: FilterPolicy = DEFAULT_POLICY,
) -> SearchHits:
    """Search ``queries`` over ``count`` rows choosing a route per query (module docstring)."""
    nq = len(queries)
    restriction = None if allowed is None or allowed.all() else Restriction(allowed)
    m = count if restriction is None else restriction.count
    if nq == 0 or m == 0:
        return empty_hits(nq, k, metric)
    if m <= k or _exact_cost(backend, m, allowed, policy) <= backend.effort_cost_rows(effort):
        return backend.search_exact(queries, k, allowed)
    if restriction is None:
        scores, ids = backend.search_unrestricted(queries, k, effort)
        hits = hits_from_backend(scores, ids, k, metric)
        hits.plan["index"] = nq
        return hits
    return _search_restricted(backend, queries, k, restriction, effort, metric, policy)


def _search_restricted(
    backend: PlannedBackend,
    queries: np.ndarray,
    k: int,
    restriction: Restriction,
    effort: int,
    metric: MetricType,
    policy: FilterPolicy,
) -> SearchHits:
    allowed, m = restriction.allowed, restriction.count
    probe_k = max(k, effort, policy.min_probe)
    selectivity = m / len(allowed)
    exact_cost = _exact_cost(backend, m, allowed, policy)
    expected = probe_k * selectivity
    if expected < k:
        typical = _raised_efforts(np.array([expected]), probe_k, selectivity, effort, policy)[0]
        if backend.effort_cost_rows(int(typical)) >= exact_cost:
            # a typical query's probe could not answer it and would send it exact:
            # skip probing (a filter correlated with the query is still exact, just slower)
            return backend.search_exact(queries, k, allowed)
    hits = empty_hits(len(queries), k, metric)
    scores, ids = backend.search_unrestricted(queries, probe_k, effort)
    passing = (ids >= 0) & allowed[np.maximum(ids, 0)]
    found = passing.sum(axis=1)
    answered = np.flatnonzero(found >= k)
    if len(answered):
        # A stable sort on "rejected" moves allowed hits to the front, in rank order.
        order = np.argsort(~passing[answered], axis=1, kind="stable")[:, :k]
        fill_hits(
            hits,
            answered,
            np.take_along_axis(scores[answered], order, axis=1),
            np.take_along_axis(ids[answered], order, axis=1),
            metric,
        )
    hits.plan["postfilter"] = len(answered)

    rest = np.flatnonzero(found < k)
    efforts = _raised_efforts(found[rest], probe_k, selectivity, effort, policy)
    to_exact = [np.empty(0, dtype=np.int64)]
    searched = 0
    for bucket in np.unique(efforts):
        rows = rest[efforts == bucket]
        if backend.effort_cost_rows(int(bucket)) >= exact_cost:
            to_exact.append(rows)
            continue
        b_scores, b_ids = backend.search_restricted(
            queries[rows], k, int(bucket), restriction, effort
        )
        short = (b_ids >= 0).sum(axis=1) < min(k, m)
        fill_hits(hits, rows[~short], b_scores[~short], b_ids[~short], metric)
        to_exact.append(rows[short])
        searched += int(np.count_nonzero(~short))
    hits.plan["index"] = searched

    exact_rows = np.concatenate(to_exact)
    if len(exact_rows):
        exact = backend.search_exact(queries[exact_rows], k, allowed)
        hits.ids[exact_rows] = exact.ids
        hits.scores[exact_rows] = exact.scores
    hits.plan["exact"] = len(exact_rows)
    return hits


def _exact_cost(
    backend: PlannedBackend, m: int, allowed: np.ndarray | None, policy: FilterPolicy
) -> float:
    """Row scans of an exact search over ``m`` allowed rows; cheaper when the backend
    finds them already gathered (a read-only mask: ``FilterPolicy.cached_scan_share``)."""
    cost = backend.exact_cost_rows(m)
    gathered = allowed is not None and not allowed.flags.writeable
    if gathered and getattr(backend, "caches_gathered_rows", False):
        cost *= policy.cached_scan_share
    return cost


def _raised_efforts(
    found: np.ndarray, probe_k: int, selectivity: float, effort: int, policy: FilterPolicy
) -> np.ndarray:
    """``effort / ŝ`` per query, rounded up to ``effort · 2^j`` so queries batch into few calls."""
    prior = policy.prior_weight
    local = (found + prior * selectivity) / (probe_k + prior)
    steps = np.ceil(np.log2(np.maximum(1.0 / local, 1.0)))
    # Backends clamp efforts to what they can use (ef <= rows, nprobe <= nlist).
    return np.minimum(effort * 2.0**steps, _EFFORT_MAX).astype(np.int64)


_EFFORT_MAX = 2**31 - 1


class HnswPlanning:
    """The planning half shared by the HNSW backends: effort is ``ef``, and the
    cost of one graph search is ``graph_rows_per_ef`` row scans per unit of ef."""

    policy: FilterPolicy
    count: int
    metric: MetricType

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, params: dict[str, Any]
    ) -> SearchHits:
        return search_planned(
            self,  # type: ignore[arg-type]  # the concrete class completes PlannedBackend
            queries, k, allowed, self.count, params["ef"], self.metric, self.policy,
        )  # fmt: skip

    def _range_round(
        self, params: dict[str, Any], k_prime: int, round_no: int
    ) -> tuple[dict[str, Any], bool]:
        return {**params, "ef": max(params["ef"], k_prime)}, True

    def effort_cost_rows(self, effort: int) -> float:
        return self.policy.graph_rows_per_ef * effort

    def exact_cost_rows(self, allowed_count: int) -> float:
        return float(allowed_count)
