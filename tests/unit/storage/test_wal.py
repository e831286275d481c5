"""Write-ahead log: round trips, rotation, sync modes, misuse."""

from __future__ import annotations

import os
import time

import pytest

from keeldb.errors import ClosedError, FailedPrecondition, InvalidArgument
from keeldb.storage import wal as wal_module
from keeldb.storage.fs import FaultInjectingFileSystem, LocalFileSystem
from keeldb.storage.wal import WriteAheadLog


def payload(seq: int) -> bytes:
    return f"record-{seq}:".encode() + bytes([seq % 251]) * (seq % 37)


def replay_all(directory, after_seq: int = -1) -> list[tuple[int, bytes]]:
    wal = WriteAheadLog.open(LocalFileSystem(), str(directory))
    try:
        return list(wal.replay(after_seq))
    finally:
        wal.close()


def wal_files(directory) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".wal"))


@pytest.mark.parametrize("mode", ["fsync", "flush", "none"])
def test_append_replay_round_trip(tmp_path, mode):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path), sync_mode=mode)
    assert list(wal.replay()) == []
    seqs = [1, 2, 5, 9, 10]
    for seq in seqs:
        wal.append_durable(seq, payload(seq))
    wal.append_durable(11, b"")  # empty payloads are records too
    wal.close()
    expected = [(s, payload(s)) for s in seqs] + [(11, b"")]
    assert replay_all(tmp_path) == expected
    assert replay_all(tmp_path, after_seq=5) == expected[3:]
    assert wal_files(tmp_path) == ["00000000000000000001.wal"]


def test_reopen_and_continue(tmp_path):
    fs = LocalFileSystem()
    wal = WriteAheadLog.open(fs, str(tmp_path))
    wal.append_durable(1, b"a")
    wal.close()
    wal = WriteAheadLog.open(fs, str(tmp_path))
    assert list(wal.replay()) == [(1, b"a")]
    assert wal.last_seq == 1
    wal.append_durable(2, b"b")
    wal.close()
    assert replay_all(tmp_path) == [(1, b"a"), (2, b"b")]


def test_append_without_replay_still_checks_seq_against_disk(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    wal.append_durable(7, b"x")
    wal.close()
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    with pytest.raises(InvalidArgument, match="seq 7 is not greater than the last seq 7"):
        wal.append(7, b"again")
    wal.append_durable(8, b"y")
    wal.close()
    assert replay_all(tmp_path) == [(7, b"x"), (8, b"y")]


def test_non_increasing_seq_is_rejected_and_log_stays_usable(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    wal.append_durable(5, b"a")
    for bad in (5, 4, -1, 2**64):
        with pytest.raises(InvalidArgument):
            wal.append(bad, b"b")
    wal.append_durable(6, b"c")
    wal.close()
    assert [s for s, _ in replay_all(tmp_path)] == [5, 6]


def test_rotate_and_drop_through(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    for seq in (1, 2, 3):
        wal.append_durable(seq, payload(seq))
    wal.rotate()
    wal.rotate()  # nothing appended since: no empty file appears
    for seq in (4, 5):
        wal.append_durable(seq, payload(seq))
    wal.rotate()
    wal.append_durable(6, payload(6))
    assert wal_files(tmp_path) == [
        "00000000000000000001.wal",
        "00000000000000000004.wal",
        "00000000000000000006.wal",
    ]
    assert wal.drop_through(2) == 0  # file 1 still holds seq 3
    assert wal.drop_through(4) == 1
    assert wal.drop_through(100) == 1  # never the active file
    assert wal_files(tmp_path) == ["00000000000000000006.wal"]
    wal.close()
    assert replay_all(tmp_path) == [(6, payload(6))]


def test_drop_everything_after_rotate(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    wal.append_durable(1, b"a")
    wal.rotate()
    assert wal.drop_through(1) == 1
    assert wal_files(tmp_path) == []
    wal.append_durable(2, b"b")
    wal.close()
    assert replay_all(tmp_path) == [(2, b"b")]


def test_drop_through_after_reopen_uses_recovered_file_ranges(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    for seq in range(1, 7):
        wal.append_durable(seq, b"x")
        if seq % 2 == 0:
            wal.rotate()
    wal.close()
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    assert wal.drop_through(3) == 1
    assert wal_files(tmp_path)[0] == "00000000000000000003.wal"
    wal.close()


def test_files_rotate_at_max_file_bytes(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path), max_file_bytes=100)
    for seq in range(1, 21):
        wal.append_durable(seq, b"p" * 30)
    wal.close()
    assert len(wal_files(tmp_path)) > 3
    assert [s for s, _ in replay_all(tmp_path)] == list(range(1, 21))


def test_fsync_mode_fsyncs_before_ack(tmp_path):
    fs = FaultInjectingFileSystem(real_fsync=False)
    wal = WriteAheadLog.open(fs, str(tmp_path), sync_mode="fsync")
    wal.append_durable(1, b"a")
    assert fs.count("fsync") == 1 and fs.count("fsync_dir") == 1  # new file: directory too
    wal.append_durable(2, b"b")
    assert fs.count("fsync") == 2 and fs.count("fsync_dir") == 1
    fs.simulate_power_loss()  # the process "dies" with the power
    assert replay_all(tmp_path) == [(1, b"a"), (2, b"b")]


def test_flush_mode_survives_process_death_but_not_power_loss(tmp_path):
    fs = FaultInjectingFileSystem(real_fsync=False)
    wal = WriteAheadLog.open(fs, str(tmp_path), sync_mode="flush")
    wal.append_durable(1, b"a")
    wal.append_durable(2, b"b")
    assert fs.count("write") == 2 and fs.count("fsync") == 0
    # Another process reading now (as after kill -9) sees both records.
    assert replay_all(tmp_path) == [(1, b"a"), (2, b"b")]
    fs.simulate_power_loss()
    assert replay_all(tmp_path) == []


def test_flush_mode_close_fsyncs(tmp_path):
    fs = FaultInjectingFileSystem(real_fsync=False)
    wal = WriteAheadLog.open(fs, str(tmp_path), sync_mode="flush")
    wal.append_durable(1, b"a")
    wal.close()
    fs.simulate_power_loss()
    assert replay_all(tmp_path) == [(1, b"a")]


def test_none_mode_buffers_until_close(tmp_path, monkeypatch):
    monkeypatch.setattr(wal_module, "BACKGROUND_FLUSH_INTERVAL_S", 3600.0)
    fs = FaultInjectingFileSystem(real_fsync=False)
    wal = WriteAheadLog.open(fs, str(tmp_path), sync_mode="none")
    wal.append_durable(1, b"a")
    wal.append_durable(2, b"b")
    assert fs.count("write") == 0  # acked, yet only in this process
    assert replay_all(tmp_path) == []
    wal.close()
    assert fs.count("write") == 1  # both records in one write
    fs.simulate_power_loss()
    assert replay_all(tmp_path) == [(1, b"a"), (2, b"b")]


def test_none_mode_background_thread_writes_to_os(tmp_path):
    fs = FaultInjectingFileSystem(real_fsync=False)
    wal = WriteAheadLog.open(fs, str(tmp_path), sync_mode="none")
    wal.append_durable(1, b"a")
    deadline = time.monotonic() + 10
    while fs.count("write") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert replay_all(tmp_path) == [(1, b"a")]
    assert fs.count("fsync") == 0
    wal.close()


def test_sync_makes_everything_durable_in_any_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(wal_module, "BACKGROUND_FLUSH_INTERVAL_S", 3600.0)
    fs = FaultInjectingFileSystem(real_fsync=False)
    wal = WriteAheadLog.open(fs, str(tmp_path), sync_mode="none")
    wal.append(1, b"a")
    wal.sync()
    fs.simulate_power_loss()
    assert replay_all(tmp_path) == [(1, b"a")]
    wal.close()


def test_unknown_sync_mode(tmp_path):
    with pytest.raises(InvalidArgument, match="unknown WAL sync mode 'sometimes'"):
        WriteAheadLog.open(LocalFileSystem(), str(tmp_path), sync_mode="sometimes")


def test_closed_log_refuses_everything(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    ticket = wal.append_durable(1, b"a")
    wal.close()
    wal.close()  # idempotent
    wal.wait_durable(ticket)  # already durable: fine
    with pytest.raises(ClosedError):
        wal.append(2, b"b")
    with pytest.raises(ClosedError):
        wal.rotate()
    with pytest.raises(ClosedError):
        wal.replay()


def test_replay_after_append_is_refused(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    wal.append(1, b"a")
    with pytest.raises(FailedPrecondition, match="before the first append"):
        wal.replay()
    wal.close()


def test_unknown_ticket_is_refused(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    ticket = wal.append(1, b"a")
    with pytest.raises(InvalidArgument):
        wal.wait_durable(ticket + 1)
    wal.close()


def test_tickets_increase(tmp_path):
    wal = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    tickets = [wal.append(seq, b"x" * seq) for seq in range(1, 5)]
    assert tickets == sorted(set(tickets))
    wal.wait_durable(tickets[-1])
    wal.close()
