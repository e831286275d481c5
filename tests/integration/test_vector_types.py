"""Every vector type through a real ``keel serve``: pymilvus's MilvusClient, unchanged, and REST.

Per type: create with an index, insert in pymilvus's row forms (numpy arrays of
the type's dtype, bytes, float lists for FLOAT16 / BFLOAT16, dicts for sparse),
search (placeholders of each type), get (pymilvus's shapes: ``[bytes]`` /
dicts), flush, restart the server, same answers.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from tests.integration.conftest import RestClient

N = 60


def vectors_for(dtype: DataType, rng: np.random.Generator) -> list:
    if dtype == DataType.FLOAT16_VECTOR:
        return list(rng.normal(size=(N, 8)).astype(np.float16))
    if dtype == DataType.BFLOAT16_VECTOR:  # float32 arrays: pymilvus sends them as float vectors
        return list(rng.normal(size=(N, 8)).astype(np.float32))
    if dtype == DataType.INT8_VECTOR:
        return list(rng.integers(-128, 128, (N, 8)).astype(np.int8))
    if dtype == DataType.BINARY_VECTOR:
        return [bytes(row) for row in rng.integers(0, 256, (N, 4)).astype(np.uint8)]
    return [
        {int(k): float(v) for k, v in zip(rng.choice(50, 3, replace=False), rng.random(3) + 0.1)}
        for _ in range(N)
    ]


CASES = [
    (DataType.FLOAT16_VECTOR, 8, "HNSW", "L2"),
    (DataType.BFLOAT16_VECTOR, 8, "IVF_FLAT", "COSINE"),
    (DataType.INT8_VECTOR, 8, "FLAT", "IP"),
    (DataType.BINARY_VECTOR, 32, "BIN_IVF_FLAT", "HAMMING"),
    (DataType.SPARSE_FLOAT_VECTOR, None, "SPARSE_INVERTED_INDEX", "IP"),
]


def create(milvus: MilvusClient, name: str, dtype: DataType, dim, index_type: str, metric: str):
    schema = milvus.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    if dim:
        schema.add_field("v", dtype, dim=dim)
    else:
        schema.add_field("v", dtype)
    params = milvus.prepare_index_params()
    params.add_index(
        "v",
        index_type=index_type,
        metric_type=metric,
        params={"nlist": 4} if "IVF" in index_type else {},
    )
    milvus.create_collection(name, schema=schema, index_params=params)


def search(milvus: MilvusClient, name: str, queries: list) -> list:
    hits = milvus.search(name, data=queries, limit=4, anns_field="v",
                         search_params={"params": {"nprobe": 4}})  # fmt: skip
    return [[(h["id"], round(h["distance"], 3)) for h in per_query] for per_query in hits]


@pytest.mark.parametrize(("dtype", "dim", "index_type", "metric"), CASES)
def test_each_type_through_pymilvus(server_factory, tmp_path, dtype, dim, index_type, metric):
    server = server_factory(tmp_path / "data")
    milvus = MilvusClient(server.uri)
    create(milvus, "c", dtype, dim, index_type, metric)
    vectors = vectors_for(dtype, np.random.default_rng(1))
    assert milvus.insert("c", [{"id": i, "v": vectors[i]} for i in range(N)])["insert_count"] == N
    before = search(milvus, "c", vectors[:2])
    if metric != "IP":
        assert before[0][0][0] == 0 and before[1][0][0] == 1
    got = milvus.get("c", ids=[1])[0]["v"]
    hit = milvus.search("c", data=[vectors[1]], limit=1, anns_field="v", output_fields=["v"],
                        filter="id == 1")[0][0]["entity"]["v"]  # fmt: skip
    if dtype == DataType.SPARSE_FLOAT_VECTOR:
        assert got == hit and got == pytest.approx(vectors[1])
    else:
        assert got == [hit] and isinstance(hit, bytes)
        if dtype in (DataType.FLOAT16_VECTOR, DataType.INT8_VECTOR, DataType.BINARY_VECTOR):
            assert hit == bytes(
                np.asarray(vectors[1]).tobytes()
                if not isinstance(vectors[1], bytes)
                else vectors[1]
            )
    milvus.flush("c")
    milvus.close()
    assert server.stop() == 0
    restarted = server_factory(tmp_path / "data")
    again = MilvusClient(restarted.uri)
    after = search(again, "c", vectors[:2])
    assert [[d for _, d in q] for q in after] == [[d for _, d in q] for q in before]
    assert again.get("c", ids=[1])[0]["v"] == got
    again.close()


def test_bad_metric_and_vectors_through_pymilvus(milvus: MilvusClient, name: str) -> None:
    from pymilvus.exceptions import MilvusException

    with pytest.raises(
        MilvusException, match="binary vector index does not support metric type: L2"
    ):
        create(milvus, name, DataType.BINARY_VECTOR, 16, "BIN_FLAT", "L2")
    create(milvus, name, DataType.BINARY_VECTOR, 16, "BIN_FLAT", "JACCARD")
    with pytest.raises(
        MilvusException, match=r"3 bytes sent for 1 rows of BINARY_VECTOR with dim 16 \(2 a row\)"
    ):
        milvus.insert(name, [{"id": 1, "v": b"abc"}])
    milvus.insert(name, [{"id": 1, "v": b"\x0f\x00"}, {"id": 2, "v": b"\xff\x00"}])
    hits = milvus.search(name, data=[b"\x0f\x00"], limit=2, anns_field="v")[0]
    assert [(h["id"], h["distance"]) for h in hits] == [(1, 0.0), (2, 0.5)]


def test_rest_carries_every_type(rest: RestClient, name: str) -> None:
    schema = {
        "fields": [
            {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "h", "dataType": "Float16Vector", "elementTypeParams": {"dim": "4"}},
            {"fieldName": "b", "dataType": "BinaryVector", "elementTypeParams": {"dim": "16"}},
            {"fieldName": "s", "dataType": "SparseFloatVector"},
        ]
    }
    index_params = [
        {"fieldName": "h", "indexType": "FLAT", "metricType": "L2"},
        {"fieldName": "b", "indexType": "BIN_FLAT", "metricType": "HAMMING"},
        {"fieldName": "s", "indexType": "SPARSE_INVERTED_INDEX", "metricType": "IP"},
    ]
    rest.ok("collections/create", collectionName=name, schema=schema, indexParams=index_params)
    half = np.array([1, 2, 3, 4], np.float16).tobytes()
    rows = [
        {"id": 1, "h": [1, 2, 3, 4], "b": [15, 0], "s": {"3": 1.5}},
        {"id": 2, "h": base64.b64encode(half).decode(), "b": base64.b64encode(b"\xff\x00").decode(),
         "s": {"3": 0.5, "7": 2.0}},
    ]  # fmt: skip
    assert rest.ok("entities/insert", collectionName=name, data=rows)["insertCount"] == 2
    got = rest.ok("entities/get", collectionName=name, id=[1], outputFields=["h", "b", "s"])[0]
    assert base64.b64decode(got["h"]) == half and base64.b64decode(got["b"]) == b"\x0f\x00"
    assert got["s"] == {"3": 1.5}
    hits = rest.ok(
        "entities/search", collectionName=name, annsField="s", data=[{"7": 1.0}], limit=5
    )
    assert [(h["id"], h["distance"]) for h in hits] == [(2, 2.0)]
    hits = rest.ok("entities/search", collectionName=name, annsField="b",
                   data=[base64.b64encode(b"\xff\x00").decode()], limit=1)  # fmt: skip
    assert hits[0]["id"] == 2 and hits[0]["distance"] == 0
    code, message = rest.error("entities/insert", collectionName=name,
                               data=[{"id": 3, "h": [1, 2, 3], "b": [1, 2], "s": {}}])  # fmt: skip
    assert code != 0 and "dim" in message
