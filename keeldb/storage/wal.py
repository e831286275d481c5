"""Write-ahead log with group commit. The byte layout is in ``wal_format``.

Usage: ``WriteAheadLog.open(fs, directory, sync_mode=...)``; then ``replay()``
once to recover; then, for every write, ``append(seq, payload)`` under the
caller's own write lock (so log order is seq order) and ``wait_durable(ticket)``
after releasing it, so that concurrent writers share one write and one fsync:
the first waiter to find no writer in progress becomes the leader, writes every
pending record in one ``write``, syncs per mode and wakes the others.

Sync modes, and what a record whose ``wait_durable`` returned can still lose:

- ``"fsync"`` (default): written and fsynced (the directory too, for a new
  file) before the ack. Survives kill -9 and power loss; loses nothing.
- ``"flush"``: written to the OS before the ack, no fsync. Survives kill -9 of
  the process; a power loss or OS crash can lose the records written since the
  last fsync (rotation, ``sync()`` or ``close()``), always a suffix of the log.
- ``"none"``: the ack returns at once; records sit in this process and a
  background thread writes them to the OS every ~50 ms (sooner when 4 MiB are
  pending) and on ``close()``. kill -9 can lose the last ~50 ms of acked
  records, a power loss everything since the last fsync; always a suffix.

In every mode ``rotate()`` and ``close()`` fsync, so a clean close loses nothing,
and every file but the last is complete on disk before the next one is created.

Invariants and rules:

- Seqs strictly increase; ``append`` raises ``InvalidArgument`` otherwise.
- ``replay(after_seq)`` yields ``(seq, payload)`` for seq > after_seq in order.
  Call it at most once, before the first append (it may be skipped: the first
  append then validates the log itself, without yielding). In the last file,
  everything from the first damaged record on (torn header, short payload,
  crc mismatch) is an interrupted write: it is logged and truncated away
  (``wal_reader`` has the details). Damage in any earlier file, or
  out-of-order seqs, raise ``CorruptionError`` naming the file and offset.
- Tickets are logical byte positions, meaningful only to this instance.
- A failed write or fsync fails the log for good (an fsync error cannot be
  retried safely: the kernel may have dropped the dirty pages). Waiters of
  unwritten records and every later call raise ``StorageError`` chaining the
  ``OSError``; reopen to recover. Nobody waits forever.
- Only the leader touches files; the lock guards the queue and counters.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator

from keeldb.errors import (
    ClosedError,
    FailedPrecondition,
    InvalidArgument,
    StorageError,
)
from keeldb.storage.fs import AppendFile, FileSystem, storage_error, translate_os_error
from keeldb.storage.wal_format import (
    FILE_MAGIC,
    MAX_PAYLOAD_BYTES,
    MAX_SEQ,
    encode_record,
    wal_file_name,
)
from keeldb.storage.wal_reader import Tail, WalFile, read_log

__all__ = ["SYNC_MODES", "WriteAheadLog"]

logger = logging.getLogger(__name__)

SYNC_MODES = ("fsync", "flush", "none")
BACKGROUND_FLUSH_INTERVAL_S = 0.05
BACKGROUND_WAKE_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024


class WriteAheadLog:
    """A directory of WAL files. Thread-safe; see the module docstring for the rules."""

    def __init__(self, fs: FileSystem, directory: str, sync_mode: str, max_file_bytes: int) -> None:
        self._fs = fs
        self.directory = directory
        self.sync_mode = sync_mode
        self._max_file_bytes = max_file_bytes
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._pending: list[tuple[int, bytes]] = []
        self._pending_bytes = 0
        self._appended_lsn = 0
        self._durable_lsn = 0
        self._leader = False
        self._closed = False
        self._failure: StorageError | None = None
        self._failure_reported = False
        self._recovered = False
        self._appended = False
        self._last_seq = -1
        # Leader-only state: the files, and the one appends go to.
        self._files: list[WalFile] = []
        self._active: AppendFile | None = None
        self._active_file: WalFile | None = None
        self._active_size = 0
        self._unsynced = False
        self._dir_dirty = False
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None

    @classmethod
    def open(
        cls,
        fs: FileSystem,
        directory: str,
        *,
        sync_mode: str = "fsync",
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> WriteAheadLog:
        """Open (creating the directory if needed) the WAL in ``directory``."""
        if sync_mode not in SYNC_MODES:
            raise InvalidArgument(
                f"unknown WAL sync mode {sync_mode!r}", hint=f"use one of {', '.join(SYNC_MODES)}"
            )
        with translate_os_error(f"creating WAL directory '{directory}'"):
            fs.makedirs(directory)
        wal = cls(fs, directory, sync_mode, max_file_bytes)
        if sync_mode == "none":
            wal._flusher = threading.Thread(
                target=wal._flush_periodically, name=f"keeldb-wal-flush:{directory}", daemon=True
            )
            wal._flusher.start()
        return wal

    @property
    def last_seq(self) -> int:
        """The highest seq appended or found in the log; -1 if none is known."""
        with self._lock:
            return self._last_seq

    # -- writing ----------------------------------------------------------------

    def append(self, seq: int, payload: bytes) -> int:
        """Queue a record; return the ticket to pass to ``wait_durable``."""
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise InvalidArgument(f"WAL payload of {len(payload)} bytes exceeds 4 GiB - 1")
        if not 0 <= seq <= MAX_SEQ:
            raise InvalidArgument(f"WAL seq {seq} does not fit in an unsigned 64-bit integer")
        record = encode_record(seq, bytes(payload))  # checksum outside the lock
        with self._lock:
            self._check_usable()
            self._ensure_recovered()
            if seq <= self._last_seq:
                raise InvalidArgument(
                    f"WAL seq {seq} is not greater than the last seq {self._last_seq}",
                    hint="seqs must strictly increase",
                )
            self._pending.append((seq, record))
            self._pending_bytes += len(record)
            self._appended_lsn += len(record)
            self._last_seq = seq
            self._appended = True
            if self._pending_bytes >= BACKGROUND_WAKE_BYTES:
                self._wake.set()
            return self._appended_lsn

    def wait_durable(self, ticket: int) -> None:
        """Block until the record behind ``ticket`` is durable per the sync mode."""
        with self._lock:
            if ticket > self._appended_lsn:
                raise InvalidArgument(f"WAL ticket {ticket} was never issued by this log")
            while self._durable_lsn < ticket:
                self._raise_if_failed()
                if self.sync_mode == "none":
                    return
                if self._leader:
                    self._cond.wait()
                    continue
                if self._run_as_leader(self._write_per_mode):
                    raise self._failure_error()

    def append_durable(self, seq: int, payload: bytes) -> int:
        ticket = self.append(seq, payload)
        self.wait_durable(ticket)
        return ticket

    def sync(self) -> None:
        """Write and fsync everything appended so far, whatever the sync mode."""
        with self._lock:
            self._check_usable()
            if self._run_as_leader(self._write_synced):
                raise self._failure_error()

    def rotate(self) -> None:
        """Seal the current file (fsynced); the next append starts a new file."""
        with self._lock:
            self._check_usable()
            self._ensure_recovered()

            def write_and_seal(batch: list[tuple[int, bytes]]) -> None:
                self._write_batch(batch, True)
                self._seal_active()

            if self._run_as_leader(write_and_seal):
                raise self._failure_error()

    def drop_through(self, seq: int) -> int:
        """Remove the sealed files whose records all have seq <= ``seq``; return how many."""
        with self._lock:
            self._check_usable()
            self._ensure_recovered()
            removed = 0

            def remove_files(_batch: list[tuple[int, bytes]]) -> None:
                # Oldest first, so a crash part-way leaves a contiguous log. A removal
                # lost to power loss only brings back records that are still <= seq.
                nonlocal removed
                try:
                    for wal_file in self._files:
                        if wal_file is self._active_file or wal_file.last_seq > seq:
                            break
                        self._fs.remove(wal_file.path)
                        removed += 1
                finally:
                    del self._files[:removed]

            error = self._run_as_leader(remove_files, take_batch=False, fatal=False)
            if error is not None:
                what = f"removing old WAL files in '{self.directory}'"
                raise storage_error(what, error) from error
            return removed

    def close(self) -> None:
        """Write and fsync what is pending, stop the flusher, close the files.

        Raises ``StorageError`` if records were accepted but could not be written
        and no caller has been told yet. Idempotent.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._flusher is not None:
            self._wake.set()
            self._flusher.join()
        with self._lock:
            try:
                if self._failure is None and self._recovered:
                    self._run_as_leader(self._write_synced)
            finally:
                self._close_active_quietly()
            if self._failure is not None and not self._failure_reported:
                raise self._failure_error()

    # -- recovery ---------------------------------------------------------------

    def replay(self, after_seq: int = -1) -> Iterator[tuple[int, bytes]]:
        """Yield ``(seq, payload)`` for every intact record with seq > ``after_seq``."""
        with self._lock:
            self._check_usable()
            if self._appended:
                raise FailedPrecondition("WAL replay must come before the first append")
        return self._replay_files(after_seq)

    def _ensure_recovered(self) -> None:
        if not self._recovered:
            for _ in self._replay_files(MAX_SEQ):
                pass

    def _replay_files(self, after_seq: int) -> Iterator[tuple[int, bytes]]:
        self._close_active_quietly()
        log = yield from read_log(self._fs, self.directory, after_seq)
        if log.tail is not None:
            self._adopt_tail(log.tail, log.files)
        self._files = log.files
        self._last_seq = max(self._last_seq, log.last_seq)
        self._recovered = True

    def _adopt_tail(self, tail: Tail, files: list[WalFile]) -> None:
        """Cut the last file back to its intact prefix and make it the active file."""
        if tail.problem is not None:
            if tail.intact_after_damage:  # see wal_reader: cannot tell which, so shout
                level, cause = logging.ERROR, "intact records follow it: power loss or bad media"
            else:
                level, cause = logging.WARNING, "an interrupted write left it"
            logger.log(
                level,
                "WAL file '%s': dropping %d bytes from offset %d (%s); %s",
                tail.path,
                tail.size_bytes - tail.intact_bytes,
                tail.intact_bytes,
                tail.problem,
                cause,
            )
        try:
            if not tail.has_records:
                # Not one intact record: the file holds nothing worth keeping. Make
                # the removal durable, or it could reappear behind a newer file.
                self._fs.remove(tail.path)
                self._fs.fsync_dir(self.directory)
                return
            handle = self._fs.open_append(tail.path)
            self._active, self._active_file = handle, files[-1]
            self._active_size = tail.intact_bytes
            if tail.intact_bytes < tail.size_bytes:
                handle.truncate(tail.intact_bytes)
            # A killed process may have left this data in the page cache only.
            handle.fsync()
        except OSError as exc:
            self._fail(exc)
            raise self._failure_error() from exc

    # -- the leader -------------------------------------------------------------

    def _run_as_leader(
        self,
        action: Callable[[list[tuple[int, bytes]]], None],
        *,
        take_batch: bool = True,
        fatal: bool = True,
    ) -> OSError | None:
        """With the lock held: become leader, run ``action`` unlocked, step down.

        Returns the ``OSError`` that stopped ``action`` (already recorded as the
        log's failure when ``fatal``); other exceptions fail the log and propagate.
        """
        while self._leader:
            self._cond.wait()
        self._raise_if_failed()
        self._leader = True
        batch: list[tuple[int, bytes]] = []
        if take_batch:
            batch, self._pending, self._pending_bytes = self._pending, [], 0
        target = self._appended_lsn
        error: BaseException | None = None
        self._lock.release()
        try:
            action(batch)
        except OSError as exc:
            error = exc
        except BaseException as exc:  # a crash or interrupt mid-I/O: state unknown
            error = exc
            raise
        finally:
            self._lock.acquire()
            self._leader = False
            if error is None:
                self._durable_lsn = max(self._durable_lsn, target)
            elif fatal or not isinstance(error, OSError):
                self._fail(error)
            self._cond.notify_all()
        return error if isinstance(error, OSError) else None

    def _write_per_mode(self, batch: list[tuple[int, bytes]]) -> None:
        self._write_batch(batch, self.sync_mode == "fsync")

    def _write_synced(self, batch: list[tuple[int, bytes]]) -> None:
        self._write_batch(batch, True)

    def _write_unsynced(self, batch: list[tuple[int, bytes]]) -> None:
        self._write_batch(batch, False)

    def _write_batch(self, batch: list[tuple[int, bytes]], sync: bool) -> None:
        if batch:
            chunks = [record for _, record in batch]
            if self._active_file is None or self._active_size >= self._max_file_bytes:
                self._start_file(batch[0][0])
                chunks.insert(0, FILE_MAGIC)
            assert self._active is not None and self._active_file is not None
            data = b"".join(chunks)
            self._active.write(data)
            self._active_size += len(data)
            self._active_file.last_seq = batch[-1][0]
            self._unsynced = True
            if self.sync_mode == "flush":
                self._active.flush()
        if sync:
            self._sync_active()

    def _start_file(self, first_seq: int) -> None:
        self._seal_active()
        path = os.path.join(self.directory, wal_file_name(first_seq))
        self._active = self._fs.open_append(path)
        self._active_file = WalFile(first_seq, -1, path)
        self._files.append(self._active_file)
        self._active_size = 0
        self._dir_dirty = True

    def _seal_active(self) -> None:
        """Fsync and close the active file, so that no later file exists before it is whole."""
        if self._active is not None:
            self._sync_active()
            self._active.close()
        self._active = None
        self._active_file = None

    def _sync_active(self) -> None:
        if self._active is not None and self._unsynced:
            self._active.fsync()
            self._unsynced = False
        if self._dir_dirty:
            self._fs.fsync_dir(self.directory)
            self._dir_dirty = False

    def _flush_periodically(self) -> None:
        while True:
            self._wake.wait(BACKGROUND_FLUSH_INTERVAL_S)
            self._wake.clear()
            with self._lock:
                if self._closed or self._failure is not None:
                    return
                if self._leader or not self._pending:
                    continue
                try:
                    self._run_as_leader(self._write_unsynced)
                except BaseException:  # noqa: BLE001 - recorded as the log's failure
                    return

    # -- failure ----------------------------------------------------------------

    def _fail(self, cause: BaseException) -> None:
        if self._failure is None:
            if isinstance(cause, OSError):
                reason = cause.strerror or str(cause)
            else:
                reason = f"the writer was interrupted ({type(cause).__name__}: {cause})"
            self._failure = StorageError(
                f"write-ahead log '{self.directory}' failed: {reason}; it accepts no more writes",
                hint="reopen the database; acknowledged records are safe",
            )
            self._failure.__cause__ = cause
        self._close_active_quietly()

    def _failure_error(self) -> StorageError:
        assert self._failure is not None
        self._failure_reported = True
        error = StorageError(self._failure.message, hint=self._failure.hint)
        error.__cause__ = self._failure.__cause__
        return error

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure_error()

    def _check_usable(self) -> None:
        if self._closed:
            raise ClosedError(f"write-ahead log '{self.directory}' is closed")
        self._raise_if_failed()

    def _close_active_quietly(self) -> None:
        if self._active is not None:
            # The log is failing or shutting down; the fd is gone either way.
            with contextlib.suppress(OSError):
                self._active.close()
            self._active = None
