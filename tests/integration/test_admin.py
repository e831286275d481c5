"""Indexes, load state, partitions, aliases and databases through pymilvus."""

from __future__ import annotations

import pytest
from pymilvus import MilvusClient, MilvusException

from tests.integration.test_collections import full_schema


def _rows(start: int, count: int, dim: int = 4) -> list[dict]:
    return [
        {"id": i, "vector": [float(i), 1.0] + [0.0] * (dim - 2)}
        for i in range(start, start + count)
    ]


def test_indexes_and_load_state(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, schema=full_schema(milvus))
    assert milvus.list_indexes(name) == []
    assert milvus.describe_index(name, "vec") is None
    with pytest.raises(MilvusException) as err:
        milvus.load_collection(name)
    assert err.value.code == 700
    index = milvus.prepare_index_params()
    index.add_index(
        "vec", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 64}
    )
    index.add_index("title", index_type="INVERTED", index_name="title_idx")
    milvus.create_index(name, index)
    assert sorted(milvus.list_indexes(name)) == ["title_idx", "vec"]
    assert milvus.list_indexes(name, field_name="title") == ["title_idx"]
    info = milvus.describe_index(name, "vec")
    assert info["index_type"] == "HNSW" and info["metric_type"] == "IP"
    assert info["M"] == "16" and info["efConstruction"] == "64"
    assert info["state"] == "Finished" and info["field_name"] == "vec"
    milvus.load_collection(name)
    assert milvus.get_load_state(name)["state"].name == "Loaded"
    with pytest.raises(MilvusException, match="release it first"):
        milvus.drop_index(name, "vec")
    milvus.release_collection(name)
    assert milvus.get_load_state(name)["state"].name == "NotLoad"
    milvus.drop_index(name, "vec")
    assert milvus.list_indexes(name) == ["title_idx"]
    assert milvus.get_load_state("no_such_collection")["state"].name == "NotExist"


def test_autoindex_when_index_type_is_missing(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, schema=full_schema(milvus))
    index = milvus.prepare_index_params()
    index.add_index("vec")
    milvus.create_index(name, index)
    info = milvus.describe_index(name, "vec")
    assert info["index_type"] == "AUTOINDEX" and info["metric_type"] == "COSINE"


def test_partitions(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=4)
    milvus.create_partition(name, "p1")
    assert milvus.has_partition(name, "p1") and not milvus.has_partition(name, "p2")
    assert milvus.list_partitions(name) == ["_default", "p1"]
    milvus.insert(name, _rows(0, 5))
    milvus.insert(name, _rows(100, 3), partition_name="p1")
    assert milvus.get_partition_stats(name, "p1") == {"row_count": 3}
    hits = milvus.search(name, data=[[100.0, 1.0, 0.0, 0.0]], limit=10, partition_names=["p1"])
    assert sorted(h["id"] for h in hits[0]) == [100, 101, 102]
    got = milvus.query(name, filter="id >= 0", partition_names=["_default"], output_fields=["id"])
    assert sorted(r["id"] for r in got) == [0, 1, 2, 3, 4]
    milvus.release_partitions(name, ["p1"])
    milvus.load_partitions(name, ["p1"])
    assert milvus.get_load_state(name, partition_name="p1")["state"].name == "Loaded"
    milvus.drop_partition(name, "p1")
    assert milvus.list_partitions(name) == ["_default"]
    assert milvus.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 5
    with pytest.raises(MilvusException) as err:
        milvus.insert(name, _rows(200, 1), partition_name="nope")
    assert err.value.code == 200


def test_aliases_switch_what_a_search_sees(milvus: MilvusClient, name: str) -> None:
    blue, green, alias = name + "_blue", name + "_green", name + "_live"
    for coll, start in ((blue, 0), (green, 1000)):
        milvus.create_collection(coll, dimension=4)
        milvus.insert(coll, _rows(start, 3))
    milvus.create_alias(blue, alias)
    assert milvus.describe_alias(alias) == {
        "alias": alias,
        "collection_name": blue,
        "db_name": "default",
    }
    assert milvus.list_aliases(blue)["aliases"] == [alias]
    assert milvus.describe_collection(alias)["collection_name"] == blue
    hit = milvus.search(alias, data=[[0.0, 1.0, 0.0, 0.0]], limit=1)[0][0]
    assert hit["id"] < 1000
    milvus.alter_alias(green, alias)
    hit = milvus.search(alias, data=[[0.0, 1.0, 0.0, 0.0]], limit=1)[0][0]
    assert hit["id"] >= 1000
    assert milvus.list_aliases(blue)["aliases"] == []
    milvus.drop_alias(alias)
    with pytest.raises(MilvusException) as err:
        milvus.describe_alias(alias)
    assert err.value.code == 1600


def test_databases(milvus: MilvusClient, server: str, name: str) -> None:
    db = "db_" + name
    milvus.create_database(db)
    assert db in milvus.list_databases()
    scoped = MilvusClient(server, db_name=db)
    try:
        scoped.create_collection(name, dimension=4)
        scoped.insert(name, _rows(0, 4))
        assert scoped.list_collections() == [name]
        assert not milvus.has_collection(name)
        assert scoped.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 4
        milvus.use_database(db)
        assert milvus.list_collections() == [name]
        milvus.use_database("default")
        with pytest.raises(MilvusException):
            milvus.drop_database(db)  # not empty
        scoped.drop_collection(name)
    finally:
        scoped.close()
    milvus.drop_database(db)
    assert db not in milvus.list_databases()
    with pytest.raises(MilvusException) as err:
        MilvusClient(server, db_name="no_such_db").list_collections()
    assert err.value.code == 800
