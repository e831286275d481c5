"""Shutdown and crashes: SIGTERM then restart keeps everything; kill -9 keeps every ack."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pymilvus import MilvusClient


def _count(client: MilvusClient, name: str) -> int:
    return client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"]


def test_sigterm_then_restart_keeps_the_data(server_factory, tmp_path: Path) -> None:
    first = server_factory(tmp_path / "d")
    client = MilvusClient(first.uri)
    client.create_collection("kept", dimension=4)
    client.create_partition("kept", "p1")
    client.create_alias("kept", "kept_alias")
    client.insert("kept", [{"id": i, "vector": [1.0, 0, 0, float(i)], "k": i} for i in range(100)])
    client.insert("kept", [{"id": 1000, "vector": [0, 1.0, 0, 0]}], partition_name="p1")
    client.delete("kept", ids=[5])
    client.close()
    assert first.stop() == 0, first.log()

    second = server_factory(tmp_path / "d")
    client = MilvusClient(second.uri)
    try:
        assert _count(client, "kept") == 100
        assert client.list_partitions("kept") == ["_default", "p1"]
        assert client.describe_alias("kept_alias")["collection_name"] == "kept"
        assert client.get_load_state("kept")["state"].name == "Loaded"
        assert client.get("kept", ids=[7], output_fields=["k"])[0]["k"] == 7
        assert list(client.get("kept", ids=[5])) == []
    finally:
        client.close()
    assert second.stop() == 0, second.log()


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
def test_every_acknowledged_insert_survives_a_stop_during_writes(
    server_factory, tmp_path: Path, how: str
) -> None:
    """Writers keep inserting while the server is killed (or asked to stop)."""
    first = server_factory(tmp_path / "d")
    setup = MilvusClient(first.uri)
    setup.create_collection("crash", dimension=4)
    setup.close()
    acked: list[list[int]] = [[] for _ in range(3)]
    stop = threading.Event()

    def write(writer: int) -> None:
        client = MilvusClient(first.uri)
        batch = 0
        while not stop.is_set():
            ids = [writer * 1_000_000 + batch * 20 + i for i in range(20)]
            try:
                client.insert("crash", [{"id": i, "vector": [1.0, 0, 0, 0]} for i in ids],
                              timeout=5)  # fmt: skip
            except Exception:
                return  # the server died mid-request: not acknowledged
            acked[writer].extend(ids)
            batch += 1

    threads = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    while sum(len(a) for a in acked) < 600:
        stop.wait(0.05)
    if how == "kill -9":
        first.kill()
    else:
        assert first.stop() == 0, first.log()  # in-flight inserts finish, then it exits
    stop.set()
    for t in threads:
        t.join(timeout=60)

    second = server_factory(tmp_path / "d")
    client = MilvusClient(second.uri)
    try:
        expected = sorted(i for a in acked for i in a)
        found = {r["id"] for r in client.query("crash", filter="id >= 0", limit=16_384,
                                               output_fields=["id"])}  # fmt: skip
        assert set(expected) <= found
        assert len(found) == _count(client, "crash")
    finally:
        client.close()
    assert second.stop() == 0, second.log()
