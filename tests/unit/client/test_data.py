"""insert / upsert / delete / get / query / search through keeldb.Client."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import keeldb
from keeldb import DataType
from keeldb.errors import DataError, FieldNotFound, FilterError, InvalidArgument


@pytest.fixture
def docs(client):
    client.create_collection("docs", dimension=4, metric_type="L2")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 4)).astype(np.float32)
    rows = [
        {"id": i, "vector": vectors[i], "section": ["libs", "utils", "net"][i % 3], "size": i * 10}
        for i in range(200)
    ]
    result = client.insert("docs", rows)
    assert result["insert_count"] == 200 and result["ids"] == list(range(200))
    return client, vectors


def brute_force(vectors, query, k, metric="L2", allowed=None):
    ids = np.arange(len(vectors)) if allowed is None else np.asarray(allowed)
    v = vectors[ids]
    if metric == "L2":
        scores = ((v - query) ** 2).sum(axis=1)
        order = np.argsort(scores)
    else:
        if metric == "COSINE":
            v = v / np.linalg.norm(v, axis=1, keepdims=True)
            query = query / np.linalg.norm(query)
        scores = v @ query
        order = np.argsort(-scores)
    return ids[order[:k]].tolist(), scores[order[:k]]


def test_search_matches_brute_force_l2(docs):
    client, vectors = docs
    q = vectors[5] + 0.01
    hits = client.search("docs", data=[q], limit=10)[0]
    ids, scores = brute_force(vectors, q, 10)
    assert [h["id"] for h in hits] == ids
    np.testing.assert_allclose([h["distance"] for h in hits], scores, rtol=1e-4, atol=1e-5)
    assert hits[0].id == ids[0] and hits[0].entity == {}


def test_search_several_queries_offset_and_output(docs):
    client, vectors = docs
    res = client.search(
        "docs",
        data=vectors[:3],
        limit=4,
        output_fields=["section", "size"],
        search_params={"params": {"ef": 32}, "offset": 2},
    )
    assert len(res) == 3
    for q, hits in enumerate(res):
        ids, _ = brute_force(vectors, vectors[q], 6)
        assert [h["id"] for h in hits] == ids[2:6]
        assert set(hits[0]["entity"]) == {"section", "size"}


def test_search_with_filter(docs):
    client, vectors = docs
    hits = client.search(
        "docs",
        data=[vectors[0]],
        limit=10,
        filter="section == 'utils' and size < 1000",
        output_fields=["section", "size"],
    )[0]
    allowed = [i for i in range(200) if i % 3 == 1 and i * 10 < 1000]
    ids, _ = brute_force(vectors, vectors[0], 10, allowed=allowed)
    assert [h["id"] for h in hits] == ids
    assert all(h["entity"]["section"] == "utils" for h in hits)


def test_cosine_and_ip_scores(client):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(100, 8)).astype(np.float32)
    for metric in ("COSINE", "IP"):
        name = f"m_{metric.lower()}"
        client.create_collection(name, dimension=8, metric_type=metric)
        client.insert(name, {"id": np.arange(100), "vector": vectors})
        hits = client.search(name, data=[vectors[3]], limit=5)[0]
        ids, scores = brute_force(vectors, vectors[3], 5, metric)
        assert [h["id"] for h in hits] == ids
        np.testing.assert_allclose([h["distance"] for h in hits], scores, rtol=1e-4)
    assert client.search("m_cosine", data=[vectors[3]], limit=1)[0][0]["distance"] == pytest.approx(
        1.0, abs=1e-5
    )


def test_search_metric_mismatch(docs):
    client, vectors = docs
    with pytest.raises(InvalidArgument, match="metric type not match"):
        client.search("docs", data=[vectors[0]], search_params={"metric_type": "IP"})


def test_zero_query_vector_under_cosine_is_refused(client):
    client.create_collection("cos", dimension=4, metric_type="COSINE")
    client.insert("cos", [{"id": 0, "vector": [1.0, 0.0, 0.0, 0.0]}])
    zero = np.zeros(4, dtype=np.float32)
    # every form a query takes: the float32 row fast path, lists, a 2-D array, one of many
    for data in ([zero], [[0, 0, 0, 0]], zero.reshape(1, 4), [[1, 0, 0, 0], [0.0] * 4]):
        with pytest.raises(InvalidArgument, match="zero vector: COSINE similarity is undefined"):
            client.search("cos", data=data, limit=1)
    # a tiny but non-zero vector is a direction: its squared norm underflows, yet it is valid
    tiny = np.array([1e-30, 0, 0, 0], dtype=np.float32)
    assert client.search("cos", data=[tiny], limit=1)[0][0]["id"] == 0
    client.create_collection("l2", dimension=4, metric_type="L2")
    client.insert("l2", [{"id": 0, "vector": [1.0, 0.0, 0.0, 0.0]}])
    assert client.search("l2", data=[zero], limit=1)[0][0]["distance"] == pytest.approx(1.0)


def test_get_query_count(docs):
    client, _ = docs
    rows = client.get("docs", ids=[3, 1, 999], output_fields=["size"])
    assert sorted(rows, key=lambda r: r["id"]) == [{"id": 1, "size": 10}, {"id": 3, "size": 30}]
    rows = client.query("docs", filter="size >= 1900", output_fields=["id", "section"])
    assert sorted(r["id"] for r in rows) == list(range(190, 200))
    assert set(rows[0]) == {"id", "section"}
    assert client.query("docs", filter="", output_fields=["count(*)"]) == [{"count(*)": 200}]
    assert client.query("docs", filter="section == 'net'", output_fields=["count(*)"]) == [
        {"count(*)": 66}
    ]
    page = client.query("docs", filter="id >= 0", limit=5, offset=10)
    assert [r["id"] for r in page] == list(range(10, 15))
    with pytest.raises(InvalidArgument, match="empty expression"):
        client.query("docs")
    assert len(client.query("docs", limit=7)) == 7


def test_output_fields_star_and_dynamic(docs):
    client, vectors = docs
    row = client.get("docs", ids=[4], output_fields=["*"])[0]
    assert set(row) == {"id", "vector", "section", "size"}
    np.testing.assert_allclose(row["vector"], vectors[4])
    with pytest.raises(FieldNotFound):
        client.create_collection(
            "strict",
            schema=keeldb.Client.create_schema()
            .add_field("id", DataType.INT64, is_primary=True)
            .add_field("v", DataType.FLOAT_VECTOR, dim=2),
            index_params=_flat("v"),
        )
        client.query("strict", filter="id > 0", output_fields=["nope"])


def _flat(field):
    p = keeldb.Client.prepare_index_params()
    p.add_index(field, index_type="FLAT", metric_type="L2")
    return p


def test_upsert_and_insert_replace(docs):
    client, _ = docs
    client.upsert("docs", [{"id": 1, "vector": [0, 0, 0, 0], "section": "new", "size": -1}])
    client.insert("docs", [{"id": 2, "vector": [0, 0, 0, 0], "section": "newer", "size": -2}])
    assert client.get_collection_stats("docs")["row_count"] == 200
    rows = client.get("docs", ids=[1, 2], output_fields=["section"])
    assert sorted((r["id"], r["section"]) for r in rows) == [(1, "new"), (2, "newer")]
    hits = client.search("docs", data=[[0, 0, 0, 0]], limit=2)[0]
    assert sorted(h["id"] for h in hits) == [1, 2]


def test_delete_by_ids_and_filter(docs):
    client, vectors = docs
    assert client.delete("docs", ids=[0, 1, 5000]) == {
        "delete_count": 3
    }  # Milvus counts keys named
    assert client.delete("docs", filter="size >= 1500") == {"delete_count": 50}
    assert client.get_collection_stats("docs")["row_count"] == 148
    hits = client.search("docs", data=[vectors[0]], limit=200)[0]
    assert {h["id"] for h in hits} == set(range(2, 150))
    client.flush("docs")
    assert client.delete("docs", ids=[2]) == {"delete_count": 1}
    assert client.get("docs", ids=[2]) == []


def test_columnar_insert_numpy_and_arrow(client):
    client.create_collection("col", dimension=3)
    n = 50
    vectors = np.random.default_rng(2).normal(size=(n, 3)).astype(np.float32)
    client.insert("col", {"id": np.arange(n), "vector": vectors, "tag": np.arange(n) % 2})
    table = pa.table(
        {
            "id": pa.array(np.arange(n, 2 * n)),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), 3),
        }
    )
    client.insert("col", table)
    assert client.get_collection_stats("col")["row_count"] == 2 * n
    assert client.get("col", ids=[7], output_fields=["tag"]) == [{"id": 7, "tag": 1}]


def test_auto_id(client):
    client.create_collection("auto", dimension=2, auto_id=True)
    ids = client.insert("auto", [{"vector": [1, 2]}, {"vector": [3, 4]}])["ids"]
    assert len(set(ids)) == 2 and all(isinstance(i, int) for i in ids)
    more = client.insert("auto", [{"vector": [1, 2]}])["ids"]
    assert more[0] > max(ids)
    with pytest.raises(DataError, match="auto_id"):
        client.insert("auto", [{"id": 5, "vector": [1, 2]}])


def test_nullable_default_json_array(client):
    schema = keeldb.Client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("kind", DataType.VARCHAR, max_length=8, default_value="doc")
    schema.add_field("score", DataType.DOUBLE, nullable=True)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=3)
    schema.add_field("meta", DataType.JSON)
    client.create_collection("n", schema=schema, index_params=_flat("v"))
    client.insert("n", [{"id": 1, "v": [1, 0], "tags": [1, 2], "meta": {"a": {"b": 1}}}])
    row = client.get("n", ids=[1], output_fields=["*"])[0]
    assert row["kind"] == "doc" and row["score"] is None
    assert row["tags"] == [1, 2] and row["meta"] == {"a": {"b": 1}}


@pytest.mark.parametrize(
    ("row", "pattern"),
    [
        ({"id": 1, "vector": [1, 2, 3]}, r"dim \(3\).*dim \(2\)"),
        ({"id": 1}, "missing vector field"),
        ({"id": 1, "vector": [float("nan"), 1]}, "NaN"),
        ({"id": "x", "vector": [1, 2]}, "id"),
    ],
)
def test_bad_rows_rejected(client, row, pattern):
    client.create_collection("bad", dimension=2)
    with pytest.raises(DataError, match=pattern):
        client.insert("bad", [row])
    assert client.get_collection_stats("bad")["row_count"] == 0


def test_varchar_too_long_and_unknown_field(client):
    schema = keeldb.Client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("title", DataType.VARCHAR, max_length=4)
    client.create_collection("s", schema=schema, index_params=_flat("v"))
    with pytest.raises(DataError, match="max_length"):
        client.insert("s", [{"id": 1, "v": [1, 2], "title": "too long"}])
    with pytest.raises(DataError, match="did you mean 'title'"):
        client.insert("s", [{"id": 1, "v": [1, 2], "titel": "x"}])
    with pytest.raises(DataError, match="missing field 'title'|missing.*'title'"):
        client.insert("s", [{"id": 1, "v": [1, 2]}])
    with pytest.raises(DataError, match="duplicate primary key"):
        client.insert(
            "s", [{"id": 1, "v": [1, 2], "title": "a"}, {"id": 1, "v": [1, 2], "title": "b"}]
        )


def test_bad_filter_is_filter_error(docs):
    client, _ = docs
    with pytest.raises(FilterError):
        client.query("docs", filter="size >")


def test_iterators(docs):
    client, vectors = docs
    it = client.query_iterator("docs", batch_size=30, filter="size >= 0", output_fields=["size"])
    seen = []
    while page := it.next():
        assert len(page) <= 30
        seen.extend(r["id"] for r in page)
    assert seen == list(range(200))
    it = client.search_iterator("docs", data=[vectors[0]], batch_size=25, limit=120)
    hits = []
    while page := it.next():
        hits.extend(page)
    assert len(hits) == 120
    ids, _ = brute_force(vectors, vectors[0], 120)
    assert [h["id"] for h in hits] == ids


def test_data_survives_reopen_and_flush(data_dir):
    from tests.conftest import TEST_SETTINGS

    vectors = np.random.default_rng(3).normal(size=(300, 4)).astype(np.float32)
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as c:
        c.create_collection("d", dimension=4, metric_type="L2")
        c.insert("d", {"id": np.arange(150), "vector": vectors[:150]})
        c.flush("d")
        c.insert("d", {"id": np.arange(150, 300), "vector": vectors[150:]})
        c.delete("d", ids=[0, 299])
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as c:
        assert c.get_collection_stats("d")["row_count"] == 298
        hits = c.search("d", data=[vectors[10]], limit=3)[0]
        assert hits[0]["id"] == 10
        assert c.get("d", ids=[0, 299]) == []


def test_compaction_purges_deleted_rows(client):
    client.create_collection("c", dimension=2, metric_type="L2")
    for start in range(0, 300, 100):
        client.insert(
            "c",
            {
                "id": np.arange(start, start + 100),
                "vector": np.random.default_rng(start).normal(size=(100, 2)).astype(np.float32),
            },
        )
        client.flush("c")
    client.delete("c", filter="id < 150")
    snapshot_before = client.query("c", filter="id >= 0", limit=1000)
    assert client.compact("c") >= 2
    assert client.query("c", filter="id >= 0", limit=1000) == snapshot_before
    assert client.get_collection_stats("c")["row_count"] == 150


def test_key_types_and_nan_scalars(docs):
    client, _ = docs
    assert [r["id"] for r in client.get("docs", ids=["3"], output_fields=["size"])] == [3]
    with pytest.raises(DataError, match="INT64"):
        client.get("docs", ids=["abc"])
    with pytest.raises(DataError, match="INT64"):
        client.delete("docs", ids=[1.5])
    schema = keeldb.Client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("x", DataType.DOUBLE)
    client.create_collection("f", schema=schema, index_params=_flat("v"))
    with pytest.raises(DataError, match="not a number"):
        client.insert("f", [{"id": 1, "v": [1, 2], "x": float("inf")}])
