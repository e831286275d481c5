"""Sealed data files: written once, never modified, verified on every read.

A sealed file is described by a :class:`FileRef` (name, size in bytes, crc32 of
the whole file) that the caller stores in a manifest. Reads check size and
crc32 before parsing, so a flipped bit or a truncated file is reported as
``CorruptionError`` naming the file, never as garbage data or a parser crash.

On-disk formats (one file each, named by the caller, inside ``directory``):

- table: Parquet with zstd compression (``write_table`` / ``read_table``).
- array: NumPy ``.npy`` format, no pickled objects (``write_array`` / ``read_array``).
- blob: opaque bytes, e.g. a serialized index (``write_blob`` / ``read_blob``).

Invariants: each writer builds the whole file in memory, writes it with one
``write_file`` and fsyncs it, then (unless ``sync_dir=False``) fsyncs the
directory, so by the time a ``FileRef`` is returned the file survives power
loss and can be referenced by a manifest. Names are plain file names; a name
must not be reused while a manifest refers to it (writes overwrite).
"""

from __future__ import annotations

import io
import os
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from keeldb.errors import CorruptionError, InvalidArgument
from keeldb.storage.fs import FileSystem, storage_error, translate_os_error

__all__ = [
    "FileRef",
    "read_array",
    "read_blob",
    "read_table",
    "write_array",
    "write_blob",
    "write_table",
]

PARQUET_COMPRESSION = "zstd"


@dataclass(frozen=True)
class FileRef:
    """A sealed file as a manifest records it."""

    name: str
    size_bytes: int
    crc32: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size_bytes": self.size_bytes, "crc32": self.crc32}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileRef:
        try:
            name, size, crc = data["name"], data["size_bytes"], data["crc32"]
        except (KeyError, TypeError) as exc:
            raise CorruptionError(f"malformed file reference {data!r}: missing {exc}") from exc
        if not (isinstance(name, str) and isinstance(size, int) and isinstance(crc, int)):
            raise CorruptionError(f"malformed file reference {data!r}: wrong value types")
        return cls(name=name, size_bytes=size, crc32=crc)


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or os.sep in name or "\0" in name:
        raise InvalidArgument(f"data file name {name!r} must be a plain file name")


def write_blob(
    fs: FileSystem, directory: str, name: str, data: bytes, *, sync_dir: bool = True
) -> FileRef:
    """Write opaque bytes as a sealed file, durably; return its reference."""
    _check_name(name)
    path = os.path.join(directory, name)
    with translate_os_error(f"writing data file '{path}'"):
        fs.write_file(path, data, fsync=True)
        if sync_dir:
            fs.fsync_dir(directory)
    return FileRef(name=name, size_bytes=len(data), crc32=zlib.crc32(data))


def read_blob(fs: FileSystem, directory: str, ref: FileRef) -> bytes:
    """Read a sealed file's bytes after checking its size and crc32."""
    _check_name(ref.name)
    path = os.path.join(directory, ref.name)
    try:
        data = fs.read_bytes(path)
    except FileNotFoundError as exc:
        raise CorruptionError(
            f"data file '{path}' is missing", hint="restore the data directory from a backup"
        ) from exc
    except OSError as exc:
        raise storage_error(f"reading data file '{path}'", exc) from exc
    if len(data) != ref.size_bytes:
        raise CorruptionError(
            f"data file '{path}' is {len(data)} bytes, expected {ref.size_bytes}",
            hint="the file was truncated or replaced; restore it from a backup",
        )
    actual = zlib.crc32(data)
    if actual != ref.crc32:
        raise CorruptionError(
            f"data file '{path}' is corrupt: crc32 {actual:#010x}, expected {ref.crc32:#010x}",
            hint="restore it from a backup",
        )
    return data


def write_table(
    fs: FileSystem, directory: str, name: str, table: pa.Table, *, sync_dir: bool = True
) -> FileRef:
    """Write an Arrow table as a zstd-compressed Parquet sealed file."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=PARQUET_COMPRESSION)
    return write_blob(fs, directory, name, sink.getvalue().to_pybytes(), sync_dir=sync_dir)


def read_table(fs: FileSystem, directory: str, ref: FileRef) -> pa.Table:
    """Read a Parquet sealed file after verifying it."""
    data = read_blob(fs, directory, ref)
    try:
        return pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        # The checksum matched, so the writer produced bad Parquet: still unreadable data.
        path = os.path.join(directory, ref.name)
        raise CorruptionError(f"data file '{path}' is not valid Parquet: {exc}") from exc


def write_array(
    fs: FileSystem, directory: str, name: str, arr: np.ndarray, *, sync_dir: bool = True
) -> FileRef:
    """Write a NumPy array (no object dtype) as a ``.npy`` sealed file."""
    if arr.dtype.hasobject:
        raise InvalidArgument(f"array for '{name}' has object dtype; only plain dtypes are stored")
    buffer = io.BytesIO()
    np.save(buffer, arr, allow_pickle=False)
    return write_blob(fs, directory, name, buffer.getvalue(), sync_dir=sync_dir)


def read_array(fs: FileSystem, directory: str, ref: FileRef) -> np.ndarray:
    """Read a ``.npy`` sealed file after verifying it."""
    data = read_blob(fs, directory, ref)
    try:
        arr: np.ndarray = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError) as exc:
        path = os.path.join(directory, ref.name)
        raise CorruptionError(f"data file '{path}' is not a valid .npy array: {exc}") from exc
    return arr
