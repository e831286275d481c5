"""Errors reach pymilvus as MilvusException with Milvus's codes, promptly."""

from __future__ import annotations

import time

import grpc
import pytest
from pymilvus import DataType, MilvusClient, MilvusException
from pymilvus.grpc_gen import common_pb2, milvus_pb2, milvus_pb2_grpc


def _code(call, *args, **kwargs) -> int:
    with pytest.raises(MilvusException) as err:
        call(*args, **kwargs)
    return err.value.code


@pytest.fixture
def loaded(milvus: MilvusClient, name: str) -> str:
    milvus.create_collection(name, dimension=4)
    milvus.insert(name, [{"id": i, "vector": [1.0, float(i), 0.0, 0.0]} for i in range(5)])
    return name


def test_missing_collection_is_100(milvus: MilvusClient) -> None:
    assert _code(milvus.describe_collection, "no_such_coll") == 100
    assert _code(milvus.search, "no_such_coll", data=[[1.0, 0, 0, 0]], limit=1) == 100
    assert _code(milvus.query, "no_such_coll", filter="id > 0") == 100
    assert _code(milvus.insert, "no_such_coll", [{"id": 1}]) == 100
    assert not milvus.has_collection("no_such_coll")


def test_not_loaded_is_101(milvus: MilvusClient, loaded: str) -> None:
    milvus.release_collection(loaded)
    assert _code(milvus.search, loaded, data=[[1.0, 0, 0, 0]], limit=1) == 101
    assert _code(milvus.query, loaded, filter="id > 0") == 101
    assert milvus.insert(loaded, [{"id": 9, "vector": [1.0, 0, 0, 0]}])["insert_count"] == 1


def test_bad_input_is_1100(milvus: MilvusClient, loaded: str) -> None:
    with pytest.raises(MilvusException) as err:
        milvus.query(loaded, filter="id >>> 3")
    assert err.value.code == 1100 and "^" in err.value.message
    assert _code(milvus.search, loaded, data=[[1.0, 0.0, 0.0]], limit=1) == 1100  # wrong dim
    assert _code(milvus.insert, loaded, [{"id": 1, "vector": [1.0, 2.0, 3.0]}]) == 1100
    assert _code(milvus.query, loaded, filter="", output_fields=["id"]) == 1100  # needs a limit
    assert _code(milvus.query, loaded, filter="", output_fields=["count(*)"], limit=3) == 1100
    assert _code(milvus.search, loaded, data=[[1.0, 0, 0, 0]], limit=1,
                 search_params={"metric_type": "L2"}) == 1100  # the index is COSINE  # fmt: skip


def test_bad_index_params_are_1100(milvus: MilvusClient, name: str) -> None:
    schema = milvus.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    milvus.create_collection(name, schema=schema)
    index = milvus.prepare_index_params()
    index.add_index("v", index_type="HNSW", metric_type="L2", params={"M": -1})
    assert _code(milvus.create_index, name, index) == 1100
    index = milvus.prepare_index_params()
    index.add_index("v", index_type="NO_SUCH_INDEX", metric_type="L2")
    assert _code(milvus.create_index, name, index) == 1100
    index = milvus.prepare_index_params()
    index.add_index("v", index_type="FLAT", metric_type="HAMMING")
    assert _code(milvus.create_index, name, index) == 1100


def test_schema_errors(milvus: MilvusClient, name: str) -> None:
    schema = milvus.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=1)  # dim below 2
    assert _code(milvus.create_collection, name, schema=schema) == 1100
    assert not milvus.has_collection(name)


def test_unimplemented_rpcs_answer_promptly(server: str) -> None:
    address = server.removeprefix("http://")
    with grpc.insecure_channel(address) as channel:
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        started = time.monotonic()
        reply = stub.ListCredUsers(milvus_pb2.ListCredUsersRequest(), timeout=10)
        assert reply.status.code == 10 and "not supported" in reply.status.reason
        status = stub.CreateRole(milvus_pb2.CreateRoleRequest(), timeout=10)
        assert status.code == 10
        health = stub.CheckHealth(milvus_pb2.CheckHealthRequest(), timeout=10)
        assert health.isHealthy
        assert time.monotonic() - started < 5


def test_stale_schema_timestamp_asks_the_client_to_refresh(server: str, milvus: MilvusClient,
                                                            loaded: str) -> None:  # fmt: skip
    address = server.removeprefix("http://")
    with grpc.insecure_channel(address) as channel:
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        reply = stub.Insert(milvus_pb2.InsertRequest(collection_name=loaded, schema_timestamp=12345,
                                                     num_rows=0), timeout=10)  # fmt: skip
        assert reply.status.error_code == common_pb2.SchemaMismatch


def test_unsupported_features_raise_code_10(milvus: MilvusClient, loaded: str) -> None:
    from pymilvus import AnnSearchRequest, RRFRanker

    request = AnnSearchRequest([[1.0, 0.0, 0.0, 0.0]], "vector", {}, 2)
    assert _code(milvus.hybrid_search, loaded, [request], RRFRanker(), limit=2) == 10
    assert _code(milvus.add_collection_field, loaded, "extra", DataType.INT64, nullable=True) == 10
    assert _code(milvus.create_user, "alice", "password123") == 10
