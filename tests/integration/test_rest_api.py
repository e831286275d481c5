"""The Milvus REST API v2 of ``keel serve``, driven with a plain HTTP client.

Same scenarios as the pymilvus tests: quick and full-schema collections,
insert / upsert / delete, get / query / search with filters and output fields,
indexes, load state, statistics, and the error codes Milvus's REST layer uses.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.conftest import RestClient

DIM = 4


def _vec(i: int) -> list[float]:
    return [float(i)] + [1.0] * (DIM - 1)


def _row(i: int) -> dict:
    return {
        "pk": i, "vec": _vec(i), "flag": i % 2 == 0, "i32": i * 1000, "f64": i / 4,
        "title": f"t{i}", "meta": {"k": i, "tag": ["a", "b"][i % 2]}, "tags": [f"x{i}", "y"],
        "color": f"c{i % 3}",
    }  # fmt: skip


FULL_SCHEMA = {
    "autoId": False,
    "enableDynamicField": True,
    "fields": [
        {"fieldName": "pk", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": str(DIM)}},
        {"fieldName": "flag", "dataType": "Bool"},
        {"fieldName": "i32", "dataType": "Int32"},
        {"fieldName": "f64", "dataType": "Double"},
        {"fieldName": "title", "dataType": "VarChar", "nullable": True,
         "elementTypeParams": {"max_length": 32}},
        {"fieldName": "n", "dataType": "Int64", "defaultValue": 7},
        {"fieldName": "meta", "dataType": "JSON", "nullable": True},
        {"fieldName": "tags", "dataType": "Array", "elementDataType": "VarChar",
         "elementTypeParams": {"max_capacity": 4, "max_length": 16}},
    ],
}  # fmt: skip


@pytest.fixture
def full(rest: RestClient, name: str) -> str:
    """A full-schema collection with an L2 FLAT index, loaded, rows 0..19."""
    index = {"fieldName": "vec", "indexType": "FLAT", "metricType": "L2"}
    rest.ok("collections/create", collectionName=name, schema=FULL_SCHEMA, indexParams=[index])
    inserted = rest.ok("entities/insert", collectionName=name, data=[_row(i) for i in range(20)])
    assert inserted == {"insertCount": 20, "insertIds": list(range(20))}
    return name


def test_quick_create_describe_load_and_stats(rest: RestClient, name: str) -> None:
    rest.ok("collections/create", collectionName=name, dimension=DIM, metricType="L2")
    assert rest.ok("collections/has", collectionName=name) == {"has": True}
    assert name in rest.ok("collections/list")
    desc = rest.ok("collections/describe", collectionName=name)
    assert desc["collectionName"] == name and desc["autoId"] is False
    assert desc["enableDynamicField"] is True and desc["load"] == "LoadStateLoaded"
    assert [(f["name"], f["type"], f["primaryKey"]) for f in desc["fields"]] == [
        ("id", "Int64", True),
        ("vector", "FloatVector", False),
    ]
    assert desc["fields"][1]["params"] == [{"key": "dim", "value": str(DIM)}]
    assert desc["indexes"] == [{"fieldName": "vector", "indexName": "vector", "metricType": "L2"}]
    rows = [{"id": i, "vector": _vec(i), "extra": i} for i in range(5)]
    assert rest.ok("entities/insert", collectionName=name, data=rows)["insertCount"] == 5
    assert rest.ok("collections/get_stats", collectionName=name) == {"rowCount": 5}
    state = rest.ok("collections/get_load_state", collectionName=name)
    assert state == {"loadState": "LoadStateLoaded", "loadProgress": 100}
    rest.ok("collections/release", collectionName=name)
    state = rest.ok("collections/get_load_state", collectionName=name)
    assert state == {"loadState": "LoadStateNotLoad"}
    code, message = rest.error("entities/query", collectionName=name, filter="id > 0")
    assert code == 101 and "not loaded" in message
    rest.ok("collections/load", collectionName=name)
    rest.ok("collections/flush", collectionName=name)
    assert isinstance(rest.ok("collections/compact", collectionName=name)["compactionID"], int)
    hits = rest.ok("entities/search", collectionName=name, data=[_vec(2)], limit=2,
                   outputFields=["extra"])  # fmt: skip
    assert hits == [{"id": 2, "distance": 0.0, "extra": 2}, {"id": 1, "distance": 1.0, "extra": 1}]
    missing = rest.ok("collections/get_load_state", collectionName=name + "_x")
    assert missing == {"loadState": "LoadStateNotExist"}


def test_full_schema_without_index_then_index_and_load(rest: RestClient, name: str) -> None:
    rest.ok("collections/create", collectionName=name, schema=FULL_SCHEMA,
            params={"consistencyLevel": "Strong"})  # fmt: skip
    desc = rest.ok("collections/describe", collectionName=name)
    assert desc["load"] == "LoadStateNotLoad" and desc["consistencyLevel"] == "Strong"
    by_name = {f["name"]: f for f in desc["fields"]}
    assert by_name["tags"]["type"] == "Array" and by_name["tags"]["elementType"] == "VarChar"
    assert by_name["title"]["nullable"] is True and by_name["n"]["defaultValue"] == 7
    assert [f["id"] for f in desc["fields"]] == list(range(100, 109))
    rest.ok("indexes/create", collectionName=name, indexParams=[
        {"fieldName": "vec", "indexName": "vec_hnsw", "metricType": "L2",
         "params": {"index_type": "HNSW", "M": 8, "efConstruction": 64}},
    ])  # fmt: skip
    assert rest.ok("indexes/list", collectionName=name) == ["vec_hnsw"]
    assert rest.ok("indexes/list", collectionName=name, fieldName="title") == []
    [index] = rest.ok("indexes/describe", collectionName=name, indexName="vec_hnsw")
    assert index["indexType"] == "HNSW" and index["metricType"] == "L2"
    assert index["fieldName"] == "vec" and index["indexState"] == "Finished"
    assert index["params"] == {"M": "8", "efConstruction": "64"}
    rest.ok("collections/load", collectionName=name)
    rest.ok("entities/insert", collectionName=name, data=[_row(i) for i in range(3)])
    assert rest.ok("entities/get", collectionName=name, id=1, outputFields=["n", "title"]) == [
        {"pk": 1, "n": 7, "title": "t1"}
    ]
    rest.ok("collections/release", collectionName=name)
    rest.ok("indexes/drop", collectionName=name, indexName="vec_hnsw")
    assert rest.ok("indexes/list", collectionName=name) == []


def test_get_query_and_count(rest: RestClient, full: str) -> None:
    [row] = rest.ok("entities/get", collectionName=full, id=[3])
    assert {k: row[k] for k in ("pk", "flag", "i32", "title", "meta", "tags", "color", "n")} == {
        "pk": 3, "flag": False, "i32": 3000, "title": "t3", "meta": {"k": 3, "tag": "b"},
        "tags": ["x3", "y"], "color": "c0", "n": 7,
    }  # fmt: skip
    assert row["vec"] == pytest.approx(_vec(3)) and row["f64"] == pytest.approx(0.75)
    rows = rest.ok("entities/query", collectionName=full, filter="i32 >= 5000 and flag == true",
                   outputFields=["title", "color"])  # fmt: skip
    assert sorted(r["pk"] for r in rows) == [6, 8, 10, 12, 14, 16, 18]
    assert set(rows[0]) == {"pk", "title", "color"}
    found = rest.ok("entities/query", collectionName=full,
                    filter='meta["tag"] == "b" and array_contains(tags, "x3")',
                    outputFields=["pk"])  # fmt: skip
    assert found == [{"pk": 3}]
    page = rest.ok("entities/query", collectionName=full, filter="pk >= 0", outputFields=["pk"],
                   limit=5, offset=5)  # fmt: skip
    assert [r["pk"] for r in page] == [5, 6, 7, 8, 9]
    assert len(rest.ok("entities/query", collectionName=full, outputFields=["pk"])) == 20
    count = rest.ok("entities/query", collectionName=full, filter="pk < 10",
                    outputFields=["count(*)"])  # fmt: skip
    assert count == [{"count(*)": 10}]
    assert rest.ok("entities/query", collectionName=full, filter="pk > 1000") == []


def test_search_filters_output_fields_and_pages(rest: RestClient, full: str) -> None:
    hits = rest.ok("entities/search", collectionName=full, data=[_vec(5)], annsField="vec",
                   limit=3, filter="i32 < 12000",
                   outputFields=["title", "meta", "color"])  # fmt: skip
    assert [h["pk"] for h in hits] == [5, 4, 6]
    assert hits[0] == {"pk": 5, "distance": 0.0, "title": "t5", "meta": {"k": 5, "tag": "b"},
                       "color": "c2"}  # fmt: skip
    reply = rest("entities/search", collectionName=full, data=[_vec(5), _vec(15)], limit=2)
    assert reply["code"] == 0 and reply["topks"] == [2, 2]
    assert [h["pk"] for h in reply["data"]] == [5, 4, 15, 14]
    assert set(reply["data"][0]) == {"pk", "distance"}
    paged = rest.ok("entities/search", collectionName=full, data=[_vec(0)], limit=2, offset=2)
    assert [h["pk"] for h in paged] == [2, 3]
    explicit = rest.ok("entities/search", collectionName=full, data=[_vec(0)], limit=2,
                       searchParams={"metricType": "L2", "params": {}})  # fmt: skip
    assert [(h["pk"], h["distance"]) for h in explicit] == [(0, 0.0), (1, 1.0)]
    code, message = rest.error("entities/search", collectionName=full, data=[_vec(0)],
                               searchParams={"metricType": "IP"})  # fmt: skip
    assert code == 1100 and "metric type not match" in message
    star = rest.ok("entities/search", collectionName=full, data=[_vec(1)], limit=1,
                   outputFields=["*"])  # fmt: skip
    assert star[0]["tags"] == ["x1", "y"] and star[0]["color"] == "c1"


def test_upsert_and_delete(rest: RestClient, full: str) -> None:
    changed = dict(_row(1), title="new")
    result = rest.ok("entities/upsert", collectionName=full, data=[changed, _row(50)])
    assert result == {"upsertCount": 2, "upsertIds": [1, 50]}
    assert rest.ok("entities/get", collectionName=full, id=1, outputFields=["title"]) == [
        {"pk": 1, "title": "new"}
    ]
    # a pure primary-key filter counts the keys named, found or not (as Milvus does)
    deleted = rest.ok("entities/delete", collectionName=full, filter="pk in [1, 2, 999]")
    assert deleted == {"deleteCount": 3}
    assert rest.ok("entities/delete", collectionName=full, filter='color == "c0"') == {
        "deleteCount": 7
    }
    count = rest.ok("entities/query", collectionName=full, outputFields=["count(*)"])
    assert count == [{"count(*)": 21 - 2 - 7}]
    assert rest.ok("entities/get", collectionName=full, id=[1, 2, 4]) == [
        {**_row(4), "n": 7, "vec": pytest.approx(_vec(4)), "f64": 1.0}
    ]


def test_varchar_keys_auto_id_and_rename(rest: RestClient, name: str) -> None:
    rest.ok("collections/create", collectionName=name, dimension=2, idType="VarChar",
            params={"max_length": 16})  # fmt: skip
    ids = rest.ok("entities/insert", collectionName=name,
                  data=[{"id": "a", "vector": [1, 0]}, {"id": "b", "vector": [0, 1]}])  # fmt: skip
    assert ids["insertIds"] == ["a", "b"]
    assert rest.ok("entities/search", collectionName=name, data=[[0.0, 1.0]], limit=1)[0]["id"] == (
        "b"
    )
    assert rest.ok("entities/delete", collectionName=name, filter='id in ["a"]') == {
        "deleteCount": 1
    }
    assert rest.ok("entities/get", collectionName=name, id=["a", "b"], outputFields=["id"]) == [
        {"id": "b"}
    ]
    auto = name + "_auto"
    rest.ok("collections/create", collectionName=auto, dimension=2, autoID=True)
    keys = rest.ok("entities/insert", collectionName=auto,
                   data=[{"vector": [1, 0]}, {"vector": [0, 1]}])["insertIds"]  # fmt: skip
    assert len(set(keys)) == 2 and all(isinstance(k, int) for k in keys)
    renamed = name + "_renamed"
    rest.ok("collections/rename", collectionName=auto, newCollectionName=renamed)
    assert rest.ok("collections/has", collectionName=auto) == {"has": False}
    assert rest.ok("collections/get_stats", collectionName=renamed) == {"rowCount": 2}
    rest.ok("collections/drop", collectionName=renamed)
    assert rest.ok("collections/has", collectionName=renamed) == {"has": False}


def test_error_codes(rest: RestClient, full: str) -> None:
    missing = {"collectionName": "no_such_collection"}
    for path in ("collections/describe", "entities/query", "collections/get_stats"):
        code, message = rest.error(path, **missing)
        assert code == 100 and "no_such_collection" in message, (path, message)
    code, message = rest.error("entities/insert", data=[{"id": 1}], **missing)
    assert code == 100
    code, message = rest.error("entities/query", collectionName=full, filter="pk >")
    assert code == 1100 and "pk >" in message
    code, message = rest.error("entities/query", collectionName=full, filter="nosuch == 1 and")
    assert code == 1100
    code, message = rest.error("entities/search", collectionName=full, data=[[1.0, 2.0]])
    assert code == 1100 and "dim" in message
    code, message = rest.error("indexes/describe", collectionName=full, indexName="nope")
    assert code == 700
    code, message = rest.error("entities/insert", collectionName=full, data=[{"pk": 1}])
    assert code == 1100 and "vec" in message
    code, message = rest.error("collections/create", collectionName="bad_type", schema={
        "fields": [{"fieldName": "id", "dataType": "Int46", "isPrimary": True}]})  # fmt: skip
    assert code == 1100 and "Int46" in message and "Int64" in message


def test_request_validation(rest: RestClient, full: str) -> None:
    code, message = rest.error("collections/describe")
    assert code == 1802 and "collectionName" in message
    code, message = rest.error("collections/describe", collectionName="")
    assert code == 1802
    code, message = rest.error("entities/query", collectionName=full, limit="ten")
    assert code == 1801 and "limit" in message and "'ten'" in message
    code, message = rest.error("entities/search", collectionName=full, data=[[1.0, "x"]])
    assert code == 1801 and "data[0][1]" in message
    code, message = rest.error("collections/create", collectionName="bad_schema",
                               schema={"fields": [{"fieldName": "id"}]})  # fmt: skip
    assert code == 1802 and "schema.fields[0].dataType" in message
    code, message = rest.error("collections/create", collectionName="no_dim")
    assert code == 1802 and "dimension" in message
    status, reply = rest.post("collections/list", raw=b"{not json")
    assert status == 200 and reply["code"] == 1801 and "json" in reply["message"]
    status, reply = rest.post("collections/list", raw=b"[1, 2]")
    assert status == 200 and reply["code"] == 1801
    status, reply = rest.post("collections/lst", {})
    assert status == 404 and reply["code"] != 0 and "collections/list" in reply["message"]
    status, reply = rest.post("collections/list", method="GET")
    assert status == 405 and reply["code"] != 0 and "POST" in reply["message"]


def test_serve_options_and_a_busy_rest_port(rest: RestClient, tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "keeldb.cli", "serve", "--help"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "--rest-port" in done.stdout and "--no-rest" in done.stdout
    busy = rest.base.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, "-m", "keeldb.cli", "serve", "--data-dir", str(tmp_path / "d"),
         "--port", "0", "--rest-port", busy],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "cannot listen" in done.stderr


def test_grouping_search(rest: RestClient, full: str) -> None:
    hits = rest.ok(
        "entities/search", collectionName=full, data=[_vec(4)], limit=2,
        groupingField="flag", groupSize=2, outputFields=["flag"],
    )  # fmt: skip
    assert len(hits) == 4 and hits[0]["pk"] == 4
    assert sorted(h["flag"] for h in hits) == [False, False, True, True]
