"""Quick-form collections through pymilvus: the common path end to end."""

from __future__ import annotations

from pymilvus import DataType, MilvusClient


def test_quick_collection_roundtrip(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=4)
    assert milvus.has_collection(name)
    assert name in milvus.list_collections()
    assert milvus.get_load_state(name)["state"].name == "Loaded"
    rows = [{"id": i, "vector": [float(i), 1.0, 0.0, 0.0], "color": f"c{i % 3}"} for i in range(10)]
    res = milvus.insert(name, rows)
    assert res["insert_count"] == 10
    assert list(res["ids"]) == list(range(10))
    assert milvus.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 10
    got = milvus.get(name, ids=[1, 2])
    assert sorted(r["id"] for r in got) == [1, 2]
    assert got[0]["vector"] == [1.0, 1.0, 0.0, 0.0] and got[0]["color"] == "c1"
    hits = milvus.search(name, data=[[1.0, 1.0, 0.0, 0.0]], limit=3, output_fields=["color"])
    assert len(hits) == 1 and len(hits[0]) == 3
    assert hits[0][0]["id"] == 1 and hits[0][0]["entity"] == {"color": "c1"}
    assert DataType is not None
