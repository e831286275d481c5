"""Grouping search (group_by_field / group_size / strict_group_size) against brute force.

The reference ranks every live row exactly, opens groups in order of their best
row, and keeps the best ``group_size`` rows of each of the first ``limit``
groups. With a FLAT index (sealed rows) and exact growing rows the strict
answer must equal it; a non-strict answer has the same groups, each holding a
prefix of the reference group.
"""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import InvalidArgument
from tests.unit.client.search_reference import make_collection, ranked


def reference_groups(vectors, query, metric, allowed, key, limit, size, offset=0):
    order, _ = ranked(vectors, query, metric, allowed)
    groups: dict = {}
    for row in order.tolist():
        groups.setdefault(key[row].item(), [])
        if len(groups[key[row].item()]) < size:
            groups[key[row].item()].append(row)
    return list(groups.items())[offset : offset + limit]


def as_groups(hits, field):
    out: list = []
    for hit in hits:
        value = hit["entity"][field]
        if not out or out[-1][0] != value:
            out.append((value, []))
        out[-1][1].append(hit["id"])
    return out


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
@pytest.mark.parametrize("size", [1, 3])
def test_strict_groups_equal_brute_force(client, metric, size):
    vectors, grp, tag, alive = make_collection(client, "g", metric)
    rng = np.random.default_rng(5)
    for query in vectors[rng.integers(0, len(vectors), 4)] + 0.05:
        hits = client.search(
            "g", [query], limit=8, group_by_field="grp", group_size=size, strict_group_size=True
        )[0]
        want = reference_groups(vectors, query, metric, alive, grp, 8, size)
        assert as_groups(hits, "grp") == want
        assert len({v for v, _ in as_groups(hits, "grp")}) == len(want)  # groups never split


def test_non_strict_groups_are_prefixes(client):
    vectors, grp, tag, alive = make_collection(client, "g", "L2")
    query = vectors[42] + 0.05
    hits = client.search("g", [query], limit=10, group_by_field="grp", group_size=4)[0]
    got = as_groups(hits, "grp")
    want = reference_groups(vectors, query, "L2", alive, grp, 10, 4)
    assert [v for v, _ in got] == [v for v, _ in want]
    for (_, ids), (_, full) in zip(got, want):
        assert len(ids) >= 1 and ids == full[: len(ids)]


def test_grouping_with_filter_offset_output_and_varchar(client):
    vectors, grp, tag, alive = make_collection(client, "g", "COSINE")
    query = vectors[7]
    hits = client.search(
        "g",
        [query, vectors[8]],
        limit=2,
        filter="grp > 2",
        output_fields=["tag"],
        search_params={"offset": 1, "group_by_field": "tag", "group_size": "2"},
        strict_group_size="true",
    )
    allowed = alive & (grp > 2)
    want = reference_groups(vectors, query, "COSINE", allowed, tag, 2, 2, offset=1)
    assert as_groups(hits[0], "tag") == want
    assert len(hits) == 2 and set(hits[0][0]["entity"]) == {"tag"}


def test_fewer_groups_than_limit(client):
    vectors, grp, tag, alive = make_collection(client, "g", "L2", rows=120)
    hits = client.search("g", [vectors[0]], limit=10, group_by_field="tag", group_size=2)[0]
    assert sorted(v for v, _ in as_groups(hits, "tag")) == ["a", "b", "c"]


def test_hnsw_grouping_recall(client):
    vectors, grp, tag, alive = make_collection(
        client, "g", "L2", "HNSW", {"M": 16, "efConstruction": 100}
    )
    rng = np.random.default_rng(9)
    same = total = 0
    for query in vectors[rng.integers(0, len(vectors), 10)] + 0.05:
        hits = client.search(
            "g", [query], limit=5, group_by_field="grp", group_size=2, strict_group_size=True
        )[0]
        want = {
            r for _, rows in reference_groups(vectors, query, "L2", alive, grp, 5, 2) for r in rows
        }
        same += len({h["id"] for h in hits} & want)
        total += len(want)
    assert same / total >= 0.95


@pytest.mark.parametrize(
    "options,message",
    [
        ({"group_by_field": "vector"}, "grouping needs"),
        ({"group_by_field": "grp", "group_size": 0}, "group_size"),
        ({"group_by_field": "grp", "group_size": 2000}, "group_size"),
        ({"group_by_field": "grp", "strict_group_size": "maybe"}, "strict_group_size"),
    ],
)
def test_bad_grouping_options(client, options, message):
    make_collection(client, "g", "L2", rows=60)
    with pytest.raises(InvalidArgument, match=message):
        client.search("g", [[0.0] * 16], limit=3, **options)


def test_grouping_is_refused_by_iterators(client):
    make_collection(client, "g", "L2", rows=60)
    with pytest.raises(InvalidArgument, match="groupBy"):
        client.search_iterator("g", [[0.0] * 16], batch_size=5, group_by_field="grp")
