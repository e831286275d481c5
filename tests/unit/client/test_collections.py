"""Collections, partitions, aliases, indexes and databases through keeldb.Client."""

from __future__ import annotations

import pytest

import keeldb
from keeldb import DataType, LoadState
from keeldb.errors import (
    AliasNotFound,
    AlreadyExists,
    CollectionNotFound,
    FailedPrecondition,
    IndexNotFound,
    IndexParamError,
    NotLoaded,
    SchemaError,
)
from tests.conftest import TEST_SETTINGS


def full_schema():
    schema = keeldb.Client.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=8)
    schema.add_field("title", DataType.VARCHAR, max_length=64)
    schema.add_field("score", DataType.DOUBLE, nullable=True)
    schema.add_field("kind", DataType.VARCHAR, max_length=16, default_value="doc")
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4)
    schema.add_field("meta", DataType.JSON)
    return schema


def test_quick_form_defaults(client):
    client.create_collection("docs", dimension=4)
    desc = client.describe_collection("docs")
    assert desc["collection_name"] == "docs"
    assert [f["name"] for f in desc["fields"]] == ["id", "vector"]
    assert [f["field_id"] for f in desc["fields"]] == [100, 101]
    assert desc["fields"][0]["type"] == DataType.INT64 and desc["fields"][0]["is_primary"]
    assert desc["fields"][1]["params"] == {"dim": 4}
    assert desc["enable_dynamic_field"] is True
    assert client.get_load_state("docs")["state"] == LoadState.Loaded
    assert client.list_indexes("docs") == ["vector"]
    index = client.describe_index("docs", "vector")
    assert index["index_type"] == "AUTOINDEX" and index["metric_type"] == "COSINE"


def test_quick_form_string_ids(client):
    client.create_collection("s", dimension=3, id_type="string", primary_field_name="key")
    client.insert("s", [{"key": "a", "vector": [1, 0, 0]}, {"key": "b", "vector": [0, 1, 0]}])
    assert client.get("s", ids=["b"])[0]["key"] == "b"


def test_full_schema_with_index_params_is_loaded(client):
    index_params = client.prepare_index_params()
    index_params.add_index(
        field_name="embedding",
        index_type="HNSW",
        metric_type="L2",
        params={"M": 8, "efConstruction": 64},
    )
    client.create_collection("full", schema=full_schema(), index_params=index_params)
    desc = client.describe_collection("full")
    assert [f["field_id"] for f in desc["fields"]] == list(range(100, 107))
    assert client.get_load_state("full")["state"] == LoadState.Loaded
    assert client.describe_index("full", "embedding")["M"] == "8"


def test_full_schema_without_index_needs_load(client):
    client.create_collection("c", schema=full_schema())
    assert client.get_load_state("c")["state"] == LoadState.NotLoad
    with pytest.raises(NotLoaded) as err:
        client.query("c", filter="pk > 0")
    assert err.value.code == 101
    with pytest.raises(IndexNotFound):
        client.load_collection("c")
    params = client.prepare_index_params()
    params.add_index("embedding", metric_type="IP")
    client.create_index("c", params)
    client.load_collection("c")
    assert client.get_load_state("c")["state"] == LoadState.Loaded
    client.release_collection("c")
    assert client.get_load_state("c")["state"] == LoadState.NotLoad


def test_list_has_drop_rename_truncate(client):
    client.create_collection("a", dimension=2)
    client.create_collection("b", dimension=2)
    assert sorted(client.list_collections()) == ["a", "b"]
    client.create_collection("a", dimension=2)  # same schema again: a no-op, as in Milvus
    with pytest.raises(AlreadyExists, match="different parameters"):
        client.create_collection("a", dimension=3)
    client.insert("a", [{"id": 1, "vector": [1, 2]}])
    client.rename_collection("a", "c")
    assert not client.has_collection("a") and client.has_collection("c")
    assert client.get_collection_stats("c") == {"row_count": 1}
    client.truncate_collection("c")
    assert client.get_collection_stats("c") == {"row_count": 0}
    client.drop_collection("c")
    assert client.list_collections() == ["b"]
    client.drop_collection("never-existed")  # Milvus: not an error


def test_unknown_collection_error_has_hint(client):
    client.create_collection("documents", dimension=2)
    with pytest.raises(CollectionNotFound) as err:
        client.insert("document", [{"id": 1, "vector": [1, 2]}])
    assert err.value.code == 100
    assert "collection not found" in str(err.value) and "did you mean 'documents'" in str(err.value)


def test_schema_validation_messages():
    schema = keeldb.Client.create_schema()
    with pytest.raises(SchemaError, match="dim"):
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=1)
    with pytest.raises(SchemaError, match="max_length"):
        schema.add_field("t", DataType.VARCHAR)
    with pytest.raises(SchemaError, match="first character"):
        schema.add_field("1abc", DataType.INT64)
    with pytest.raises(SchemaError, match="duplicated field"):
        schema.add_field("x", DataType.INT64).add_field("x", DataType.INT64)
    no_pk = keeldb.Client.create_schema().add_field("v", DataType.FLOAT_VECTOR, dim=2)
    with pytest.raises(SchemaError, match="primary key"):
        no_pk.finalize()
    no_vec = keeldb.Client.create_schema().add_field("id", DataType.INT64, is_primary=True)
    with pytest.raises(SchemaError, match="vector field"):
        no_vec.finalize()
    with pytest.raises(SchemaError, match="default value"):
        keeldb.Client.create_schema().add_field("n", DataType.INT8, default_value=1000)


def test_partitions(client):
    client.create_collection("p", dimension=2)
    client.create_partition("p", "red")
    assert client.has_partition("p", "red")
    assert client.list_partitions("p") == ["_default", "red"]
    client.insert("p", [{"id": 1, "vector": [1, 0]}], partition_name="red")
    client.insert("p", [{"id": 2, "vector": [0, 1]}])
    assert [r["id"] for r in client.query("p", filter="id > 0", partition_names=["red"])] == [1]
    hits = client.search("p", [[1, 0]], limit=5, partition_names=["_default"])
    assert [h["id"] for h in hits[0]] == [2]
    assert client.get_partition_stats("p", "red") == {"row_count": 1}
    client.drop_partition("p", "red")
    assert not client.has_partition("p", "red")
    assert client.get_collection_stats("p") == {"row_count": 1}


def test_partition_key_routes_rows(client):
    schema = keeldb.Client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tenant", DataType.VARCHAR, max_length=16, is_partition_key=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index("v", metric_type="L2")
    client.create_collection("pk", schema=schema, index_params=params, num_partitions=4)
    assert len(client.list_partitions("pk")) == 4
    client.insert("pk", [{"id": i, "tenant": f"t{i % 3}", "v": [i, 0]} for i in range(30)])
    rows = client.query("pk", filter="tenant == 't1'", output_fields=["tenant"])
    assert sorted(r["id"] for r in rows) == list(range(1, 30, 3))


def test_aliases(client):
    client.create_collection("v1", dimension=2)
    client.create_collection("v2", dimension=2)
    client.insert("v1", [{"id": 1, "vector": [1, 0]}])
    client.insert("v2", [{"id": 2, "vector": [1, 0]}])
    client.create_alias("v1", "prod")
    assert client.search("prod", [[1, 0]], limit=1)[0][0]["id"] == 1
    client.alter_alias("v2", "prod")
    assert client.search("prod", [[1, 0]], limit=1)[0][0]["id"] == 2
    assert client.describe_alias("prod")["collection_name"] == "v2"
    assert client.list_aliases("v2")["aliases"] == ["prod"]
    client.drop_alias("prod")
    with pytest.raises(AliasNotFound):
        client.describe_alias("prod")


def test_index_lifecycle_and_validation(client):
    client.create_collection("i", dimension=4)
    with pytest.raises(FailedPrecondition, match="release"):
        client.drop_index("i", "vector")  # loaded: must release first
    client.release_collection("i")
    client.drop_index("i", "vector")
    assert client.list_indexes("i") == []
    bad = client.prepare_index_params()
    bad.add_index("vector", index_type="NOPE", metric_type="L2")
    with pytest.raises(IndexParamError, match="NOPE"):
        client.create_index("i", bad)
    bad_metric = client.prepare_index_params()
    bad_metric.add_index("vector", index_type="HNSW", metric_type="HAMMING")
    with pytest.raises(IndexParamError, match="metric"):
        client.create_index("i", bad_metric)


def test_databases(client):
    client.create_database("analytics")
    assert client.list_databases() == ["default", "analytics"]
    client.use_database("analytics")
    client.create_collection("x", dimension=2)
    assert client.list_collections() == ["x"]
    client.use_database("default")
    assert client.list_collections() == []


def test_catalog_survives_reopen(data_dir):
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as c:
        c.create_collection("a", schema=full_schema())
        c.create_partition("a", "p1")
        c.create_alias("a", "al")
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as c:
        assert c.list_partitions("a") == ["_default", "p1"]
        assert c.describe_alias("al")["collection_name"] == "a"
        assert [f["name"] for f in c.describe_collection("a")["fields"]][:2] == ["pk", "embedding"]


@pytest.mark.parametrize("name", ["like", "AND", "exists", "json_contains", "null"])
def test_filter_keywords_are_not_field_names(name):
    with pytest.raises(SchemaError, match="keyword"):
        keeldb.Client.create_schema().add_field(name, DataType.INT64)
