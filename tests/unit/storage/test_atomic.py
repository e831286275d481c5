"""Atomic replacement and checksummed JSON."""

from __future__ import annotations

import errno
import os

import pytest

from keeldb.errors import CorruptionError, InvalidArgument, StorageError
from keeldb.storage.atomic import read_checked_json, write_atomic, write_checked_json
from keeldb.storage.fs import FaultInjectingFileSystem, LocalFileSystem, SimulatedCrash

BODY = {"version": 3, "segments": [{"name": "seg-1", "rows": 10}], "note": "héllo", "ratio": 0.1}


@pytest.fixture
def fs():
    return LocalFileSystem()


def test_write_atomic_replaces_content(fs, tmp_path):
    path = str(tmp_path / "file")
    write_atomic(fs, path, b"one")
    write_atomic(fs, path, b"two")
    assert fs.read_bytes(path) == b"two"
    assert os.listdir(tmp_path) == ["file"]


def test_write_atomic_order_of_operations(tmp_path):
    fs = FaultInjectingFileSystem()
    path = str(tmp_path / "file")
    write_atomic(fs, path, b"x")
    assert [op for op, _ in fs.trace] == ["write_file", "fsync", "rename", "fsync_dir"]
    assert fs.trace[0][1] == path + ".tmp"


def test_checked_json_round_trip(fs, tmp_path):
    path = str(tmp_path / "manifest.json")
    write_checked_json(fs, path, BODY)
    assert read_checked_json(fs, path) == BODY
    # The file is itself valid JSON, readable by ordinary tools.
    import orjson

    wrapped = orjson.loads(fs.read_bytes(path))
    assert wrapped["body"] == BODY and isinstance(wrapped["crc32"], int)


def test_checked_json_missing_returns_none(fs, tmp_path):
    assert read_checked_json(fs, str(tmp_path / "absent.json")) is None


def test_every_flipped_byte_is_detected(fs, tmp_path):
    path = str(tmp_path / "m.json")
    write_checked_json(fs, path, {"a": 1, "b": [1, 2, 3], "c": "text"})
    original = fs.read_bytes(path)
    for offset in range(len(original) - 1):  # the final newline is not covered
        damaged = bytearray(original)
        damaged[offset] ^= 0x01
        fs.write_file(path, bytes(damaged), fsync=False)
        with pytest.raises(CorruptionError, match="m.json"):
            read_checked_json(fs, path)


@pytest.mark.parametrize("cut", [0, 1, 10, -3, -2])
def test_truncated_file_is_corrupt(fs, tmp_path, cut):
    path = str(tmp_path / "m.json")
    write_checked_json(fs, path, BODY)
    data = fs.read_bytes(path)
    fs.write_file(path, data[:cut], fsync=False)
    with pytest.raises(CorruptionError, match="m.json"):
        read_checked_json(fs, path)


def test_checksum_mismatch_message_names_both_values(fs, tmp_path):
    path = str(tmp_path / "m.json")
    fs.write_file(path, b'{"crc32":1,"body":{"a":1}}\n')
    with pytest.raises(CorruptionError, match=r"does not match the stored 0x00000001"):
        read_checked_json(fs, path)


def test_body_must_be_an_object(fs, tmp_path):
    with pytest.raises(InvalidArgument):
        write_checked_json(fs, str(tmp_path / "m.json"), [1, 2])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="cannot be stored as JSON"):
        write_checked_json(fs, str(tmp_path / "m.json"), {"x": object()})


def test_read_error_becomes_storage_error(tmp_path):
    path = str(tmp_path / "dir.json")
    os.mkdir(path)  # reading a directory fails with EISDIR
    with pytest.raises(StorageError) as info:
        read_checked_json(LocalFileSystem(), path)
    assert not isinstance(info.value, CorruptionError)
    assert isinstance(info.value.__cause__, OSError)


def test_enospc_becomes_storage_error_and_keeps_old(tmp_path):
    fs = FaultInjectingFileSystem()
    path = str(tmp_path / "m.json")
    write_checked_json(fs, path, {"v": 1})
    fs.arm("enospc", op="write_file")
    with pytest.raises(StorageError, match="disk is full") as info:
        write_checked_json(fs, path, {"v": 2})
    assert info.value.__cause__.errno == errno.ENOSPC
    assert read_checked_json(fs, path) == {"v": 1}


def test_crash_at_every_point_leaves_old_or_new(tmp_path):
    probe = FaultInjectingFileSystem(real_fsync=False)
    write_checked_json(probe, str(tmp_path / "probe.json"), {"v": 2})
    for point in range(probe.points):
        for fault in ("crash", "torn"):
            path = str(tmp_path / f"m-{point}-{fault}.json")
            write_checked_json(LocalFileSystem(), path, {"v": 1})
            fs = FaultInjectingFileSystem(real_fsync=False)
            fs.arm(fault, at=point)
            with pytest.raises(SimulatedCrash):
                write_checked_json(fs, path, {"v": 2})
            fs.simulate_power_loss()
            assert read_checked_json(LocalFileSystem(), path) in ({"v": 1}, {"v": 2})
