"""Several pymilvus clients writing and searching one collection at once."""

from __future__ import annotations

import threading

from pymilvus import MilvusClient

WRITERS = 4
BATCHES = 10
BATCH = 50


def test_concurrent_writers_and_readers(server: str, milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=8)
    errors: list[BaseException] = []
    done = threading.Event()

    def write(writer: int) -> None:
        client = MilvusClient(server)
        try:
            for b in range(BATCHES):
                base = (writer * BATCHES + b) * BATCH
                rows = [{"id": base + i, "vector": [float(writer + 1)] * 8, "w": writer}
                        for i in range(BATCH)]  # fmt: skip
                assert client.insert(name, rows)["insert_count"] == BATCH
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            client.close()

    def read() -> None:
        client = MilvusClient(server)
        try:
            while not done.is_set():
                hits = client.search(name, data=[[1.0] * 8], limit=5, output_fields=["w"])
                assert len(hits[0]) <= 5
                client.query(name, filter="w == 1", limit=10, output_fields=["id"])
        except BaseException as exc:
            errors.append(exc)
        finally:
            client.close()

    writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    done.set()
    for t in readers:
        t.join(timeout=60)
    assert not errors, errors
    total = WRITERS * BATCHES * BATCH
    assert milvus.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == total
    ids = [r["id"] for r in milvus.query(name, filter="id >= 0", limit=total, output_fields=["id"])]
    assert ids == list(range(total))
