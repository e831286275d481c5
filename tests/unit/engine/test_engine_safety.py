"""Thread safety, snapshots, the directory lock and corruption detection."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import keeldb
from keeldb.errors import CorruptionError, DataDirLocked
from tests.conftest import TEST_SETTINGS


def test_concurrent_writers_and_readers(client):
    client.create_collection("c", dimension=4, metric_type="L2")
    errors: list[BaseException] = []
    per_writer, writers = 400, 4

    def writer(w: int) -> None:
        try:
            for start in range(0, per_writer, 50):
                ids = np.arange(w * per_writer + start, w * per_writer + start + 50)
                client.insert(
                    "c",
                    {
                        "id": ids,
                        "vector": np.random.default_rng(int(ids[0]))
                        .normal(size=(50, 4))
                        .astype(np.float32),
                    },
                )
        except BaseException as exc:  # noqa: BLE001 - collected for the main thread
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(40):
                rows = client.query("c", filter="id >= 0", limit=16384)
                keys = [r["id"] for r in rows]
                assert len(keys) == len(set(keys)), "duplicate keys in one snapshot"
                client.search("c", data=[[0, 0, 0, 0]], limit=5)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    threads.append(threading.Thread(target=lambda: [client.flush("c") for _ in range(5)]))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert client.get_collection_stats("c")["row_count"] == per_writer * writers


def test_snapshot_is_stable_under_writes_and_compaction(client):
    client.create_collection("s", dimension=2, metric_type="L2")
    client.insert("s", {"id": np.arange(100), "vector": np.ones((100, 2), np.float32)})
    client.flush("s")
    it = client.query_iterator("s", batch_size=10, filter="id >= 0")
    first = it.next()
    client.delete("s", filter="id < 100")
    client.insert("s", {"id": np.arange(100, 200), "vector": np.ones((100, 2), np.float32)})
    client.compact("s")
    rest = []
    while page := it.next():
        rest.extend(page)
    assert [r["id"] for r in first + rest] == list(range(100))


def test_second_process_gets_locked_error(data_dir):
    with keeldb.Client(data_dir, settings=TEST_SETTINGS):
        code = (
            "import keeldb, sys\n"
            "from keeldb.errors import DataDirLocked\n"
            f"try:\n    keeldb.Client({data_dir!r})\n"
            "except DataDirLocked as e:\n    print('LOCKED', e); sys.exit(3)\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=os.getcwd()
        )
        assert proc.returncode == 3, proc.stderr
        assert "locked by process" in proc.stdout
        with pytest.raises(DataDirLocked):
            keeldb.Client(data_dir)
    keeldb.Client(data_dir).close()  # released on close


def _segment_file(data_dir: str, name: str) -> str:
    for root, _, files in os.walk(data_dir):
        for f in files:
            if f == name:
                return os.path.join(root, f)
    raise AssertionError(f"no {name} under {data_dir}")


@pytest.mark.parametrize("victim", ["data.parquet", "vec-vector.npy", "MANIFEST.json"])
def test_corrupt_file_is_reported_not_returned(data_dir, victim):
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as c:
        c.create_collection("x", dimension=4)
        c.insert("x", {"id": np.arange(100), "vector": np.ones((100, 4), np.float32)})
        c.flush("x")
    path = _segment_file(data_dir, victim)
    with open(path, "r+b") as fh:
        blob = bytearray(fh.read())
        blob[len(blob) // 2] ^= 0xFF
        fh.seek(0)
        fh.write(bytes(blob))
    with (
        keeldb.Client(data_dir, settings=TEST_SETTINGS) as c,
        pytest.raises(CorruptionError, match=victim.split(".")[0]),
    ):
        c.query("x", filter="id >= 0", limit=10)


def test_torn_wal_tail_is_truncated_on_open(data_dir):
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as c:
        c.create_collection("w", dimension=2)
    c = keeldb.Client(data_dir, settings=TEST_SETTINGS)
    c.insert("w", [{"id": 1, "vector": [1, 2]}])
    c.insert("w", [{"id": 2, "vector": [3, 4]}])
    c._engine.closed = True  # simulate death: no flush, no close
    c._engine._lock_file.release()
    wal_dir = os.path.dirname(_segment_file(data_dir, "00000000000000000001.wal"))
    wal = os.path.join(wal_dir, sorted(os.listdir(wal_dir))[-1])
    size = os.path.getsize(wal)
    with open(wal, "r+b") as fh:
        fh.truncate(size - 5)  # tear the last record
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as c:
        assert [r["id"] for r in c.query("w", filter="id > 0")] == [1]
        c.insert("w", [{"id": 3, "vector": [5, 6]}])
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as c:
        assert sorted(r["id"] for r in c.query("w", filter="id > 0")) == [1, 3]
