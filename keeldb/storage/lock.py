"""One writer per data directory: an exclusive ``flock`` on ``<data dir>/LOCK``.

Invariants:

- The lock is held exactly as long as the open file description behind it; the
  kernel drops it when the holder releases it, closes it or dies (kill -9
  included), so a crashed process never leaves a stale lock.
- ``LOCK`` contains the holder's pid followed by a newline, for the error
  message only. Whether the directory is locked is decided by ``flock`` alone,
  and the file is never deleted (deleting it would let two processes each lock
  a different inode).
- Two ``DirectoryLock`` objects conflict even inside one process, because each
  opens its own file description.
- ``flock`` is advisory and may not work across machines on network file
  systems; a forked child shares its parent's lock.

This module calls the OS directly rather than through ``FileSystem``: a lock
needs a real file descriptor and is not part of what crash tests exercise.
"""

from __future__ import annotations

import fcntl
import os
from types import TracebackType

from keeldb.errors import DataDirLocked
from keeldb.storage.fs import translate_os_error

__all__ = ["LOCK_FILE_NAME", "DirectoryLock"]

LOCK_FILE_NAME = "LOCK"


def _read_holder_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


class DirectoryLock:
    """Exclusive, non-blocking lock on a data directory. Usable as a context manager."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self.path: str | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, path: str) -> None:
        """Lock ``path`` (created if missing) or raise ``DataDirLocked``."""
        if self._fd is not None:
            raise DataDirLocked(f"this lock already holds data directory '{self.path}'")
        with translate_os_error(f"locking data directory '{path}'"):
            os.makedirs(path, exist_ok=True)
            fd = os.open(os.path.join(path, LOCK_FILE_NAME), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_holder_pid(fd)
            os.close(fd)
            holder = f"process {pid}" if pid is not None else "another process"
            raise DataDirLocked(
                f"data directory '{path}' is locked by {holder}; "
                "another keeldb instance has it open",
                hint="close it, or use keel serve and connect to it",
            ) from None
        except OSError:
            os.close(fd)
            raise
        try:
            with translate_os_error(f"writing the lock file in '{path}'"):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except BaseException:
            os.close(fd)  # closing drops the flock too
            raise
        self._fd = fd
        self.path = path

    def release(self) -> None:
        """Unlock; a no-op when not held."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # no stale pid for the next reader to quote
        except OSError:
            pass  # the pid is cosmetic; dropping the lock is what matters
        finally:
            os.close(fd)
            self.path = None

    def __enter__(self) -> DirectoryLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
