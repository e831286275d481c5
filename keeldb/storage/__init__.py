"""Durability: the file-system seam, the write-ahead log, atomic and checksummed files.

This layer knows files, never queries or schemas. Every byte goes through a
:class:`FileSystem`, so tests can inject crashes, torn writes, EIO and ENOSPC.

- ``fs``: ``FileSystem`` protocol, ``LocalFileSystem``, ``FaultInjectingFileSystem``.
- ``wal`` / ``wal_format``: the write-ahead log with group commit, and its bytes.
- ``atomic``: crash-atomic file replacement and checksummed JSON (catalog, manifests).
- ``files``: sealed, checksummed data files (Parquet tables, .npy arrays, blobs).
- ``lock``: one process per data directory.
"""

from keeldb.storage.atomic import read_checked_json, write_atomic, write_checked_json
from keeldb.storage.files import (
    FileRef,
    read_array,
    read_blob,
    read_table,
    write_array,
    write_blob,
    write_table,
)
from keeldb.storage.fs import (
    AppendFile,
    FaultInjectingFileSystem,
    FileSystem,
    LocalFileSystem,
    SimulatedCrash,
)
from keeldb.storage.lock import DirectoryLock
from keeldb.storage.wal import SYNC_MODES, WriteAheadLog

__all__ = [
    "SYNC_MODES",
    "AppendFile",
    "DirectoryLock",
    "FaultInjectingFileSystem",
    "FileRef",
    "FileSystem",
    "LocalFileSystem",
    "SimulatedCrash",
    "WriteAheadLog",
    "read_array",
    "read_blob",
    "read_checked_json",
    "read_table",
    "write_array",
    "write_atomic",
    "write_blob",
    "write_checked_json",
    "write_table",
]
