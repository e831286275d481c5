"""Vectors of every type in the WAL, the memtable and sealed segment files.

Replay after an unflushed close, the on-disk vector files (dtype and shape per
type; FLOAT_VECTOR's float32 ``.npy`` unchanged), and corrupt files reported
instead of read.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import numpy as np
import pytest

import keeldb
from keeldb import DataType
from keeldb.engine import records
from keeldb.errors import CorruptionError
from keeldb.sparse import SparseRows
from tests.conftest import TEST_SETTINGS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

FIELDS = [
    ("f32", DataType.FLOAT_VECTOR, 4),
    ("f16", DataType.FLOAT16_VECTOR, 4),
    ("bf16", DataType.BFLOAT16_VECTOR, 4),
    ("i8", DataType.INT8_VECTOR, 4),
    ("bits", DataType.BINARY_VECTOR, 16),
    ("words", DataType.SPARSE_FLOAT_VECTOR, None),
]
#: Milvus allows 4 vector fields a collection: two collections hold the six
GROUPS = {"a": FIELDS[:3], "b": FIELDS[3:]}


def open_client(data_dir: str) -> keeldb.Client:
    return keeldb.Client(data_dir, settings=TEST_SETTINGS)


def create_all(client: keeldb.Client) -> None:
    for collection, fields in GROUPS.items():
        schema = client.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        for name, dtype, dim in fields:
            if dim:
                schema.add_field(name, dtype, dim=dim)
            else:
                schema.add_field(name, dtype)
        params = client.prepare_index_params()
        for name, _, _ in fields:
            metric = {"bits": "HAMMING", "words": "IP"}.get(name, "L2")
            params.add_index(name, index_type="AUTOINDEX", metric_type=metric)
        client.create_collection(collection, schema=schema, index_params=params)


def insert_all(client: keeldb.Client, n: int) -> None:
    for collection, fields in GROUPS.items():
        names = {"id"} | {name for name, _, _ in fields}
        client.insert(
            collection, [{k: v for k, v in row(i).items() if k in names} for i in range(n)]
        )


def get_all(client: keeldb.Client, ids: list[int]) -> dict:
    return {c: client.get(c, ids=ids) for c in GROUPS}


def collection_of(field: str) -> str:
    return next(c for c, fields in GROUPS.items() if field in {n for n, _, _ in fields})


def row(i: int) -> dict:
    return {
        "id": i,
        "f32": [i, 1, 2, 3],
        "f16": np.array([i, 0.5, 2, 3], np.float16),
        "bf16": [i, 0.25, 2, 3],
        "i8": [i % 100, -1, 2, 3],
        "bits": bytes([i % 256, 1]),
        "words": {i: 1.0, 1000 + i: 0.5},
    }


def test_wal_records_round_trip_every_type():
    import pyarrow as pa

    vectors = {
        "f16": np.ones((2, 3), np.float16),
        "i8": np.array([[1, -2, 3], [4, 5, -6]], np.int8),
        "bits": np.array([[255], [1]], np.uint8),
        "words": SparseRows.from_parts([0, 0, 2], [3, 2**32 - 2], [1.0, 2.0]),
    }
    decoded = records.decode(
        records.encode(records.WriteRecord(pa.table({"id": [1, 2]}), vectors)), list(vectors)
    )
    for name, column in vectors.items():
        got = decoded.vectors[name]
        if isinstance(column, SparseRows):
            assert got.to_dicts() == column.to_dicts()
        else:
            assert got.dtype == column.dtype and np.array_equal(got, column)


def test_unflushed_rows_replay_from_the_wal(data_dir):
    # a process that inserts and dies without closing: only the WAL holds the rows
    script = (
        "import os, sys; sys.path.insert(0, os.getcwd());"
        "from tests.unit.engine.test_vector_storage import *;"
        f"c = open_client({data_dir!r}); create_all(c); insert_all(c, 10);"
        "print(repr(get_all(c, [3])), flush=True); os._exit(0)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    reopened = open_client(data_dir)
    assert repr(get_all(reopened, [3])) == done.stdout.strip()
    assert not glob.glob(os.path.join(data_dir, "collections", "*", "segments", "*"))
    reopened.close()


def test_segment_files_per_type_and_reopen(data_dir):
    client = open_client(data_dir)
    create_all(client)
    insert_all(client, 80)
    for collection in GROUPS:
        client.flush(collection)
    before = get_all(client, [0, 42, 79])
    hits = {
        name: client.search(collection_of(name), [row(42)[name]], limit=3, anns_field=name)[0][0][
            "id"
        ]
        for name, _, _ in FIELDS
    }
    assert hits == {name: 42 for name, _, _ in FIELDS}
    client.close()
    files = glob.glob(os.path.join(data_dir, "collections", "*", "segments", "*", "vec-*"))
    by_name = {os.path.basename(f): f for f in files}
    shapes = {
        name: (a.dtype, a.shape)
        for name in ("f32", "f16", "bf16", "i8", "bits")
        for a in [np.load(by_name[f"vec-{name}.npy"], allow_pickle=False)]
    }
    assert shapes == {
        "f32": (np.float32, (80, 4)),  # the format FLOAT_VECTOR always had
        "f16": (np.float16, (80, 4)),
        "bf16": (np.uint16, (80, 4)),
        "i8": (np.int8, (80, 4)),
        "bits": (np.uint8, (80, 2)),
    }
    with np.load(by_name["vec-words.npz"], allow_pickle=False) as archive:
        assert sorted(archive.files) == ["indices", "indptr", "values"]
        assert archive["indptr"][-1] == 160
    reopened = open_client(data_dir)
    assert get_all(reopened, [0, 42, 79]) == before
    assert reopened.search("b", [row(42)["words"]], limit=1, anns_field="words")[0][0]["id"] == 42
    reopened.close()


def test_corrupt_vector_file_is_reported(data_dir):
    client = open_client(data_dir)
    create_all(client)
    insert_all(client, 60)
    client.flush("b")
    client.close()
    [path] = glob.glob(os.path.join(data_dir, "collections", "*", "segments", "*", "vec-words.npz"))
    with open(path, "r+b") as f:
        f.seek(40)
        f.write(b"\xff\xff\xff\xff")
    reopened = open_client(data_dir)
    with pytest.raises(CorruptionError):
        reopened.get("b", ids=[1])
    reopened.close()
