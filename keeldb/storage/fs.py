"""The file-system seam: every storage read and write goes through a ``FileSystem``.

``LocalFileSystem`` is the real thing. ``FaultInjectingFileSystem`` wraps it for
tests: it numbers every mutating I/O point (creating a file, writing, fsyncing,
truncating, renaming, removing, making directories) and can be armed to fail at
one of them with a simulated crash, a torn write, ``EIO`` or ``ENOSPC``.

Invariants:

- The seam raises plain ``OSError``; the modules above it translate to
  :class:`keeldb.errors.StorageError` (see :func:`translate_os_error`).
- ``AppendFile.write`` hands data straight to the operating system (no buffer in
  this process), so a process that dies keeps exactly what ``write`` returned
  from, and a simulated crash cannot be "undone" by a buffer flushed later.
- After a :class:`SimulatedCrash` the fault-injecting file system refuses every
  further mutation, as the dead process could not have made any.
- ``simulate_power_loss`` models the stronger failure: each file it saw written
  is cut back to the length it had at its last fsync (a file never fsynced goes
  back to empty). Renames and removals are treated as durable once made; the
  callers fsync the directory where that matters.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from keeldb.errors import StorageError

__all__ = [
    "AppendFile",
    "FaultInjectingFileSystem",
    "FileSystem",
    "LocalAppendFile",
    "LocalFileSystem",
    "SimulatedCrash",
    "storage_error",
    "translate_os_error",
]


class AppendFile(Protocol):
    """A file open for appending. ``write`` reaches the OS; ``fsync`` reaches the disk."""

    def write(self, data: bytes) -> None: ...
    def flush(self) -> None: ...
    def fsync(self) -> None: ...
    def truncate(self, size: int) -> None: ...
    def size(self) -> int: ...
    def close(self) -> None: ...


class FileSystem(Protocol):
    def makedirs(self, path: str) -> None: ...
    def exists(self, path: str) -> bool: ...
    def listdir(self, path: str) -> list[str]: ...
    def remove(self, path: str) -> None: ...
    def remove_tree(self, path: str) -> None: ...
    def rename(self, src: str, dst: str) -> None: ...
    def fsync_dir(self, path: str) -> None: ...
    def read_bytes(self, path: str) -> bytes: ...
    def write_file(self, path: str, data: bytes, *, fsync: bool = True) -> None: ...
    def open_append(self, path: str) -> AppendFile: ...
    def file_size(self, path: str) -> int: ...


def storage_error(what: str, exc: OSError) -> StorageError:
    """A ``StorageError`` saying ``what`` failed because of ``exc`` (raise it ``from exc``)."""
    hint = "the disk is full" if exc.errno == errno.ENOSPC else None
    return StorageError(f"{what} failed: {exc.strerror or exc}", hint=hint)


@contextlib.contextmanager
def translate_os_error(what: str) -> Iterator[None]:
    """Turn an ``OSError`` raised inside the block into a ``StorageError`` about ``what``."""
    try:
        yield
    except OSError as exc:
        raise storage_error(what, exc) from exc


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class LocalAppendFile:
    """An O_APPEND file descriptor. Unbuffered, so ``flush`` has nothing to do."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def _require_fd(self) -> int:
        if self._fd is None:
            raise ValueError(f"file '{self.path}' is closed")
        return self._fd

    def write(self, data: bytes) -> None:
        _write_all(self._require_fd(), data)

    def flush(self) -> None:
        self._require_fd()

    def fsync(self) -> None:
        os.fsync(self._require_fd())

    def truncate(self, size: int) -> None:
        os.ftruncate(self._require_fd(), size)

    def size(self) -> int:
        return os.fstat(self._require_fd()).st_size

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class LocalFileSystem:
    """The operating system's file system."""

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)

    def remove_tree(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path)

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_bytes(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def write_file(self, path: str, data: bytes, *, fsync: bool = True) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, data)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def open_append(self, path: str) -> AppendFile:
        return LocalAppendFile(path)

    def file_size(self, path: str) -> int:
        return os.path.getsize(path)


class SimulatedCrash(BaseException):
    """The process "died" at an I/O point. A BaseException so ``except Exception`` misses it."""


FAULTS = ("crash", "torn", "eio", "enospc")


@dataclass
class _Arming:
    fault: str
    at: int | None
    op: str | None
    path_contains: str | None
    torn_bytes: int | None
    sticky: bool

    def matches(self, index: int, op: str, path: str) -> bool:
        return (
            (self.at is None or index >= self.at)
            and (self.op is None or self.op == op)
            and (self.path_contains is None or self.path_contains in path)
        )


class FaultInjectingFileSystem(LocalFileSystem):
    """A ``LocalFileSystem`` that counts mutating I/O points and fails one on request.

    Points are numbered from 0 in the order they happen; ``points`` is how many
    were seen and ``trace`` lists them as ``(op, path)``. Op names: ``makedirs``,
    ``remove``, ``remove_tree``, ``rename``, ``fsync_dir``, ``write_file``,
    ``open_append``, ``write``, ``fsync``, ``truncate``. A sweep runs a workload
    once unarmed to learn ``points``, then once per point with ``arm(at=i)``.

    ``fsync_delay_s`` slows every fsync, which makes group commit observable.
    ``real_fsync=False`` skips the actual fsync system calls (the points are
    still counted and ``simulate_power_loss`` still honours them), which keeps
    crash sweeps fast.
    """

    def __init__(self, *, fsync_delay_s: float = 0.0, real_fsync: bool = True) -> None:
        self.real_fsync = real_fsync
        self.points = 0
        self.trace: list[tuple[str, str]] = []
        self.fired: list[tuple[int, str, str, str]] = []
        self.crashed = False
        self.fsync_delay_s = fsync_delay_s
        self._arming: _Arming | None = None
        self._lock = threading.Lock()
        # path -> length that survives power loss (see module docstring)
        self._synced: dict[str, int] = {}

    # -- arming -----------------------------------------------------------------

    def arm(
        self,
        fault: str = "crash",
        *,
        at: int | None = None,
        op: str | None = None,
        path_contains: str | None = None,
        torn_bytes: int | None = None,
        sticky: bool = False,
    ) -> None:
        """Fail the first point numbered ``>= at`` whose op and path match.

        ``fault`` is one of ``crash``, ``torn`` (write a prefix of ``torn_bytes``,
        default half, then crash; a point that writes nothing just crashes),
        ``eio`` or ``enospc``. ``sticky`` keeps failing every later matching point.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        with self._lock:
            self._arming = _Arming(fault, at, op, path_contains, torn_bytes, sticky)

    def disarm(self) -> None:
        with self._lock:
            self._arming = None

    def count(self, op: str) -> int:
        """How many points with this op name were seen (e.g. ``count("fsync")``)."""
        with self._lock:
            return sum(1 for seen_op, _ in self.trace if seen_op == op)

    def simulate_power_loss(self) -> None:
        """Cut every tracked file back to its last fsynced length; revive the file system."""
        with self._lock:
            for path, synced in self._synced.items():
                if os.path.exists(path) and os.path.getsize(path) > synced:
                    os.truncate(path, synced)
            self._synced.clear()
            self.crashed = False
            self._arming = None

    # -- the hook every mutating operation calls --------------------------------

    def _point(self, op: str, path: str, size: int | None = None) -> int | None:
        """Record a point; raise its fault, or return a prefix length for a torn write."""
        with self._lock:
            if self.crashed:
                raise SimulatedCrash(f"{op} '{path}' after the simulated crash")
            index = self.points
            self.points += 1
            self.trace.append((op, path))
            arming = self._arming
            if arming is None or not arming.matches(index, op, path):
                return None
            if not arming.sticky:
                self._arming = None
            self.fired.append((index, arming.fault, op, path))
            if arming.fault == "crash" or (arming.fault == "torn" and size is None):
                self.crashed = True
        where = f"I/O point {index} ({op} '{path}')"
        if arming.fault == "eio":
            raise OSError(errno.EIO, f"simulated EIO at {where}", path)
        if arming.fault == "enospc":
            raise OSError(errno.ENOSPC, f"simulated ENOSPC at {where}", path)
        if arming.fault == "crash" or size is None:
            raise SimulatedCrash(f"simulated crash at {where}")
        cut = size // 2 if arming.torn_bytes is None else arming.torn_bytes
        return max(0, min(cut, size))

    def _crash_after_torn(self, op: str, path: str) -> SimulatedCrash:
        with self._lock:
            self.crashed = True
        return SimulatedCrash(f"simulated torn {op} of '{path}'")

    def _note_synced(self, path: str, size: int) -> None:
        with self._lock:
            self._synced[path] = size

    def _note_unsynced(self, path: str) -> None:
        with self._lock:
            if path not in self._synced:
                self._synced[path] = os.path.getsize(path) if os.path.exists(path) else 0

    # -- FileSystem -------------------------------------------------------------

    def makedirs(self, path: str) -> None:
        self._point("makedirs", path)
        super().makedirs(path)

    def remove(self, path: str) -> None:
        self._point("remove", path)
        super().remove(path)
        with self._lock:
            self._synced.pop(path, None)

    def remove_tree(self, path: str) -> None:
        self._point("remove_tree", path)
        super().remove_tree(path)
        prefix = path.rstrip(os.sep) + os.sep
        with self._lock:
            for tracked in [p for p in self._synced if p.startswith(prefix)]:
                del self._synced[tracked]

    def rename(self, src: str, dst: str) -> None:
        self._point("rename", src)
        super().rename(src, dst)
        with self._lock:
            if src in self._synced:
                self._synced[dst] = self._synced.pop(src)
            else:
                self._synced.pop(dst, None)

    def fsync_dir(self, path: str) -> None:
        self._point("fsync_dir", path)
        self._sleep()
        if self.real_fsync:
            super().fsync_dir(path)

    def write_file(self, path: str, data: bytes, *, fsync: bool = True) -> None:
        cut = self._point("write_file", path, len(data))
        self._note_synced(path, 0)  # truncated and rewritten: nothing durable until fsync
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            if cut is not None:
                _write_all(fd, data[:cut])
                raise self._crash_after_torn("write_file", path)
            _write_all(fd, data)
            if fsync:
                self._point("fsync", path)
                self._sleep()
                if self.real_fsync:
                    os.fsync(fd)
                self._note_synced(path, len(data))
        finally:
            os.close(fd)

    def open_append(self, path: str) -> AppendFile:
        self._point("open_append", path)
        self._note_unsynced(path)
        return _FaultInjectingAppendFile(self, super().open_append(path), path)

    def _sleep(self) -> None:
        if self.fsync_delay_s:
            time.sleep(self.fsync_delay_s)


class _FaultInjectingAppendFile:
    def __init__(self, fs: FaultInjectingFileSystem, inner: AppendFile, path: str) -> None:
        self._fs = fs
        self._inner = inner
        self._path = path

    def write(self, data: bytes) -> None:
        cut = self._fs._point("write", self._path, len(data))
        if cut is not None:
            self._inner.write(data[:cut])
            raise self._fs._crash_after_torn("write", self._path)
        self._inner.write(data)

    def flush(self) -> None:
        self._inner.flush()

    def fsync(self) -> None:
        self._fs._point("fsync", self._path)
        self._fs._sleep()
        if self._fs.real_fsync:
            self._inner.fsync()
        self._fs._note_synced(self._path, self._inner.size())

    def truncate(self, size: int) -> None:
        self._fs._point("truncate", self._path)
        self._inner.truncate(size)
        with self._fs._lock:
            synced = self._fs._synced.get(self._path, size)
            self._fs._synced[self._path] = min(synced, size)

    def size(self) -> int:
        return self._inner.size()

    def close(self) -> None:
        self._inner.close()
