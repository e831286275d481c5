"""One process per data directory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import keeldb
from keeldb.errors import DataDirLocked
from keeldb.storage.lock import DirectoryLock

HOLD_LOCK = """
import sys, time
from keeldb.storage.lock import DirectoryLock
DirectoryLock().acquire(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""

TRY_LOCK = """
import sys
from keeldb.errors import DataDirLocked
from keeldb.storage.lock import DirectoryLock
try:
    DirectoryLock().acquire(sys.argv[1])
except DataDirLocked as exc:
    print(exc)
    sys.exit(3)
"""


def run_python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    root = os.path.dirname(os.path.dirname(os.path.abspath(keeldb.__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, env=env, **kwargs
    )


def test_acquire_writes_pid_and_release_unlocks(tmp_path):
    lock = DirectoryLock()
    lock.acquire(str(tmp_path / "data"))
    assert lock.held
    assert (tmp_path / "data" / "LOCK").read_text() == f"{os.getpid()}\n"
    lock.release()
    lock.release()  # idempotent
    assert not lock.held
    with DirectoryLock() as again:
        again.acquire(str(tmp_path / "data"))


def test_second_lock_in_same_process_is_refused(tmp_path):
    first = DirectoryLock()
    first.acquire(str(tmp_path))
    with pytest.raises(DataDirLocked) as info:
        DirectoryLock().acquire(str(tmp_path))
    assert str(info.value) == (
        f"data directory '{tmp_path}' is locked by process {os.getpid()}; another keeldb "
        "instance has it open (close it, or use keel serve and connect to it)"
    )
    first.release()


def test_other_process_is_refused(tmp_path):
    with DirectoryLock() as lock:
        lock.acquire(str(tmp_path))
        child = run_python(TRY_LOCK, str(tmp_path))
        out, _ = child.communicate(timeout=30)
    assert child.returncode == 3
    assert f"locked by process {os.getpid()}" in out


def test_lock_is_released_when_holder_dies(tmp_path):
    child = run_python(HOLD_LOCK, str(tmp_path))
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(DataDirLocked, match=f"locked by process {child.pid};"):
            DirectoryLock().acquire(str(tmp_path))
    finally:
        child.kill()  # SIGKILL: no cleanup code runs in the child
        child.communicate(timeout=30)
    lock = DirectoryLock()
    lock.acquire(str(tmp_path))
    lock.release()
