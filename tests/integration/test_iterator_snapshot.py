"""pymilvus's query_iterator reads one snapshot while others write.

The iterator's first query fetches ``session_ts``; later pages send it back as
``guarantee_timestamp`` and the server answers them from the snapshot pinned
under it (``keeldb.server.query_sessions``). Writes made between pages — new
rows past the cursor, deletes and upserts of rows not yet returned, a flush —
must not show up in the pages.
"""

from __future__ import annotations

from pymilvus import MilvusClient


def _rows(ids: range, version: int) -> list[dict]:
    return [{"id": i, "vector": [1.0, float(i)], "version": version} for i in ids]


def _drain(iterator) -> list[dict]:
    rows: list[dict] = []
    while page := iterator.next():
        rows.extend(page)
    iterator.close()
    return rows


def test_query_iterator_pages_come_from_one_snapshot(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=2)
    milvus.insert(name, _rows(range(40), version=1))
    iterator = milvus.query_iterator(name, batch_size=10, output_fields=["version"])
    first = iterator.next()
    assert [row["id"] for row in first] == list(range(10))

    milvus.insert(name, _rows(range(100, 105), version=2))  # past the cursor
    milvus.delete(name, ids=[15, 35])  # not returned yet
    milvus.upsert(name, _rows(range(20, 22), version=2))
    milvus.flush(name)  # sealing segments does not change the snapshot either

    rest = _drain(iterator)
    assert [row["id"] for row in rest] == list(range(10, 40))
    assert {row["version"] for row in rest} == {1}

    after = _drain(milvus.query_iterator(name, batch_size=10, output_fields=["version"]))
    ids = [row["id"] for row in after]
    assert ids == [i for i in range(40) if i not in (15, 35)] + list(range(100, 105))
    assert {row["id"] for row in after if row["version"] == 2} == {20, 21, *range(100, 105)}


def test_plain_queries_read_current_data(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=2)
    milvus.insert(name, _rows(range(3), version=1))
    iterator = milvus.query_iterator(name, batch_size=2)
    iterator.next()
    milvus.insert(name, _rows(range(3, 5), version=1))
    count = milvus.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"]
    assert count == 5
    assert [row["id"] for row in _drain(iterator)] == [2]
