"""Client.pin_snapshot + query(snapshot=...): reads as of one moment (keeldb extension)."""

from __future__ import annotations

import pytest

from keeldb.errors import InvalidArgument


def _rows(ids, version):
    return [{"id": i, "vector": [1.0, float(i)], "version": version} for i in ids]


def test_a_pinned_snapshot_ignores_later_writes(client) -> None:
    client.create_collection("c", dimension=2)
    client.insert("c", _rows(range(5), 1))
    pinned = client.pin_snapshot("c")
    client.insert("c", _rows(range(5, 8), 1))
    client.delete("c", ids=[0])
    client.upsert("c", _rows([1], 2))
    client.flush("c")
    client.compact("c")
    old = client.query("c", filter="id >= 0", output_fields=["version"], snapshot=pinned)
    assert [(r["id"], r["version"]) for r in old] == [(i, 1) for i in range(5)]
    count = client.query("c", output_fields=["count(*)"], snapshot=pinned)
    assert count == [{"count(*)": 5}]
    now = client.query("c", filter="id >= 0", output_fields=["version"])
    assert sorted(r["id"] for r in now) == [1, 2, 3, 4, 5, 6, 7]


def test_a_snapshot_of_a_dropped_collection_is_refused(client) -> None:
    client.create_collection("c", dimension=2)
    pinned = client.pin_snapshot("c")
    client.drop_collection("c")
    client.create_collection("c", dimension=2)
    with pytest.raises(InvalidArgument, match="re-created"):
        client.query("c", filter="id >= 0", snapshot=pinned)
