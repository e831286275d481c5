"""The filtered-search planner (keeldb.index.filtering) against a scripted backend."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from keeldb.index.exact import exact_search_prepared
from keeldb.index.filtering import FilterPolicy, Restriction, search_planned
from keeldb.types import MetricType

L2 = MetricType.L2


class ScriptedBackend:
    """A PlannedBackend whose "index" searches are exact, recording every call."""

    def __init__(self, vectors, *, cost_per_effort=32.0, short_rows=0):
        self.vectors = vectors
        self.cost_per_effort = cost_per_effort
        self.short_rows = short_rows  # restricted searches return this many rows at most
        self.calls = []

    def effort_cost_rows(self, effort):
        return self.cost_per_effort * effort

    def exact_cost_rows(self, allowed_count):
        return float(allowed_count)

    def search_unrestricted(self, queries, k, effort):
        self.calls.append(("unrestricted", len(queries), k, effort))
        hits = exact_search_prepared(self.vectors, queries, k, L2)
        return hits.scores, hits.ids

    def search_restricted(self, queries, k, effort, restriction, base_effort):
        self.calls.append(("restricted", len(queries), k, effort))
        hits = exact_search_prepared(self.vectors, queries, k, L2, restriction.allowed)
        if self.short_rows:
            hits.ids[:, self.short_rows :] = -1
        return hits.scores, hits.ids

    def search_exact(self, queries, k, allowed):
        self.calls.append(("exact", len(queries), k, None))
        return exact_search_prepared(self.vectors, queries, k, L2, allowed)

    def routes(self):
        return [call[0] for call in self.calls]


@pytest.fixture(scope="module")
def clustered():
    """Two far-apart clusters of 1,000 rows; queries sit in cluster 0."""
    rng = np.random.default_rng(11)
    a = rng.normal(size=(1000, 8)).astype(np.float32)
    b = (rng.normal(size=(1000, 8)) + 50).astype(np.float32)
    queries = rng.normal(size=(20, 8)).astype(np.float32)
    return np.concatenate([a, b]), queries


def truth(vectors, queries, k, allowed):
    return exact_search_prepared(vectors, queries, k, L2, allowed).ids


def test_small_allowed_set_goes_exact_without_probing(clustered):
    vectors, queries = clustered
    allowed = np.zeros(2000, bool)
    allowed[::100] = True  # 20 rows: cheaper to scan than one ef=64 walk
    backend = ScriptedBackend(vectors)
    hits = search_planned(backend, queries, 5, allowed, 2000, 64, L2)
    assert backend.routes() == ["exact"]
    assert hits.plan == {"exact": 20}
    np.testing.assert_array_equal(hits.ids, truth(vectors, queries, 5, allowed))


def test_dense_uncorrelated_filter_is_answered_from_the_probe(clustered):
    vectors, queries = clustered
    allowed = np.random.default_rng(1).random(2000) < 0.6
    backend = ScriptedBackend(vectors, cost_per_effort=1.0)
    hits = search_planned(backend, queries, 5, allowed, 2000, 64, L2)
    assert backend.routes() == ["unrestricted"]
    assert backend.calls[0][2] == 64  # probe depth max(k, ef, min_probe)
    assert hits.plan["postfilter"] == 20
    np.testing.assert_array_equal(hits.ids, truth(vectors, queries, 5, allowed))


def test_filter_excluding_the_query_neighbourhood_raises_effort(clustered):
    vectors, queries = clustered
    allowed = np.zeros(2000, bool)
    allowed[1000:] = True  # only the far cluster: the probe sees no allowed row
    backend = ScriptedBackend(vectors, cost_per_effort=0.001)
    hits = search_planned(backend, queries, 5, allowed, 2000, 16, L2)
    assert backend.routes() == ["unrestricted", "restricted"]
    effort = backend.calls[1][3]
    # local selectivity (0 + 4·0.5) / (64 + 4) → effort ≥ 16 / ŝ, as 16·2^j
    assert effort >= 16 * 68 / 2 and (effort // 16) & (effort // 16 - 1) == 0
    assert hits.plan == {"postfilter": 0, "index": 20, "exact": 0}
    np.testing.assert_array_equal(hits.ids, truth(vectors, queries, 5, allowed))


def test_raised_effort_that_costs_more_than_a_scan_goes_exact(clustered):
    vectors, queries = clustered
    allowed = np.zeros(2000, bool)
    allowed[1000:] = True
    backend = ScriptedBackend(vectors, cost_per_effort=1.0)
    hits = search_planned(backend, queries, 5, allowed, 2000, 16, L2)
    assert backend.routes() == ["unrestricted", "exact"]
    assert hits.plan == {"postfilter": 0, "index": 0, "exact": 20}


@pytest.mark.parametrize(("cost_per_effort", "probes"), [(1.0, False), (0.1, True)])
def test_probe_is_skipped_when_a_typical_query_would_go_exact(clustered, cost_per_effort, probes):
    """5% allowed: a 64-row probe holds ~3 allowed rows, fewer than k = 10, so a typical
    query's effort is raised 2^5-fold (to 512): dearer than scanning the 100 rows at 1
    row scan per unit of effort (no probe), cheaper at 0.1 (probe as usual)."""
    vectors, queries = clustered
    allowed = np.zeros(2000, bool)
    allowed[np.random.default_rng(3).choice(2000, 100, replace=False)] = True
    backend = ScriptedBackend(vectors, cost_per_effort=cost_per_effort)
    hits = search_planned(backend, queries, 10, allowed, 2000, 16, L2)
    assert (backend.routes()[0] == "unrestricted") == probes
    if not probes:
        assert backend.routes() == ["exact"] and hits.plan == {"exact": 20}
    np.testing.assert_array_equal(hits.ids, truth(vectors, queries, 10, allowed))


@pytest.mark.parametrize(("cached", "read_only", "exact"), [
    (True, True, True), (True, False, False), (False, True, False),
])  # fmt: skip
def test_rows_gathered_before_make_the_scan_cheaper(clustered, cached, read_only, exact):
    """400 allowed rows cost 400 row scans, 120 once gathered (a read-only mask and a
    backend that caches gathers); an ef=16 walk costs 16 x 10 = 160: between the two."""
    vectors, queries = clustered
    allowed = np.zeros(2000, bool)
    allowed[np.random.default_rng(4).choice(2000, 400, replace=False)] = True
    allowed.flags.writeable = not read_only
    backend = ScriptedBackend(vectors, cost_per_effort=10.0)
    backend.caches_gathered_rows = cached
    hits = search_planned(backend, queries, 10, allowed, 2000, 16, L2)
    assert (backend.routes() == ["exact"]) == exact, backend.routes()
    np.testing.assert_array_equal(hits.ids, truth(vectors, queries, 10, allowed))


def test_short_restricted_results_are_redone_exactly(clustered):
    vectors, queries = clustered
    allowed = np.zeros(2000, bool)
    allowed[1000:] = True
    backend = ScriptedBackend(vectors, cost_per_effort=0.001, short_rows=2)
    hits = search_planned(backend, queries, 5, allowed, 2000, 16, L2)
    assert backend.routes() == ["unrestricted", "restricted", "exact"]
    assert hits.plan == {"postfilter": 0, "index": 0, "exact": 20}
    np.testing.assert_array_equal(hits.ids, truth(vectors, queries, 5, allowed))


def test_all_true_mask_is_an_unfiltered_search(clustered):
    vectors, queries = clustered
    backend = ScriptedBackend(vectors, cost_per_effort=1.0)
    hits = search_planned(backend, queries, 5, np.ones(2000, bool), 2000, 64, L2)
    assert backend.routes() == ["unrestricted"]
    assert hits.plan == {"index": 20}


def test_fewer_allowed_rows_than_k_pads_and_never_walks(clustered):
    vectors, queries = clustered
    allowed = np.zeros(2000, bool)
    allowed[[3, 1500]] = True
    backend = ScriptedBackend(vectors, cost_per_effort=0.0)
    hits = search_planned(backend, queries, 4, allowed, 2000, 64, L2)
    assert backend.routes() == ["exact"]
    assert (hits.ids[:, 2:] == -1).all() and set(hits.ids[0, :2]) == {3, 1500}


def test_plan_counts_cover_every_query(clustered):
    vectors, queries = clustered
    allowed = np.zeros(2000, bool)
    allowed[500:1500] = True  # half of the near cluster, half of the far one
    backend = ScriptedBackend(vectors, cost_per_effort=0.5)
    hits = search_planned(
        backend, queries, 5, allowed, 2000, 16, L2, FilterPolicy(prior_weight=1.0)
    )
    assert sum(hits.plan.values()) == len(queries)
    np.testing.assert_array_equal(hits.ids, truth(vectors, queries, 5, allowed))


def test_restriction_bits_match_faiss_bitmap_selector():
    allowed = np.random.default_rng(5).random(77) < 0.4
    restriction = Restriction(allowed)
    bits = restriction.bits
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
    assert [selector.is_member(i) for i in range(77)] == allowed.tolist()
    assert restriction.count == int(allowed.sum())
    assert restriction.as_list() == allowed.tolist()
