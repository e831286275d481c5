"""insert / upsert / delete / get / query / search through pymilvus, full schemas."""

from __future__ import annotations

import pytest
from pymilvus import MilvusClient

from tests.integration.test_collections import DIM, full_schema


def _vec(i: int) -> list[float]:
    return [float(i)] + [1.0] * (DIM - 1)


def _row(i: int) -> dict:
    return {
        "pk": i, "vec": _vec(i), "flag": i % 2 == 0, "i8": i, "i16": -i, "i32": i * 1000,
        "i64": i * 10**10, "f32": i / 4, "f64": i / 3, "title": f"t{i}", "n": i,
        "meta": {"k": i, "tag": ["a", "b"][i % 2]}, "tags": [f"x{i}", "y"], "nums": [i, i + 1],
        "color": f"c{i % 3}",
    }  # fmt: skip


@pytest.fixture
def full(milvus: MilvusClient, name: str) -> str:
    index = milvus.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    milvus.create_collection(name, schema=full_schema(milvus), index_params=index)
    assert milvus.insert(name, [_row(i) for i in range(20)])["insert_count"] == 20
    return name


def test_get_returns_every_type(milvus: MilvusClient, full: str) -> None:
    row = milvus.get(full, ids=[3])[0]
    expected = _row(3)
    for key in ("pk", "flag", "i8", "i16", "i32", "i64", "f64", "title", "n", "meta", "tags",
                "nums", "color"):  # fmt: skip
        assert row[key] == expected[key], key
    assert row["f32"] == pytest.approx(0.75)
    assert row["vec"] == pytest.approx(expected["vec"])


def test_nullable_and_default_values(milvus: MilvusClient, full: str) -> None:
    sparse = {"pk": 100, "vec": _vec(1), "flag": True, "i8": 1, "i16": 1, "i32": 1, "f64": 0.5}
    milvus.insert(full, [{**sparse, "tags": [], "nums": [], "title": None, "n": None}])
    row = milvus.get(full, ids=[100], output_fields=["i64", "f32", "title", "n", "meta", "tags"])[0]
    assert row == {
        "pk": 100,
        "i64": None,
        "f32": 1.5,
        "title": None,
        "n": 7,
        "meta": None,
        "tags": [],
    }
    assert list(milvus.query(full, filter="title is null", output_fields=["pk"])) == [{"pk": 100}]


def test_query_filters_output_fields_limit_offset(milvus: MilvusClient, full: str) -> None:
    rows = milvus.query(
        full, filter="i32 >= 5000 and flag == true", output_fields=["title", "color"]
    )
    assert sorted(r["pk"] for r in rows) == [6, 8, 10, 12, 14, 16, 18]
    assert set(rows[0]) == {"pk", "title", "color"}
    found = milvus.query(full, filter='meta["tag"] == "b" and array_contains(nums, 4)',
                         output_fields=["pk"])  # fmt: skip
    assert list(found) == [{"pk": 3}]
    assert [r["pk"] for r in milvus.query(full, filter='color == "c1"', output_fields=["pk"])] == [
        1,
        4,
        7,
        10,
        13,
        16,
        19,
    ]
    page = milvus.query(full, filter="pk >= 0", output_fields=["pk"], limit=5, offset=5)
    assert [r["pk"] for r in page] == [5, 6, 7, 8, 9]
    assert list(milvus.query(full, filter="", limit=3, output_fields=["pk"])) == [
        {"pk": 0},
        {"pk": 1},
        {"pk": 2},
    ]
    counted = milvus.query(full, filter="pk < 10", output_fields=["count(*)"])
    assert counted[0]["count(*)"] == 10
    assert list(milvus.query(full, filter="pk > 1000", output_fields=["title"])) == []
    only_meta = milvus.query(full, filter="pk == 2", output_fields=["$meta"])
    assert list(only_meta) == [{"pk": 2, "color": "c2"}], list(only_meta)


def test_search_filters_and_output_fields(milvus: MilvusClient, full: str) -> None:
    hits = milvus.search(full, data=[_vec(5), _vec(15)], limit=3, anns_field="vec",
                         output_fields=["title", "meta", "color"], filter="i8 < 12")  # fmt: skip
    assert len(hits) == 2
    assert [h["pk"] for h in hits[0]] == [5, 4, 6]
    assert [h["pk"] for h in hits[1]] == [11, 10, 9]
    assert hits[0][0]["distance"] == pytest.approx(0.0)
    assert hits[0][0]["entity"] == {"title": "t5", "meta": {"k": 5, "tag": "b"}, "color": "c2"}
    bare = milvus.search(full, data=[_vec(5)], limit=2)
    assert bare[0][0]["entity"] == {} and bare[0][0]["pk"] == 5
    star = milvus.search(full, data=[_vec(5)], limit=1, output_fields=["*"])
    assert star[0][0]["entity"]["nums"] == [5, 6] and star[0][0]["entity"]["color"] == "c2"
    paged = milvus.search(full, data=[_vec(0)], limit=2, search_params={"offset": 2})
    assert [h["pk"] for h in paged[0]] == [2, 3]
    templated = milvus.search(full, data=[_vec(0)], limit=5, filter="pk in {keys}",
                              filter_params={"keys": [7, 9]})  # fmt: skip
    assert sorted(h["pk"] for h in templated[0]) == [7, 9]


def test_upsert_and_delete(milvus: MilvusClient, full: str) -> None:
    changed = dict(_row(1), title="new")
    res = milvus.upsert(full, [changed, _row(50)])
    assert res["upsert_count"] == 2
    assert milvus.get(full, ids=[1], output_fields=["title"])[0]["title"] == "new"
    assert milvus.delete(full, ids=[1, 2, 999])["delete_count"] == 3
    assert milvus.delete(full, filter='color == "c0"')["delete_count"] == 7
    left = milvus.query(full, filter="", output_fields=["count(*)"])[0]["count(*)"]
    assert left == 21 - 2 - 7


def test_varchar_pk_and_auto_id(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=2, id_type="string", max_length=16)
    assert milvus.insert(name, [{"id": "a", "vector": [1, 0]}, {"id": "b", "vector": [0, 1]}])[
        "ids"
    ] == ["a", "b"]
    hits = milvus.search(name, data=[[0.0, 1.0]], limit=1)
    assert hits[0][0]["id"] == "b"
    assert milvus.delete(name, ids=["a"])["delete_count"] == 1
    assert list(milvus.get(name, ids=["a", "b"], output_fields=["id"])) == [{"id": "b"}]

    auto = name + "_auto"
    milvus.create_collection(auto, dimension=2, auto_id=True)
    ids = list(milvus.insert(auto, [{"vector": [1, 0]}, {"vector": [0, 1]}])["ids"])
    assert len(set(ids)) == 2 and all(isinstance(i, int) for i in ids)
    assert sorted(r["id"] for r in milvus.get(auto, ids=ids)) == sorted(ids)


def test_dynamic_fields(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=2)
    milvus.insert(name, [{"id": 1, "vector": [1, 0], "a": 1, "b": {"x": [1, 2]}},
                         {"id": 2, "vector": [0, 1], "a": 2}])  # fmt: skip
    assert milvus.get(name, ids=[1])[0] == {
        "id": 1,
        "vector": [1.0, 0.0],
        "a": 1,
        "b": {"x": [1, 2]},
    }
    assert list(milvus.query(name, filter="a > 1", output_fields=["a", "b"])) == [{"id": 2, "a": 2}]
    assert list(milvus.query(name, filter='b["x"][1] == 2', output_fields=["id"])) == [{"id": 1}]
    hits = milvus.search(name, data=[[0.0, 1.0]], limit=2, output_fields=["b"])
    assert hits[0][0]["entity"] == {} and hits[0][1]["entity"] == {"b": {"x": [1, 2]}}


def test_empty_collection_results(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=2)
    assert milvus.search(name, data=[[1.0, 0.0], [0.0, 1.0]], limit=3) == [[], []]
    assert list(milvus.query(name, filter="id > 0", output_fields=["vector"])) == []
    assert milvus.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 0


def test_grouping_and_range_search(milvus: MilvusClient, full: str) -> None:
    hits = milvus.search(
        full, data=[_vec(4)], limit=3, output_fields=["i16"], group_by_field="flag", group_size=2
    )[0]
    flags = [h["pk"] % 2 == 0 for h in hits]
    assert len(hits) == 4 and flags.count(True) == 2 and flags.count(False) == 2
    assert hits[0]["pk"] == 4
    ranged = milvus.search(
        full,
        data=[_vec(4)],
        limit=10,
        search_params={"params": {"radius": 4.5, "range_filter": 0.5}},
    )[0]
    assert sorted(h["pk"] for h in ranged) == [2, 3, 5, 6]  # squared L2 distance 1 or 4
