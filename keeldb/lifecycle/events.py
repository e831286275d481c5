"""The lifecycle event log: append-only, one checksummed JSON record per line.

On-disk format of ``<data>/lifecycle/events.log``: each line is exactly what
:func:`keeldb.storage.atomic.encode_checked_json` writes for the event body::

    {"crc32":<u32>,"body":{"seq":<n>,"time_ms":<ms>,"type":"<type>", ...}}\\n

Invariants:

- ``seq`` starts at 1 and increases by one per event; ``time_ms`` never
  decreases (a clock that steps back is clamped to the previous event's time).
- ``append`` writes one whole line with ``O_APPEND`` and fsyncs it before it
  returns, so an event a caller has seen returned survives a crash;
  ``append_many`` writes several lines with one write and one fsync.
- Reading: a last line that is partial or fails its checksum is a torn append
  and is cut off (the file is truncated to the last good line); a bad line
  before the last is :class:`CorruptionError`.
- Only this module writes the file; callers serialise appends with their own lock
  (the log also holds one, so concurrent appends never interleave).
"""

from __future__ import annotations

import posixpath
import threading
import time
from typing import Any

from keeldb.errors import CorruptionError
from keeldb.storage import AppendFile, FileSystem
from keeldb.storage.atomic import decode_checked_json, encode_checked_json
from keeldb.storage.fs import storage_error, translate_os_error

__all__ = ["EventLog"]


class EventLog:
    """An append-only list of events (dicts) backed by ``path``."""

    def __init__(self, fs: FileSystem, path: str) -> None:
        self._fs = fs
        self._path = path
        self._lock = threading.Lock()
        self._file: AppendFile | None = None
        self.events: list[dict[str, Any]] = self._read()

    def _read(self) -> list[dict[str, Any]]:
        try:
            data = self._fs.read_bytes(self._path)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise storage_error(f"reading '{self._path}'", exc) from exc
        events: list[dict[str, Any]] = []
        good_bytes = 0
        lines = data.split(b"\n")
        complete = lines[:-1]  # the piece after the last newline is partial (or empty)
        for i, line in enumerate(complete):
            try:
                body = decode_checked_json(line + b"\n", self._path)
            except CorruptionError:
                if i == len(complete) - 1 and not lines[-1]:
                    break  # torn last line: cut it off below
                raise CorruptionError(
                    f"lifecycle event log '{self._path}' is corrupt at line {i + 1}",
                    hint="restore the data directory from a backup",
                ) from None
            self._check_order(body, events, i + 1)
            events.append(body)
            good_bytes += len(line) + 1
        if good_bytes != len(data):
            with translate_os_error(f"truncating the torn tail of '{self._path}'"):
                f = self._fs.open_append(self._path)
                try:
                    f.truncate(good_bytes)
                    f.fsync()
                finally:
                    f.close()
        return events

    def _check_order(self, body: dict[str, Any], events: list[dict[str, Any]], line: int) -> None:
        expected = events[-1]["seq"] + 1 if events else 1
        if body.get("seq") != expected or not isinstance(body.get("type"), str):
            raise CorruptionError(
                f"lifecycle event log '{self._path}' line {line}: expected seq {expected}, "
                f"got {body.get('seq')!r}"
            )

    @property
    def last_time_ms(self) -> int:
        return self.events[-1]["time_ms"] if self.events else 0

    def append(self, event_type: str, **fields: Any) -> dict[str, Any]:
        """Append one event durably and return it (with its ``seq`` and ``time_ms``)."""
        return self.append_many([(event_type, fields)])[0]

    def append_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Append several events with one write and one fsync (a group commit)."""
        with self._lock:
            now = max(time.time_ns() // 1_000_000, self.last_time_ms)
            seq = self.events[-1]["seq"] if self.events else 0
            bodies = [
                {"seq": seq + i + 1, "time_ms": now, "type": event_type, **fields}
                for i, (event_type, fields) in enumerate(items)
            ]
            data = b"".join(encode_checked_json(body) for body in bodies)
            with translate_os_error(f"appending to '{self._path}'"):
                if self._file is None:
                    created = not self._fs.exists(self._path)
                    self._file = self._fs.open_append(self._path)
                    if created:
                        self._fs.fsync_dir(posixpath.dirname(self._path) or ".")
                self._file.write(data)
                self._file.fsync()
            self.events.extend(bodies)
            return bodies

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
