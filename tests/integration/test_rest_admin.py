"""REST partitions, aliases and databases; and REST and gRPC clients on one server.

The REST API and the gRPC service share the one embedded client of the
``keel serve`` process, so what one protocol writes the other reads at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from pymilvus import MilvusClient

from tests.integration.conftest import RestClient


def _rows(start: int, count: int, **extra: object) -> list[dict]:
    return [{"id": i, "vector": [1.0, float(i)], **extra} for i in range(start, start + count)]


def test_partitions(rest: RestClient, name: str) -> None:
    rest.ok("collections/create", collectionName=name, dimension=2, metricType="L2")
    rest.ok("partitions/create", collectionName=name, partitionName="p1")
    assert rest.ok("partitions/list", collectionName=name) == ["_default", "p1"]
    assert rest.ok("partitions/has", collectionName=name, partitionName="p1") == {"has": True}
    assert rest.ok("partitions/has", collectionName=name, partitionName="p2") == {"has": False}
    rest.ok("entities/insert", collectionName=name, data=_rows(0, 3))
    rest.ok("entities/insert", collectionName=name, data=_rows(10, 2), partitionName="p1")
    stats = rest.ok("partitions/get_stats", collectionName=name, partitionName="p1")
    assert stats == {"rowCount": 2}
    rows = rest.ok("entities/query", collectionName=name, partitionNames=["p1"],
                   outputFields=["id"])  # fmt: skip
    assert rows == [{"id": 10}, {"id": 11}]
    hits = rest.ok("entities/search", collectionName=name, data=[[1.0, 0.0]], limit=1,
                   partitionNames=["p1"])  # fmt: skip
    assert [h["id"] for h in hits] == [10]
    rest.ok("partitions/release", collectionName=name, partitionNames=["p1"])
    rest.ok("partitions/load", collectionName=name, partitionNames=["p1"])
    state = rest.ok("collections/get_load_state", collectionName=name, partitionNames=["p1"])
    assert state["loadState"] == "LoadStateLoaded"
    code, message = rest.error("partitions/load", collectionName=name, partitionNames=["nope"])
    assert code == 200 and "nope" in message
    code, _ = rest.error("partitions/get_stats", collectionName=name, partitionName="nope")
    assert code == 200
    code, _ = rest.error("partitions/load", collectionName=name, partitionNames=[])
    assert code == 1802
    rest.ok("collections/release", collectionName=name)
    rest.ok("partitions/drop", collectionName=name, partitionName="p1")
    assert rest.ok("partitions/list", collectionName=name) == ["_default"]


def test_aliases_switch_what_search_sees(rest: RestClient, name: str) -> None:
    first, second, alias = name + "_a", name + "_b", name + "_live"
    for collection, start in ((first, 0), (second, 100)):
        rest.ok("collections/create", collectionName=collection, dimension=2, metricType="L2")
        rest.ok("entities/insert", collectionName=collection, data=_rows(start, 3))
    rest.ok("aliases/create", collectionName=first, aliasName=alias)
    assert rest.ok("aliases/describe", aliasName=alias) == {
        "aliasName": alias,
        "collectionName": first,
        "dbName": "default",
    }
    assert rest.ok("aliases/list", collectionName=first) == [alias]
    assert alias in rest.ok("aliases/list")
    query = {"collectionName": alias, "data": [[1.0, 0.0]], "limit": 1}
    assert [h["id"] for h in rest.ok("entities/search", **query)] == [0]
    rest.ok("aliases/alter", collectionName=second, aliasName=alias)
    assert [h["id"] for h in rest.ok("entities/search", **query)] == [100]
    assert rest.ok("collections/describe", collectionName=second)["aliases"] == [alias]
    rest.ok("aliases/drop", aliasName=alias)
    code, message = rest.error("aliases/describe", aliasName=alias)
    assert code == 1600 and alias in message
    assert rest.ok("aliases/list", collectionName=second) == []


def test_databases(rest: RestClient, name: str) -> None:
    db = f"db_{uuid.uuid4().hex[:8]}"
    rest.ok("databases/create", dbName=db)
    assert db in rest.ok("databases/list")
    assert rest.ok("databases/describe", dbName=db) == {"dbName": db, "properties": []}
    rest.ok("collections/create", dbName=db, collectionName=name, dimension=2)
    rest.ok("entities/insert", dbName=db, collectionName=name, data=_rows(0, 2))
    assert rest.ok("collections/list", dbName=db) == [name]
    assert name not in rest.ok("collections/list")
    code, _ = rest.error("entities/query", collectionName=name, filter="id >= 0")
    assert code == 100  # not in the default database
    count = rest.ok("entities/query", dbName=db, collectionName=name, outputFields=["count(*)"])
    assert count == [{"count(*)": 2}]
    code, message = rest.error("collections/list", dbName="no_such_db")
    assert code == 800 and "no_such_db" in message
    code, _ = rest.error("databases/create")
    assert code == 1802
    rest.ok("collections/drop", dbName=db, collectionName=name)
    rest.ok("databases/drop", dbName=db)
    assert db not in rest.ok("databases/list")
    code, _ = rest.error("databases/describe", dbName=db)
    assert code == 800


def test_rest_and_grpc_see_each_others_writes(
    rest: RestClient, milvus: MilvusClient, name: str
) -> None:
    rest.ok("collections/create", collectionName=name, dimension=2, metricType="L2")
    rest.ok("entities/insert", collectionName=name, data=_rows(0, 3, via="rest"))
    assert list(milvus.get(name, ids=[1], output_fields=["via"])) == [{"id": 1, "via": "rest"}]
    milvus.insert(name, _rows(10, 2, via="grpc"))
    rows = rest.ok("entities/query", collectionName=name, filter='via == "grpc"',
                   outputFields=["via"])  # fmt: skip
    assert rows == [{"id": 10, "via": "grpc"}, {"id": 11, "via": "grpc"}]
    hits = rest.ok("entities/search", collectionName=name, data=[[1.0, 11.0]], limit=1)
    assert hits[0]["id"] == 11
    milvus.delete(name, ids=[0])
    rest.ok("entities/delete", collectionName=name, filter="id == 10")
    count = milvus.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"]
    assert count == 3
    described = rest.ok("collections/describe", collectionName=name)
    assert described["collectionID"] == milvus.describe_collection(name)["collection_id"]


def test_concurrent_rest_writers_and_readers(rest: RestClient, name: str) -> None:
    rest.ok("collections/create", collectionName=name, dimension=2, metricType="L2")

    def write(worker: int) -> None:
        for batch in range(10):
            start = worker * 1000 + batch * 5
            rest.ok("entities/insert", collectionName=name, data=_rows(start, 5))
            rest.ok("entities/search", collectionName=name, data=[[1.0, float(start)]], limit=3)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    count = rest.ok("entities/query", collectionName=name, outputFields=["count(*)"])
    assert count == [{"count(*)": 200}]


def test_sigterm_finishes_rest_writes_and_keeps_every_ack(server_factory, tmp_path) -> None:
    """REST writers racing a SIGTERM: every insert acknowledged is there after a restart."""
    first = server_factory(tmp_path / "d")
    client = RestClient(first.rest_url)
    client.ok("collections/create", collectionName="kept", dimension=2, metricType="L2")
    acked: list[int] = []

    def write(worker: int) -> None:
        for batch in range(1000):
            start = worker * 100_000 + batch * 50
            try:
                status, reply = client.post(
                    "entities/insert", {"collectionName": "kept", "data": _rows(start, 50)}
                )
            except OSError:  # refused or reset once the server stopped accepting
                return
            if status != 200 or reply["code"] != 0:
                return
            acked.extend(range(start, start + 50))

    writers = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    for thread in writers:
        thread.start()
    while len(acked) < 300:
        time.sleep(0.01)
    assert first.stop() == 0, first.log()
    for thread in writers:
        thread.join(60)

    second = server_factory(tmp_path / "d")
    client = RestClient(second.rest_url)
    count = client.ok("entities/query", collectionName="kept", outputFields=["count(*)"])
    assert count[0]["count(*)"] >= len(acked) > 0
    found = client.ok("entities/get", collectionName="kept", id=acked, outputFields=["id"])
    assert sorted(row["id"] for row in found) == sorted(acked)
    assert second.stop() == 0, second.log()
