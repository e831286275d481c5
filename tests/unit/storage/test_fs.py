"""The file-system seam: the local implementation and the fault injector."""

from __future__ import annotations

import errno
import os

import pytest

from keeldb.errors import StorageError
from keeldb.storage.fs import (
    FaultInjectingFileSystem,
    LocalFileSystem,
    SimulatedCrash,
    translate_os_error,
)


def test_local_file_operations(tmp_path):
    fs = LocalFileSystem()
    sub = str(tmp_path / "a" / "b")
    fs.makedirs(sub)
    fs.makedirs(sub)  # exists ok
    path = os.path.join(sub, "f")
    fs.write_file(path, b"hello")
    assert fs.exists(path)
    assert fs.read_bytes(path) == b"hello"
    assert fs.file_size(path) == 5
    fs.write_file(path, b"hi", fsync=False)
    assert fs.read_bytes(path) == b"hi"
    fs.rename(path, os.path.join(sub, "g"))
    assert fs.listdir(sub) == ["g"]
    fs.fsync_dir(sub)
    fs.remove(os.path.join(sub, "g"))
    fs.remove(os.path.join(sub, "g"))  # missing ok
    fs.remove_tree(str(tmp_path / "a"))
    fs.remove_tree(str(tmp_path / "a"))  # missing ok
    assert not fs.exists(sub)


def test_local_append_file(tmp_path):
    fs = LocalFileSystem()
    path = str(tmp_path / "log")
    f = fs.open_append(path)
    f.write(b"abc")
    f.write(b"def")
    f.flush()
    f.fsync()
    assert f.size() == 6
    f.truncate(4)
    f.write(b"Z")  # O_APPEND: lands at the new end
    f.close()
    f.close()
    assert fs.read_bytes(path) == b"abcdZ"
    with pytest.raises(ValueError):
        f.write(b"x")


def test_translate_os_error_keeps_cause_and_hints_enospc():
    with (
        pytest.raises(StorageError, match="disk is full") as info,
        translate_os_error("writing 'x'"),
    ):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert isinstance(info.value.__cause__, OSError)


def test_counts_points_and_ops(tmp_path):
    fs = FaultInjectingFileSystem()
    path = str(tmp_path / "f")
    fs.write_file(path, b"data")  # write_file + fsync
    f = fs.open_append(path)
    f.write(b"more")
    f.fsync()
    f.close()
    fs.rename(path, path + "2")
    assert fs.points == 6
    assert [op for op, _ in fs.trace] == [
        "write_file",
        "fsync",
        "open_append",
        "write",
        "fsync",
        "rename",
    ]
    assert fs.count("fsync") == 2
    fs.read_bytes(path + "2")  # reads are not points
    assert fs.points == 6


def test_crash_at_point_stops_all_later_mutation(tmp_path):
    fs = FaultInjectingFileSystem()
    fs.arm("crash", at=1)
    path = str(tmp_path / "f")
    f = fs.open_append(path)  # point 0
    with pytest.raises(SimulatedCrash):
        f.write(b"lost")  # point 1
    assert fs.read_bytes(path) == b""
    with pytest.raises(SimulatedCrash):
        fs.write_file(str(tmp_path / "g"), b"x")
    assert not os.path.exists(tmp_path / "g")
    assert fs.fired == [(1, "crash", "write", path)]


def test_simulated_crash_escapes_except_exception(tmp_path):
    fs = FaultInjectingFileSystem()
    fs.arm("crash")
    with pytest.raises(SimulatedCrash):
        try:
            fs.makedirs(str(tmp_path / "d"))
        except Exception:  # noqa: BLE001 - the point of the test
            pytest.fail("SimulatedCrash must not be an Exception")


def test_torn_write_keeps_a_prefix(tmp_path):
    fs = FaultInjectingFileSystem()
    path = str(tmp_path / "f")
    f = fs.open_append(path)
    fs.arm("torn", op="write", torn_bytes=3)
    with pytest.raises(SimulatedCrash):
        f.write(b"abcdefgh")
    assert fs.read_bytes(path) == b"abc"
    assert fs.crashed


def test_torn_write_file_default_half(tmp_path):
    fs = FaultInjectingFileSystem()
    path = str(tmp_path / "f")
    fs.arm("torn", path_contains="f", op="write_file")
    with pytest.raises(SimulatedCrash):
        fs.write_file(path, b"12345678")
    assert fs.read_bytes(path) == b"1234"


@pytest.mark.parametrize(("fault", "code"), [("eio", errno.EIO), ("enospc", errno.ENOSPC)])
def test_errno_faults_do_not_crash(tmp_path, fault, code):
    fs = FaultInjectingFileSystem()
    path = str(tmp_path / "f")
    f = fs.open_append(path)
    fs.arm(fault, op="fsync")
    f.write(b"x")
    with pytest.raises(OSError) as info:
        f.fsync()
    assert info.value.errno == code
    assert not fs.crashed
    f.fsync()  # one-shot by default
    f.close()


def test_sticky_fault_keeps_failing(tmp_path):
    fs = FaultInjectingFileSystem()
    fs.arm("eio", op="remove", sticky=True)
    for _ in range(3):
        with pytest.raises(OSError):
            fs.remove(str(tmp_path / "nothing"))
    fs.disarm()
    fs.remove(str(tmp_path / "nothing"))


def test_arm_rejects_unknown_fault():
    with pytest.raises(ValueError, match="unknown fault"):
        FaultInjectingFileSystem().arm("meteor")


def test_power_loss_keeps_only_fsynced_bytes(tmp_path):
    fs = FaultInjectingFileSystem(real_fsync=False)
    synced, unsynced, renamed = (str(tmp_path / n) for n in ("a", "b", "c"))
    f = fs.open_append(synced)
    f.write(b"durable")
    f.fsync()
    f.write(b"-volatile")
    f.close()
    fs.write_file(unsynced, b"never synced", fsync=False)
    fs.write_file(renamed + ".tmp", b"synced then renamed")
    fs.rename(renamed + ".tmp", renamed)
    fs.simulate_power_loss()
    assert fs.read_bytes(synced) == b"durable"
    assert fs.read_bytes(unsynced) == b""
    assert fs.read_bytes(renamed) == b"synced then renamed"


def test_power_loss_revives_a_crashed_file_system(tmp_path):
    fs = FaultInjectingFileSystem()
    fs.arm("crash")
    with pytest.raises(SimulatedCrash):
        fs.makedirs(str(tmp_path / "d"))
    fs.simulate_power_loss()
    fs.makedirs(str(tmp_path / "d"))
    assert os.path.isdir(tmp_path / "d")


def test_preexisting_file_counts_as_durable(tmp_path):
    path = str(tmp_path / "old")
    LocalFileSystem().write_file(path, b"old")
    fs = FaultInjectingFileSystem()
    f = fs.open_append(path)
    f.write(b"new")
    f.close()
    fs.simulate_power_loss()
    assert fs.read_bytes(path) == b"old"
