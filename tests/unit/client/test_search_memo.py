"""The memoised search request: every catalog change must reach the next search.

``Client.search`` derives its request once per (collection, options) and reuses
it while the catalog is unchanged; these tests change the catalog between two
identical searches and check the second one sees the change.
"""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import CollectionNotFound, InvalidArgument, NotLoaded, StorageError


def _make(client, name, first_id, dim=4, metric="L2"):
    client.create_collection(name, dimension=dim, metric_type=metric)
    rng = np.random.default_rng(first_id)
    vectors = rng.normal(size=(50, dim)).astype(np.float32)
    client.insert(name, [{"id": first_id + i, "vector": v} for i, v in enumerate(vectors)])
    return vectors


def _ids(result):
    return [hit["id"] for hit in result[0]]


def test_alias_move_reaches_the_next_identical_search(client):
    a = _make(client, "a", 0)
    _make(client, "b", 1000)
    client.create_alias("a", "live")
    first = client.search("live", data=[a[3]], limit=3)
    assert _ids(first)[0] == 3
    client.alter_alias("b", "live")
    second = client.search("live", data=[a[3]], limit=3)
    assert all(pk >= 1000 for pk in _ids(second))


def test_release_and_drop_reach_the_next_identical_search(client):
    a = _make(client, "a", 0)
    assert _ids(client.search("a", data=[a[0]], limit=1)) == [0]
    client.release_collection("a")
    with pytest.raises(NotLoaded):
        client.search("a", data=[a[0]], limit=1)
    client.load_collection("a")
    assert _ids(client.search("a", data=[a[0]], limit=1)) == [0]
    client.drop_collection("a")
    with pytest.raises(CollectionNotFound):
        client.search("a", data=[a[0]], limit=1)


def test_recreated_collection_is_searched_not_the_dropped_one(client):
    _make(client, "a", 0)
    probe = _make(client, "other", 500)[7]
    client.search("a", data=[probe], limit=2)
    client.drop_collection("a")
    _make(client, "a", 2000)
    assert all(pk >= 2000 for pk in _ids(client.search("a", data=[probe], limit=2)))


def test_index_change_reaches_the_next_identical_search(client):
    a = _make(client, "a", 0)
    client.search("a", data=[a[0]], limit=50)
    client.release_collection("a")
    client.drop_index("a", "vector")
    params = client.prepare_index_params()
    params.add_index("vector", index_type="FLAT", metric_type="IP")
    client.create_index("a", params)
    client.load_collection("a")
    # the memoised L2 request would search with the old metric; the new one is IP
    hits = client.search("a", data=[a[0]], limit=50)[0]
    scores = [h["distance"] for h in hits]
    assert scores == sorted(scores, reverse=True)  # IP: similarity, descending
    with pytest.raises(InvalidArgument, match="metric type not match"):
        client.search("a", data=[a[0]], limit=1, search_params={"metric_type": "L2"})


def test_a_new_partition_is_searchable_with_the_same_call(client):
    a = _make(client, "a", 0)
    client.create_partition("a", "p1")
    with pytest.raises(Exception, match="p2"):
        client.search("a", data=[a[0]], limit=1, partition_names=["p2"])
    client.create_partition("a", "p2")
    client.insert("a", [{"id": 999, "vector": a[0]}], partition_name="p2")
    assert _ids(client.search("a", data=[a[0]], limit=1, partition_names=["p2"])) == [999]


def test_use_database_is_part_of_the_memo(client):
    a = _make(client, "a", 0)
    client.create_database("db2")
    client.search("a", data=[a[0]], limit=1)
    client.use_database("db2")
    with pytest.raises(CollectionNotFound):
        client.search("a", data=[a[0]], limit=1)


# pytest's own warning filters override the module filter in keeldb.client.data
@pytest.mark.filterwarnings("ignore:overflow encountered in dot:RuntimeWarning")
def test_query_vectors_are_checked_on_every_call(client):
    a = _make(client, "a", 0)
    client.search("a", data=[a[0]], limit=1)
    with pytest.raises(InvalidArgument, match="dimension"):
        client.search("a", data=[[1.0, 2.0]], limit=1)
    with pytest.raises(InvalidArgument, match="NaN"):
        client.search("a", data=[[np.nan, 0.0, 0.0, 0.0]], limit=1)
    # the batch-1 fast path for a float32 numpy row checks the same things
    with pytest.raises(InvalidArgument, match="NaN"):
        client.search("a", data=[np.array([np.nan, 0, 0, 0], dtype=np.float32)], limit=1)
    with pytest.raises(InvalidArgument, match="NaN"):
        client.search("a", data=[np.array([np.inf, 0, 0, 0], dtype=np.float32)], limit=1)
    huge = np.full(4, 3e38, dtype=np.float32)  # finite, though its dot product overflows
    with pytest.raises(InvalidArgument, match="too large for L2: its squared length overflows"):
        client.search("a", data=[huge], limit=1)  # every L2 distance to it would be inf
    with pytest.raises(InvalidArgument, match="query vector 1 .* too large for L2"):
        client.search("a", data=[[1.0] * 4, [3e38] * 4], limit=1)
    # under COSINE only its direction counts: it is rescaled and answers like a unit vector
    c = _make(client, "c", 100, metric="COSINE")
    direction = c[7] / np.linalg.norm(c[7])
    assert _ids(client.search("c", data=[direction * 1e38], limit=1)) == [107]
    assert _ids(client.search("c", data=[(direction * 1e38).tolist()], limit=1)) == [107]
    strided = np.ascontiguousarray(np.stack([a[2], a[2]], axis=1)).T[0]  # a non-contiguous row
    assert not strided.flags.c_contiguous
    assert _ids(client.search("a", data=[strided], limit=1)) == [2]


def test_search_still_reports_os_errors_as_storage_errors(client, monkeypatch):
    a = _make(client, "a", 0)

    def failing(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("keeldb.client.data.execute_search", failing)
    with pytest.raises(StorageError, match="search failed: Input/output error"):
        client.search("a", data=[a[0]], limit=1)
