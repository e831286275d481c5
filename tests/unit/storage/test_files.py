"""Sealed data files: round trips and corruption detection."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keeldb.errors import CorruptionError, InvalidArgument
from keeldb.storage.files import (
    FileRef,
    read_array,
    read_blob,
    read_table,
    write_array,
    write_blob,
    write_table,
)
from keeldb.storage.fs import FaultInjectingFileSystem, LocalFileSystem


@pytest.fixture
def fs():
    return LocalFileSystem()


@pytest.fixture
def table():
    return pa.table(
        {
            "pk": pa.array([1, 2, 3], type=pa.int64()),
            "title": ["a", None, "c"],
            "score": [0.5, 1.5, 2.5],
        }
    )


def flip_byte(path: str, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_table_round_trip_uses_zstd(fs, tmp_path, table):
    ref = write_table(fs, str(tmp_path), "seg-1.parquet", table)
    assert ref.name == "seg-1.parquet"
    assert ref.size_bytes == os.path.getsize(tmp_path / "seg-1.parquet")
    assert read_table(fs, str(tmp_path), ref).equals(table)
    meta = pq.ParquetFile(str(tmp_path / "seg-1.parquet")).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_array_round_trip(fs, tmp_path):
    vectors = np.random.default_rng(0).standard_normal((7, 16)).astype(np.float32)
    ref = write_array(fs, str(tmp_path), "vectors.npy", vectors)
    loaded = read_array(fs, str(tmp_path), ref)
    assert loaded.dtype == np.float32 and np.array_equal(loaded, vectors)


def test_blob_round_trip(fs, tmp_path):
    ref = write_blob(fs, str(tmp_path), "index.bin", b"\x00\x01serialized")
    assert read_blob(fs, str(tmp_path), ref) == b"\x00\x01serialized"


def test_file_ref_dict_round_trip():
    ref = FileRef(name="a.npy", size_bytes=12, crc32=99)
    assert FileRef.from_dict(ref.to_dict()) == ref
    with pytest.raises(CorruptionError, match="malformed"):
        FileRef.from_dict({"name": "a.npy"})
    with pytest.raises(CorruptionError, match="malformed"):
        FileRef.from_dict({"name": "a.npy", "size_bytes": "12", "crc32": 1})


@pytest.mark.parametrize("kind", ["table", "array", "blob"])
def test_flipped_byte_is_corruption(fs, tmp_path, table, kind):
    directory = str(tmp_path)
    if kind == "table":
        ref, read = write_table(fs, directory, "f", table), read_table
    elif kind == "array":
        ref, read = write_array(fs, directory, "f", np.arange(10.0)), read_array
    else:
        ref, read = write_blob(fs, directory, "f", b"0123456789"), read_blob
    flip_byte(str(tmp_path / "f"), ref.size_bytes // 2)
    with pytest.raises(CorruptionError) as info:
        read(fs, directory, ref)
    message = str(info.value)
    assert "'" + os.path.join(directory, "f") + "'" in message
    assert f"{ref.crc32:#010x}" in message and "crc32" in message


def test_wrong_size_is_corruption(fs, tmp_path):
    ref = write_blob(fs, str(tmp_path), "f", b"0123456789")
    with open(tmp_path / "f", "ab") as f:
        f.write(b"extra")
    with pytest.raises(CorruptionError, match="15 bytes, expected 10"):
        read_blob(fs, str(tmp_path), ref)


def test_missing_file_is_corruption(fs, tmp_path):
    ref = FileRef(name="gone.parquet", size_bytes=10, crc32=0)
    with pytest.raises(CorruptionError, match="missing"):
        read_table(fs, str(tmp_path), ref)


def test_checksummed_garbage_is_still_corruption(fs, tmp_path):
    ref = write_blob(fs, str(tmp_path), "f", b"not parquet at all")
    with pytest.raises(CorruptionError, match="not valid Parquet"):
        read_table(fs, str(tmp_path), ref)
    with pytest.raises(CorruptionError, match="not a valid .npy"):
        read_array(fs, str(tmp_path), ref)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x"])
def test_bad_names_rejected(fs, tmp_path, name):
    with pytest.raises(InvalidArgument):
        write_blob(fs, str(tmp_path), name, b"x")


def test_object_arrays_rejected(fs, tmp_path):
    with pytest.raises(InvalidArgument, match="object dtype"):
        write_array(fs, str(tmp_path), "o.npy", np.array([object()]))


def test_writes_are_durable_before_returning(tmp_path):
    fs = FaultInjectingFileSystem()
    write_blob(fs, str(tmp_path), "f", b"x")
    assert [op for op, _ in fs.trace] == ["write_file", "fsync", "fsync_dir"]
    fs.simulate_power_loss()
    assert fs.read_bytes(str(tmp_path / "f")) == b"x"
    fs2 = FaultInjectingFileSystem()
    write_blob(fs2, str(tmp_path), "g", b"y", sync_dir=False)
    assert [op for op, _ in fs2.trace] == ["write_file", "fsync"]
