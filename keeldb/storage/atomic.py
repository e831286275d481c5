"""Atomic file replacement and checksummed JSON (the catalog, each collection's manifest).

``write_atomic`` writes ``<path>.tmp``, fsyncs it, renames it over ``<path>`` and
fsyncs the directory. A crash at any point leaves ``<path>`` holding either the
old bytes or the new bytes, never a mix; a stale ``<path>.tmp`` may be left
behind and is simply overwritten by the next write.

Checked-JSON on-disk format (UTF-8, one line, itself valid JSON)::

    {"crc32":<decimal u32>,"body":<body>}\\n

``<body>`` is the object serialized by orjson with sorted keys, and the crc32
(zlib) covers exactly those body bytes as they sit in the file, so checking it
never depends on re-serializing. The file is only ever written by
``write_checked_json``; a file that does not have this exact shape, whose body
fails its checksum or does not parse as a JSON object is corrupt.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Mapping
from typing import Any

import orjson

from keeldb.errors import CorruptionError, InvalidArgument
from keeldb.storage.fs import FileSystem, storage_error, translate_os_error

__all__ = ["read_checked_json", "write_atomic", "write_checked_json"]

TMP_SUFFIX = ".tmp"
_PREFIX = re.compile(rb'\{"crc32":(0|[1-9][0-9]{0,9}),"body":')


def write_atomic(fs: FileSystem, path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new content."""
    tmp = path + TMP_SUFFIX
    with translate_os_error(f"writing '{path}'"):
        fs.write_file(tmp, data, fsync=True)
        fs.rename(tmp, path)
        # Without this the rename itself may not survive a power loss.
        fs.fsync_dir(os.path.dirname(path) or ".")


def encode_checked_json(obj: Mapping[str, Any]) -> bytes:
    """The bytes ``write_checked_json`` puts on disk for ``obj``."""
    if not isinstance(obj, Mapping):
        raise InvalidArgument(f"checked JSON body must be a mapping, got {type(obj).__name__}")
    try:
        body = orjson.dumps(dict(obj), option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise InvalidArgument(f"value cannot be stored as JSON: {exc}") from exc
    return b'{"crc32":%d,"body":%s}\n' % (zlib.crc32(body), body)


def decode_checked_json(data: bytes, path: str) -> dict[str, Any]:
    """Verify and parse checked-JSON bytes read from ``path``; CorruptionError if bad."""
    match = _PREFIX.match(data)
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    if match is None or end <= match.end() or data[end - 1 : end] != b"}":
        raise CorruptionError(
            f"checked JSON file '{path}' is corrupt: not in the expected "
            '{"crc32":...,"body":...} layout',
            hint="restore it from a backup",
        )
    body = data[match.end() : end - 1]
    expected = int(match.group(1))
    actual = zlib.crc32(body)
    if actual != expected:
        raise CorruptionError(
            f"checked JSON file '{path}' is corrupt: body crc32 {actual:#010x} does not match "
            f"the stored {expected:#010x}",
            hint="restore it from a backup",
        )
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CorruptionError(f"checked JSON file '{path}' is corrupt: {exc}") from exc
    if not isinstance(obj, dict):
        raise CorruptionError(f"checked JSON file '{path}' is corrupt: body is not an object")
    return obj


def write_checked_json(fs: FileSystem, path: str, obj: Mapping[str, Any]) -> None:
    """Atomically replace ``path`` with ``obj`` as checked JSON."""
    write_atomic(fs, path, encode_checked_json(obj))


def read_checked_json(fs: FileSystem, path: str) -> dict[str, Any] | None:
    """Read a checked-JSON file; None if it does not exist, CorruptionError if it is bad."""
    try:
        data = fs.read_bytes(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise storage_error(f"reading '{path}'", exc) from exc
    return decode_checked_json(data, path)
