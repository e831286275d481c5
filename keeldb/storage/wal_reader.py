"""Reading a WAL directory back: file order, validation and the torn-tail rule.

``read_log`` yields every intact record with seq > ``after_seq`` across the
files of a WAL directory (layout in ``wal_format``), in seq order, and then
returns a :class:`RecoveredLog` saying what the writer should adopt. It only
reads; cutting off a torn tail is left to the writer, which owns the files.

The rule: a damaged end of the *last* file (torn file header, short record
header, short payload, crc mismatch, zero fill) is what an interrupted write
leaves, so it is reported in ``RecoveredLog.tail`` to be cut away from the
first damaged record on. (When intact records follow a bad crc there, the
tail says so: a power loss mid-batch can reorder sector writes, but media
corruption looks the same, and the writer logs it as an error.) The same
damage in any earlier file, a record whose seq does not increase, a file whose
name disagrees with its first record or an unknown header raise
``CorruptionError`` naming the file and byte offset: every earlier file was
fsynced whole before the next one was created, so no crash explains them.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass, field

from keeldb.errors import CorruptionError
from keeldb.storage.fs import FileSystem, translate_os_error
from keeldb.storage.wal_format import parse_wal_file_name, scan_records

__all__ = ["RecoveredLog", "Tail", "WalFile", "list_wal_files", "read_log"]


@dataclass
class WalFile:
    """One WAL file and the seqs it holds (``last_seq`` is -1 while it holds none)."""

    first_seq: int
    last_seq: int
    path: str


@dataclass(frozen=True)
class Tail:
    """The last file: ``intact_bytes`` of its ``size_bytes`` are whole records."""

    path: str
    size_bytes: int
    intact_bytes: int
    problem: str | None
    has_records: bool
    intact_after_damage: bool = False


@dataclass
class RecoveredLog:
    files: list[WalFile] = field(default_factory=list)
    tail: Tail | None = None
    last_seq: int = -1


def list_wal_files(fs: FileSystem, directory: str) -> list[tuple[int, str]]:
    """``(first_seq, name)`` of every WAL file in ``directory``, in seq order."""
    with translate_os_error(f"listing WAL directory '{directory}'"):
        names = fs.listdir(directory)
    found = [(parse_wal_file_name(name), name) for name in names]
    return sorted((seq, name) for seq, name in found if seq is not None)


def read_log(
    fs: FileSystem, directory: str, after_seq: int
) -> Generator[tuple[int, bytes], None, RecoveredLog]:
    """Yield ``(seq, payload)`` for intact records with seq > ``after_seq``."""
    log = RecoveredLog()
    listed = list_wal_files(fs, directory)
    for index, (first_seq, name) in enumerate(listed):
        path = os.path.join(directory, name)
        with translate_os_error(f"reading WAL file '{path}'"):
            data = fs.read_bytes(path)
        scan = scan_records(data, log.last_seq)
        is_last = index == len(listed) - 1
        if scan.problem is not None and not (is_last and scan.torn):
            raise CorruptionError(
                f"WAL file '{path}' is corrupt at byte offset {scan.problem_offset}: "
                f"{scan.problem}",
                hint="restore the data directory from a backup",
            )
        if scan.records and scan.records[0][0] != first_seq:
            raise CorruptionError(
                f"WAL file '{path}' starts with seq {scan.records[0][0]}, "
                f"but its name says {first_seq}"
            )
        for seq, start, end in scan.records:
            if seq > after_seq:
                yield seq, data[start:end]
        if scan.last_seq is not None:
            log.last_seq = scan.last_seq
            log.files.append(WalFile(first_seq, scan.last_seq, path))
        if is_last:
            log.tail = Tail(
                path, len(data), scan.end, scan.problem, bool(scan.records), scan.intact_after
            )
    return log
