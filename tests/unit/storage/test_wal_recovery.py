"""Write-ahead log recovery: torn tails are cut away, damage elsewhere is reported."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from keeldb.errors import CorruptionError
from keeldb.storage.fs import LocalFileSystem
from keeldb.storage.wal import WriteAheadLog
from keeldb.storage.wal_format import FILE_HEADER_BYTES, RECORD_HEADER_BYTES


def payload(seq: int) -> bytes:
    return f"payload-{seq}-".encode() * (1 + seq % 3)


def write_log(directory, seqs, *, rotate_after=()) -> None:
    wal = WriteAheadLog.open(LocalFileSystem(), str(directory))
    for seq in seqs:
        wal.append_durable(seq, payload(seq))
        if seq in rotate_after:
            wal.rotate()
    wal.close()


def replay(directory, after_seq: int = -1) -> list[tuple[int, bytes]]:
    wal = WriteAheadLog.open(LocalFileSystem(), str(directory))
    try:
        return list(wal.replay(after_seq))
    finally:
        wal.close()


def file_path(directory, first_seq: int) -> str:
    return os.path.join(directory, f"{first_seq:020d}.wal")


def flip(path: str, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x40]))


def test_cut_at_every_offset_of_the_last_record(tmp_path):
    seqs = [1, 2, 3, 4]
    source = tmp_path / "source"
    write_log(source, seqs)
    data = Path(file_path(source, 1)).read_bytes()
    last_start = len(data) - RECORD_HEADER_BYTES - len(payload(4))
    intact = [(s, payload(s)) for s in seqs[:-1]]
    for cut in range(last_start, len(data)):
        directory = tmp_path / f"cut-{cut}"
        directory.mkdir()
        with open(file_path(directory, 1), "wb") as f:
            f.write(data[:cut])
        wal = WriteAheadLog.open(LocalFileSystem(), str(directory))
        assert list(wal.replay()) == intact, cut
        assert os.path.getsize(file_path(directory, 1)) == last_start
        wal.append_durable(10, b"after the tear")
        wal.close()
        assert replay(directory) == [*intact, (10, b"after the tear")], cut


def test_cut_inside_the_first_record_or_file_header(tmp_path):
    source = tmp_path / "source"
    write_log(source, [5])
    data = Path(file_path(source, 5)).read_bytes()
    for cut in range(len(data)):
        directory = tmp_path / f"cut-{cut}"
        directory.mkdir()
        with open(file_path(directory, 5), "wb") as f:
            f.write(data[:cut])
        wal = WriteAheadLog.open(LocalFileSystem(), str(directory))
        assert list(wal.replay()) == []
        assert os.listdir(directory) == []  # nothing intact: the file goes
        wal.append_durable(6, b"x")
        wal.close()
        assert replay(directory) == [(6, b"x")]


def test_zero_filled_tail_is_torn(tmp_path):
    write_log(tmp_path, [1, 2])
    with open(file_path(tmp_path, 1), "ab") as f:
        f.write(b"\0" * 100)
    assert replay(tmp_path) == [(1, payload(1)), (2, payload(2))]


def test_all_zero_file_is_torn(tmp_path):
    write_log(tmp_path, [1], rotate_after={1})
    with open(file_path(tmp_path, 2), "wb") as f:
        f.write(b"\0" * 64)
    assert replay(tmp_path) == [(1, payload(1))]
    assert os.listdir(tmp_path) == [f"{1:020d}.wal"]


def test_crc_mismatch_in_last_record_is_truncated_and_logged(tmp_path, caplog):
    write_log(tmp_path, [1, 2, 3])
    path = file_path(tmp_path, 1)
    flip(path, os.path.getsize(path) - 1)
    with caplog.at_level(logging.WARNING, logger="keeldb.storage.wal"):
        assert replay(tmp_path) == [(1, payload(1)), (2, payload(2))]
    assert "crc mismatch" in caplog.text and path in caplog.text
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_damage_in_the_last_file_cuts_from_there_and_shouts(tmp_path, caplog):
    # Inside the last file a bad record ends the log, whatever follows it: a
    # group-commit batch torn out of order by a power loss looks like this.
    # Media corruption does too, so intact records after the damage log an error.
    write_log(tmp_path, [1, 2, 3])
    flip(file_path(tmp_path, 1), FILE_HEADER_BYTES + RECORD_HEADER_BYTES + 1)
    with caplog.at_level(logging.WARNING, logger="keeldb.storage.wal"):
        assert replay(tmp_path) == []
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert "intact records follow" in caplog.text


def test_corruption_in_an_earlier_file_is_fatal(tmp_path):
    write_log(tmp_path, [1, 2, 3, 4], rotate_after={2})
    path = file_path(tmp_path, 1)
    second_record = FILE_HEADER_BYTES + RECORD_HEADER_BYTES + len(payload(1))
    flip(path, second_record + RECORD_HEADER_BYTES + 2)
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    with pytest.raises(CorruptionError) as info:
        list(wal.replay())
    message = str(info.value)
    assert f"'{path}'" in message and f"byte offset {second_record}" in message
    assert "crc mismatch" in message
    # Appending validates the log too; it must not write after the damage.
    with pytest.raises(CorruptionError):
        wal.append(5, b"x")
    wal.close()


def test_torn_tail_in_an_earlier_file_is_fatal(tmp_path):
    write_log(tmp_path, [1, 2, 3], rotate_after={2})
    path = file_path(tmp_path, 1)
    os.truncate(path, os.path.getsize(path) - 3)
    with pytest.raises(CorruptionError, match="short payload"):
        replay(tmp_path)


def test_bad_magic_is_fatal_even_in_the_last_file(tmp_path):
    write_log(tmp_path, [1])
    path = file_path(tmp_path, 1)
    flip(path, 0)
    with pytest.raises(CorruptionError, match="bad file header"):
        replay(tmp_path)


def test_future_format_version_is_refused(tmp_path):
    write_log(tmp_path, [1])
    path = file_path(tmp_path, 1)
    with open(path, "r+b") as f:
        f.seek(FILE_HEADER_BYTES - 1)
        f.write(b"9")
    with pytest.raises(CorruptionError, match="unsupported WAL format version"):
        replay(tmp_path)


def test_file_name_must_match_first_record(tmp_path):
    write_log(tmp_path, [3])
    os.rename(file_path(tmp_path, 3), file_path(tmp_path, 2))
    with pytest.raises(CorruptionError, match="starts with seq 3, but its name says 2"):
        replay(tmp_path)


def test_out_of_order_seqs_across_files_are_fatal(tmp_path):
    write_log(tmp_path / "a", [5, 6])
    write_log(tmp_path / "b", [1, 2])
    os.rename(file_path(tmp_path / "a", 5), file_path(tmp_path, 1))
    os.rename(file_path(tmp_path / "b", 1), file_path(tmp_path, 2))
    with pytest.raises(CorruptionError):
        replay(tmp_path)


def test_other_files_in_the_directory_are_ignored(tmp_path):
    write_log(tmp_path, [1])
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "00000000000000000009.wal.tmp").write_bytes(b"junk")
    assert replay(tmp_path) == [(1, payload(1))]


def test_replay_after_seq_skips_but_still_validates(tmp_path):
    write_log(tmp_path, range(1, 7), rotate_after={3})
    assert [s for s, _ in replay(tmp_path, after_seq=4)] == [5, 6]
    flip(file_path(tmp_path, 1), FILE_HEADER_BYTES + 5)
    with pytest.raises(CorruptionError):
        replay(tmp_path, after_seq=4)


def test_stopping_replay_early_is_safe(tmp_path):
    write_log(tmp_path, [1, 2, 3])
    path = file_path(tmp_path, 1)
    with open(path, "ab") as f:
        f.write(b"torn")
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    records = wal.replay()
    assert next(records)[0] == 1  # abandon the rest
    wal.append_durable(4, b"four")  # the append finishes recovery first
    wal.close()
    assert [s for s, _ in replay(tmp_path)] == [1, 2, 3, 4]
