"""Collections with full schemas: create, describe, list, rename, truncate, drop, stats."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient, MilvusException

DIM = 8


def full_schema(milvus: MilvusClient, *, varchar_pk: bool = False, auto_id: bool = False):
    schema = milvus.create_schema(
        auto_id=auto_id, enable_dynamic_field=True, description="all types"
    )
    if varchar_pk:
        schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
    else:
        schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("flag", DataType.BOOL)
    schema.add_field("i8", DataType.INT8)
    schema.add_field("i16", DataType.INT16)
    schema.add_field("i32", DataType.INT32)
    schema.add_field("i64", DataType.INT64, nullable=True)
    schema.add_field("f32", DataType.FLOAT, default_value=1.5)
    schema.add_field("f64", DataType.DOUBLE)
    schema.add_field("title", DataType.VARCHAR, max_length=32, nullable=True)
    schema.add_field("n", DataType.INT64, default_value=7)
    schema.add_field("meta", DataType.JSON, nullable=True)
    schema.add_field(
        "tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4, max_length=16
    )
    schema.add_field("nums", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
    return schema


def test_describe_full_schema(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, schema=full_schema(milvus), consistency_level="Strong",
                             properties={"note": "x"})  # fmt: skip
    desc = milvus.describe_collection(name)
    assert desc["collection_name"] == name
    assert desc["description"] == "all types"
    assert desc["enable_dynamic_field"] is True
    assert desc["consistency_level"] == 0 and desc["consistency_level_name"] == "Strong"
    assert desc["properties"] == {"note": "x"}
    assert desc["collection_id"] > 0 and desc["created_timestamp"] > 0
    assert desc["num_partitions"] == 1 and desc["num_shards"] == 1
    fields = {f["name"]: f for f in desc["fields"]}
    assert [f["field_id"] for f in desc["fields"]] == list(range(100, 100 + len(fields)))
    assert "$meta" not in fields
    assert fields["pk"]["is_primary"] is True and fields["pk"]["type"] == DataType.INT64
    assert fields["vec"]["params"] == {"dim": DIM}
    assert fields["title"]["params"] == {"max_length": 32} and fields["title"]["nullable"] is True
    assert fields["tags"]["element_type"] == DataType.VARCHAR
    assert fields["tags"]["params"] == {"max_capacity": 4, "max_length": 16}
    assert fields["n"]["default_value"].long_data == 7
    assert fields["f32"]["default_value"].float_data == 1.5
    assert fields["meta"]["type"] == DataType.JSON
    assert milvus.get_load_state(name)["state"].name == "NotLoad"


def test_create_is_idempotent_for_the_same_schema(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, schema=full_schema(milvus))
    milvus.create_collection(name, schema=full_schema(milvus))
    other = milvus.create_schema()
    other.add_field("id", DataType.INT64, is_primary=True)
    other.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    with pytest.raises(MilvusException, match="duplicate collection"):
        milvus.create_collection(name, schema=other)


def test_varchar_auto_id_and_partition_key(milvus: MilvusClient, name: str) -> None:
    schema = milvus.create_schema(auto_id=True)
    schema.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("tenant", DataType.VARCHAR, max_length=16, is_partition_key=True)
    milvus.create_collection(name, schema=schema, num_partitions=4)
    desc = milvus.describe_collection(name)
    assert desc["auto_id"] is True and desc["num_partitions"] == 4
    assert {f["name"]: f for f in desc["fields"]}["tenant"]["is_partition_key"] is True
    assert len(milvus.list_partitions(name)) == 4


def test_rename_truncate_drop_and_stats(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=2)
    milvus.insert(name, [{"id": i, "vector": [1.0, float(i)]} for i in range(5)])
    assert milvus.get_collection_stats(name) == {"row_count": 5}
    renamed = name + "_r"
    milvus.rename_collection(name, renamed)
    assert not milvus.has_collection(name) and milvus.has_collection(renamed)
    milvus.truncate_collection(renamed)
    assert milvus.get_collection_stats(renamed) == {"row_count": 0}
    milvus.drop_collection(renamed)
    assert not milvus.has_collection(renamed)
    milvus.drop_collection(renamed)  # dropping a missing collection is not an error


def test_drop_and_recreate_with_another_schema(milvus: MilvusClient, name: str) -> None:
    """pymilvus caches schemas; a re-created collection must not be written with the old one."""
    milvus.create_collection(name, dimension=2)
    milvus.insert(name, [{"id": 1, "vector": [1.0, 2.0]}])
    milvus.drop_collection(name)
    milvus.create_collection(name, dimension=3)
    res = milvus.insert(name, [{"id": 1, "vector": [1.0, 2.0, 3.0]}])
    assert res["insert_count"] == 1


def test_flush_and_compact(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=2)
    milvus.insert(name, [{"id": i, "vector": [1.0, float(i)]} for i in range(20)])
    milvus.flush(name)
    milvus.delete(name, filter="id < 10")
    milvus.flush(name)
    job = milvus.compact(name)
    assert isinstance(job, int)
    assert milvus.get_compaction_state(job) == "Completed"
    assert milvus.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 10
