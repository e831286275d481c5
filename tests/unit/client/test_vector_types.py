"""FLOAT16 / BFLOAT16 / INT8 / BINARY / SPARSE vector fields through keeldb.Client.

Each type: insert, search the growing segment (exact), flush (sealed + index),
search again, get / query shapes (pymilvus's), reopen, same answers. Plus
several vector fields in one collection, compaction, and bad input.
"""

from __future__ import annotations

import numpy as np
import pytest

import keeldb
from keeldb import DataType
from keeldb.errors import DataError, IndexParamError, InvalidArgument, SchemaError, Unimplemented
from tests.conftest import TEST_SETTINGS

N = 120


def make_rows(dtype, rng):
    if dtype == DataType.FLOAT16_VECTOR:
        vectors = rng.normal(size=(N, 8)).astype(np.float16)
    elif dtype == DataType.BFLOAT16_VECTOR:
        vectors = rng.normal(size=(N, 8)).astype(np.float32)
    elif dtype == DataType.INT8_VECTOR:
        vectors = rng.integers(-128, 128, (N, 8)).astype(np.int8)
    elif dtype == DataType.BINARY_VECTOR:
        vectors = [bytes(row) for row in rng.integers(0, 256, (N, 4)).astype(np.uint8)]
    else:
        vectors = [
            {
                int(k): float(v)
                for k, v in zip(rng.choice(60, 4, replace=False), rng.random(4) + 0.1)
            }
            for _ in range(N)
        ]
    return [{"id": i, "v": vectors[i], "tag": i % 3} for i in range(N)], vectors


# type, dim, index type, metric
CASES = [
    (DataType.FLOAT16_VECTOR, 8, "HNSW", "L2"),
    (DataType.BFLOAT16_VECTOR, 8, "IVF_FLAT", "IP"),
    (DataType.INT8_VECTOR, 8, "FLAT", "COSINE"),
    (DataType.BINARY_VECTOR, 32, "BIN_FLAT", "HAMMING"),
    (DataType.BINARY_VECTOR, 32, "BIN_IVF_FLAT", "JACCARD"),
    (DataType.SPARSE_FLOAT_VECTOR, None, "SPARSE_INVERTED_INDEX", "IP"),
]


def create(client, name, dtype, dim, index_type, metric):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.INT64)
    if dim:
        schema.add_field("v", dtype, dim=dim)
    else:
        schema.add_field("v", dtype)
    params = client.prepare_index_params()
    params.add_index("v", index_type=index_type, metric_type=metric, params={})
    client.create_collection(name, schema=schema, index_params=params)


def answers(client, name, queries):
    hits = client.search(
        name, data=queries, limit=5, filter="tag != 1", search_params={"params": {"nprobe": 64}}
    )
    return [[(h["id"], round(h["distance"], 4)) for h in per_query] for per_query in hits]


@pytest.mark.parametrize(("dtype", "dim", "index_type", "metric"), CASES)
def test_insert_search_flush_reopen(data_dir, dtype, dim, index_type, metric):
    client = keeldb.Client(data_dir, settings=TEST_SETTINGS)
    create(client, "c", dtype, dim, index_type, metric)
    rows, vectors = make_rows(dtype, np.random.default_rng(0))
    client.insert("c", rows)
    queries = [vectors[0], vectors[5]]
    growing = answers(client, "c", queries)
    assert growing[0][0][0] == 0 or metric == "IP"  # a vector is its own nearest (not for IP)
    assert all(i % 3 != 1 for per_query in growing for i, _ in per_query)
    client.flush("c")
    sealed = answers(client, "c", queries)
    # exact search and the (exact here) index agree; ids may differ among tied distances
    assert [[d for _, d in q] for q in sealed] == [[d for _, d in q] for q in growing]
    got = client.get("c", ids=[5], output_fields=["v"])[0]["v"]
    hit = client.search("c", data=[vectors[5]], limit=1, output_fields=["v"], filter="id == 5")
    entity = hit[0][0]["entity"]["v"]
    if dtype == DataType.SPARSE_FLOAT_VECTOR:
        assert got == entity and got == pytest.approx(vectors[5])
    else:
        assert got == [entity] and isinstance(entity, bytes)  # pymilvus: [bytes] / bytes
    client.close()
    reopened = keeldb.Client(data_dir, settings=TEST_SETTINGS)
    assert answers(reopened, "c", queries) == sealed
    assert reopened.get("c", ids=[5], output_fields=["v"])[0]["v"] == got
    reopened.close()


def test_values_round_trip_exactly(client):
    create(client, "f16", DataType.FLOAT16_VECTOR, 4, "FLAT", "L2")
    row = np.array([0.1, -2.5, 1000.0, 3.0], dtype=np.float16)
    client.insert("f16", [{"id": 1, "v": row, "tag": 0}])
    client.flush("f16")
    raw = client.get("f16", ids=[1])[0]["v"][0]
    assert np.array_equal(np.frombuffer(raw, dtype="<f2"), row)
    create(client, "bf16", DataType.BFLOAT16_VECTOR, 4, "FLAT", "L2")
    client.insert("bf16", [{"id": 1, "v": [1.0, 0.333, -7.5, 2.0], "tag": 0}])
    bits = np.frombuffer(client.get("bf16", ids=[1])[0]["v"][0], dtype="<u2")
    as_float = (bits.astype(np.uint32) << 16).view(np.float32)
    assert as_float.tolist() == [1.0, 0.33203125, -7.5, 2.0]  # 0.333 rounded to bfloat16


def test_several_vector_fields_and_anns_field(client):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("bits", DataType.BINARY_VECTOR, dim=16)
    schema.add_field("words", DataType.SPARSE_FLOAT_VECTOR)
    params = client.prepare_index_params()
    params.add_index("dense", index_type="HNSW", metric_type="L2")
    params.add_index("bits", index_type="BIN_FLAT", metric_type="HAMMING")
    params.add_index("words", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection("multi", schema=schema, index_params=params)
    rows = [
        {"id": 0, "dense": [0, 0, 0, 1], "bits": b"\xff\xff", "words": {1: 1.0}},
        {"id": 1, "dense": [1, 0, 0, 0], "bits": b"\x00\x00", "words": {2: 1.0}},
    ]
    client.insert("multi", rows)
    for flushed in (False, True):
        if flushed:
            client.flush("multi")
        assert client.search("multi", [[1, 0, 0, 0]], limit=1, anns_field="dense")[0][0]["id"] == 1
        assert client.search("multi", [b"\xff\xfe"], limit=1, anns_field="bits")[0][0]["id"] == 0
        hits = client.search("multi", [{2: 3.0}], limit=2, anns_field="words")[0]
        assert [(h["id"], h["distance"]) for h in hits] == [(1, 3.0)]
    with pytest.raises(SchemaError, match="several vector fields"):
        client.search("multi", [[1, 0, 0, 0]], limit=1)
    with pytest.raises(InvalidArgument, match="metric type not match"):
        client.search("multi", [b"\xff\xfe"], limit=1, anns_field="bits",
                      search_params={"metric_type": "L2"})  # fmt: skip


def test_upsert_delete_and_compaction_keep_sparse_rows(client):
    create(client, "s", DataType.SPARSE_FLOAT_VECTOR, None, "SPARSE_INVERTED_INDEX", "IP")
    client.insert("s", [{"id": i, "v": {i: 1.0, 100: 0.5}, "tag": 0} for i in range(60)])
    client.flush("s")
    client.insert("s", [{"id": i, "v": {i: 2.0}, "tag": 0} for i in range(60, 80)])
    client.flush("s")
    client.upsert("s", [{"id": 3, "v": {3: 9.0}, "tag": 1}])
    client.delete("s", ids=[4])
    client.compact("s")
    assert sorted(client.get("s", ids=[3, 4, 70]), key=lambda r: r["id"]) == [
        {"id": 3, "v": {3: 9.0}, "tag": 1},
        {"id": 70, "v": {70: 2.0}, "tag": 0},
    ]
    hits = client.search("s", [{100: 1.0}], limit=100)[0]
    assert len(hits) == 58 and all(h["distance"] == 0.5 for h in hits)


def test_bad_schemas_indexes_and_vectors_are_refused(client):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    with pytest.raises(SchemaError, match="multiple of 8"):  # checked by add_field
        schema.add_field("v", DataType.BINARY_VECTOR, dim=12)
    with pytest.raises(
        IndexParamError, match="binary vector index does not support metric type: L2"
    ):
        create(client, "b1", DataType.BINARY_VECTOR, 16, "BIN_FLAT", "L2")
    with pytest.raises(IndexParamError, match="can't build with this index HNSW"):
        create(client, "b2", DataType.BINARY_VECTOR, 16, "HNSW", "HAMMING")
    with pytest.raises(IndexParamError, match="only IP is the supported metric type"):
        create(client, "s1", DataType.SPARSE_FLOAT_VECTOR, None, "SPARSE_INVERTED_INDEX", "COSINE")
    create(client, "h", DataType.FLOAT16_VECTOR, 4, "FLAT", "COSINE")
    with pytest.raises(DataError, match="vector field 'v', row 1: NaN"):
        client.insert(
            "h",
            [{"id": 0, "v": [1, 0, 0, 0], "tag": 0}, {"id": 1, "v": [np.nan, 0, 0, 0], "tag": 0}],
        )
    assert client.query("h", output_fields=["count(*)"])[0]["count(*)"] == 0  # nothing written
    client.insert("h", [{"id": 0, "v": [1, 0, 0, 0], "tag": 0}])
    with pytest.raises(InvalidArgument, match="zero vector: COSINE similarity is undefined"):
        client.search("h", [[0, 0, 0, 0]], limit=1)
    with pytest.raises(InvalidArgument, match="does not match the schema's dim"):
        client.search("h", [[1, 0, 0]], limit=1)
    with pytest.raises(InvalidArgument, match="NaN"):
        client.search("h", [[np.inf, 0, 0, 0]], limit=1)
    create(client, "b", DataType.BINARY_VECTOR, 16, "BIN_FLAT", "HAMMING")
    with pytest.raises(DataError, match="is 2 bytes, got 1 bytes"):
        client.insert("b", [{"id": 0, "v": b"\x01", "tag": 0}])
    create(client, "s", DataType.SPARSE_FLOAT_VECTOR, None, "SPARSE_INVERTED_INDEX", "IP")
    with pytest.raises(InvalidArgument, match="NaN or infinite"):
        client.search("s", [{1: float("nan")}], limit=1)


def test_recall_tools_take_float_types_and_refuse_others(client):
    create(client, "i8", DataType.INT8_VECTOR, 8, "HNSW", "COSINE")
    rows, _ = make_rows(DataType.INT8_VECTOR, np.random.default_rng(2))
    client.insert("i8", rows)
    client.flush("i8")
    measured = client.estimate_recall("i8", k=5, queries=20)
    assert 0.0 <= measured["recall"] <= 1.0 and measured["queries"] == 20
    create(client, "b", DataType.BINARY_VECTOR, 32, "BIN_FLAT", "HAMMING")
    with pytest.raises(Unimplemented, match="not supported for BINARY_VECTOR field 'v'"):
        client.estimate_recall("b")
