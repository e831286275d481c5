"""Crash, tear, EIO and ENOSPC at every I/O point of a WAL + manifest workload.

Each sweep runs the workload once unarmed to count its I/O points, then once
per point with a fault armed there. After each run it reopens the directory
with a plain ``LocalFileSystem`` and checks what any reopen must see:

- every record whose ``append_durable`` returned is replayed intact, where the
  sync mode promises it (fsync: always; flush: unless power was lost);
- nothing corrupt comes back: seqs increase, every payload is the one written
  for its seq, and the records form a gap-free run of what was appended;
- the manifest is exactly the old or the new version;
- the recovered log takes new appends.

Power loss is modelled by ``FaultInjectingFileSystem.simulate_power_loss``:
files go back to their last fsynced length.
"""

from __future__ import annotations

import contextlib
import os
import threading

import pytest

from keeldb.errors import StorageError
from keeldb.storage import wal as wal_module
from keeldb.storage.atomic import read_checked_json, write_checked_json
from keeldb.storage.fs import FaultInjectingFileSystem, LocalFileSystem, SimulatedCrash
from keeldb.storage.wal import WriteAheadLog

SEQS = [1, 2, 3, 4, 5, 6, 7, 8]
ROTATE_AFTER = 3
MAX_FILE_BYTES = 80  # small, so that files also roll over on their own
MANIFEST_OLD = {"version": 1, "flushed_seq": 0}
MANIFEST_NEW = {"version": 2, "flushed_seq": ROTATE_AFTER}


def payload(seq: int) -> bytes:
    # Different sizes, so tears land in headers and payloads alike.
    return bytes([seq]) * (3 + 11 * (seq % 4))


class Outcome:
    def __init__(self) -> None:
        self.acked: list[int] = []
        self.attempted: list[int] = []


def workload(fs, root: str, mode: str, outcome: Outcome) -> None:
    """Append, rotate, commit a manifest, drop old files, append more, close."""
    wal = WriteAheadLog.open(
        fs, os.path.join(root, "wal"), sync_mode=mode, max_file_bytes=MAX_FILE_BYTES
    )
    try:
        assert list(wal.replay()) == []
        for seq in SEQS:
            outcome.attempted.append(seq)
            wal.append_durable(seq, payload(seq))
            outcome.acked.append(seq)
            if seq == ROTATE_AFTER:
                wal.rotate()
                write_checked_json(fs, os.path.join(root, "manifest.json"), MANIFEST_NEW)
                wal.drop_through(ROTATE_AFTER)
    except BaseException:
        # A real crash runs no cleanup; here the file system refuses all I/O
        # after the crash, so close() only releases descriptors and threads.
        with contextlib.suppress(StorageError, SimulatedCrash):
            wal.close()
        raise
    wal.close()


def prepare(root: str) -> None:
    os.makedirs(root)
    write_checked_json(LocalFileSystem(), os.path.join(root, "manifest.json"), MANIFEST_OLD)


def check_recovery(root: str, mode: str, outcome: Outcome, power_lost: bool) -> None:
    manifest = read_checked_json(LocalFileSystem(), os.path.join(root, "manifest.json"))
    assert manifest in (MANIFEST_OLD, MANIFEST_NEW)
    wal = WriteAheadLog.open(LocalFileSystem(), os.path.join(root, "wal"))
    records = list(wal.replay())
    seqs = [seq for seq, _ in records]
    for seq, data in records:
        assert data == payload(seq), f"seq {seq} came back corrupt"
    # A gap-free run of what was appended, starting at 1 or just past the drop.
    if seqs:
        start = outcome.attempted.index(seqs[0])
        assert seqs == outcome.attempted[start : start + len(seqs)]
        assert seqs[0] == 1 or (manifest == MANIFEST_NEW and seqs[0] == ROTATE_AFTER + 1)
    if mode == "fsync" or (mode == "flush" and not power_lost):
        dropped = ROTATE_AFTER if manifest == MANIFEST_NEW else 0
        missing = [s for s in outcome.acked if s > dropped and s not in seqs]
        assert not missing, f"acknowledged records lost: {missing}"
    next_seq = max(SEQS) + 1
    wal.append_durable(next_seq, b"after recovery")
    wal.close()
    wal = WriteAheadLog.open(LocalFileSystem(), os.path.join(root, "wal"))
    assert list(wal.replay())[-1] == (next_seq, b"after recovery")
    wal.close()


def count_points(tmp_path, mode: str) -> int:
    root = str(tmp_path / f"probe-{mode}")
    prepare(root)
    fs = FaultInjectingFileSystem(real_fsync=False)
    workload(fs, root, mode, Outcome())
    return fs.points


@pytest.fixture(autouse=True)
def no_background_flush(monkeypatch):
    # "none" mode then writes only at rotate and close, so points are deterministic.
    monkeypatch.setattr(wal_module, "BACKGROUND_FLUSH_INTERVAL_S", 3600.0)


@pytest.mark.parametrize("mode", ["fsync", "flush", "none"])
@pytest.mark.parametrize("fault", ["crash", "torn"])
@pytest.mark.parametrize("power_loss", [False, True], ids=["kill", "power-loss"])
def test_crash_at_every_io_point(tmp_path, mode, fault, power_loss):
    points = count_points(tmp_path, mode)
    assert points > 10
    for point in range(points):
        root = str(tmp_path / f"{fault}-{point}")
        prepare(root)
        fs = FaultInjectingFileSystem(real_fsync=False)
        fs.arm(fault, at=point)
        outcome = Outcome()
        with pytest.raises(SimulatedCrash):
            workload(fs, root, mode, outcome)
        if power_loss:
            fs.simulate_power_loss()
        check_recovery(root, mode, outcome, power_loss)


@pytest.mark.parametrize("fault", ["eio", "enospc"])
def test_io_error_at_every_point(tmp_path, fault):
    mode = "fsync"
    points = count_points(tmp_path, mode)
    for point in range(points):
        root = str(tmp_path / f"{fault}-{point}")
        prepare(root)
        fs = FaultInjectingFileSystem(real_fsync=False)
        fs.arm(fault, at=point)
        outcome = Outcome()
        try:
            workload(fs, root, mode, outcome)
        except StorageError as exc:
            assert isinstance(exc.__cause__, OSError)
        assert fs.fired, "the armed fault never fired"
        check_recovery(root, mode, outcome, power_lost=False)


def test_leader_crash_does_not_strand_followers(tmp_path):
    fs = FaultInjectingFileSystem(fsync_delay_s=0.002, real_fsync=False)
    wal = WriteAheadLog.open(fs, str(tmp_path))
    lock = threading.Lock()
    next_seq = [1]
    acked: list[int] = []
    outcomes: list[BaseException] = []
    fs.arm("crash", op="fsync", at=20)

    def work() -> None:
        try:
            for _ in range(20):
                with lock:
                    seq = next_seq[0]
                    ticket = wal.append(seq, payload(seq % 250))
                    next_seq[0] += 1
                wal.wait_durable(ticket)
                acked.append(seq)
        except (StorageError, SimulatedCrash) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads), "a follower hung"
    assert len(outcomes) == 6
    assert sum(isinstance(e, SimulatedCrash) for e in outcomes) == 1  # the leader
    wal.close()  # already failed and reported: releases resources, writes nothing
    fs.simulate_power_loss()
    replayed = WriteAheadLog.open(LocalFileSystem(), str(tmp_path))
    seqs = [seq for seq, _ in replayed.replay()]
    replayed.close()
    assert set(acked) <= set(seqs)
    assert seqs == list(range(1, len(seqs) + 1))
