"""Range search (radius / range_filter) through keeldb.Client against brute force.

Growing rows are searched exactly and sealed rows through their index, so every
case covers both paths; FLAT must match brute force exactly, approximate indexes
must keep every hit inside the range and find nearly all the rows it should.
"""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import IndexParamError, InvalidArgument
from tests.unit.client.search_reference import in_range, make_collection, ranked

METRICS = ["L2", "IP", "COSINE"]


def bounds_for(vectors, query, metric, alive):
    """A radius and range_filter that keep a band of rows well inside the data."""
    order, s = ranked(vectors, query, metric, alive)
    # midway between neighbouring rows, so float32 rounding cannot move a row across
    near = (s[order[5]] + s[order[6]]) / 2
    far = (s[order[120]] + s[order[121]]) / 2
    return float(far), float(near)  # radius (outer), range_filter (inner)


def expected(vectors, query, metric, allowed, limit, radius, range_filter):
    order, s = ranked(vectors, query, metric, allowed)
    keep = order[in_range(s[order], metric, radius, range_filter)]
    return keep[:limit].tolist(), s


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("inner", [True, False], ids=["annulus", "radius-only"])
def test_flat_range_search_equals_brute_force(client, metric, inner):
    vectors, grp, tag, alive = make_collection(client, "r", metric)
    rng = np.random.default_rng(1)
    for query in vectors[rng.integers(0, len(vectors), 5)] + 0.05:
        radius, range_filter = bounds_for(vectors, query, metric, alive)
        params = {"radius": radius, **({"range_filter": range_filter} if inner else {})}
        hits = client.search("r", [query], limit=30, search_params={"params": params})[0]
        want, s = expected(vectors, query, metric, alive, 30, radius, params.get("range_filter"))
        assert [h["id"] for h in hits] == want
        np.testing.assert_allclose([h["distance"] for h in hits], s[want], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("metric", METRICS)
def test_range_search_with_filter_and_top_level_params(client, metric):
    vectors, grp, tag, alive = make_collection(client, "r", metric)
    query = vectors[10] + 0.05
    radius, range_filter = bounds_for(vectors, query, metric, alive)
    hits = client.search(
        "r",
        [query],
        limit=50,
        filter="tag == 'b'",
        search_params={"metric_type": metric, "radius": radius, "range_filter": range_filter},
    )[0]
    want, _ = expected(vectors, query, metric, alive & (tag == "b"), 50, radius, range_filter)
    assert [h["id"] for h in hits] == want


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(
    "index_type,params",
    [("HNSW", {"M": 16, "efConstruction": 100}), ("IVF_FLAT", {"nlist": 16})],
)
def test_approximate_range_search_stays_in_range(client, metric, index_type, params):
    vectors, grp, tag, alive = make_collection(client, "r", metric, index_type, params)
    rng = np.random.default_rng(2)
    found = wanted = 0
    for query in vectors[rng.integers(0, len(vectors), 8)] + 0.05:
        radius, range_filter = bounds_for(vectors, query, metric, alive)
        params = {"radius": radius, "range_filter": range_filter}
        hits = client.search("r", [query], limit=40, search_params=params)[0]
        want, s = expected(vectors, query, metric, alive, 40, radius, range_filter)
        ids = [h["id"] for h in hits]
        assert in_range(s[ids], metric, radius, range_filter).all()
        dist = [h["distance"] for h in hits]
        assert dist == sorted(dist, reverse=metric != "L2")
        found += len(set(ids) & set(want))
        wanted += len(want)
    assert found / wanted >= 0.95


def test_radius_beyond_every_row_returns_nothing(client):
    vectors, *_ = make_collection(client, "r", "L2")
    hits = client.search("r", [vectors[0]], limit=5, search_params={"radius": 1e-3})[0]
    assert [h["id"] for h in hits] == [0]  # only the row itself is that close
    hits = client.search("r", [vectors[0] + 100], limit=5, search_params={"radius": 1.0})[0]
    assert hits == []


@pytest.mark.parametrize(
    "params,message",
    [
        ({"radius": "far"}, "'radius'"),
        ({"radius": True}, "'radius'"),
        ({"radius": float("nan")}, "'radius'"),
        ({"radius": 1.0, "range_filter": [0.5]}, "'range_filter'"),
        ({"range_filter": 0.5}, "needs a radius"),
        ({"radius": 1.0, "range_filter": 2.0}, "must be less than radius"),
    ],
)
def test_bad_range_params_l2(client, params, message):
    make_collection(client, "r", "L2", rows=60)
    with pytest.raises(IndexParamError, match=message):
        client.search("r", [[0.0] * 16], limit=3, search_params={"params": params})


def test_range_order_for_similarity_metrics(client):
    make_collection(client, "r", "IP", rows=60)
    with pytest.raises(IndexParamError, match="must be greater than radius"):
        client.search(
            "r", [[1.0] * 16], limit=3, search_params={"radius": 0.8, "range_filter": 0.2}
        )
    # numeric strings (as the wire carries them) are numbers
    client.search("r", [[1.0] * 16], limit=3, search_params={"radius": "0.2", "range_filter": "9"})


def test_range_and_grouping_do_not_mix(client):
    make_collection(client, "r", "L2", rows=60)
    with pytest.raises(InvalidArgument, match="range search"):
        client.search("r", [[0.0] * 16], limit=3, search_params={"radius": 5.0},
                      group_by_field="grp")  # fmt: skip
