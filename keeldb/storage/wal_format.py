"""Byte layout of write-ahead log files, and the scanner that validates them.

A WAL directory holds files named ``<first_seq:020d>.wal``, where ``first_seq``
is the seq of the file's first record, so sorting names sorts files. Each file:

    file header   8 bytes   b"KEELWAL1" (magic; the last byte is the format version)
    record*       16-byte header + payload, back to back, no padding

    record header (little-endian)
      u32  payload length in bytes
      u32  crc32 (zlib) of the 8 seq bytes followed by the payload
      u64  seq
    payload       opaque bytes

Within a file, and across files in name order, seqs strictly increase, and a
file's first record has the seq in its name. A torn write leaves a prefix of
what was written, so a damaged end of a file shows up as a short header, a
short payload or a crc mismatch; the scanner reports where the intact prefix
ends and leaves the decision (truncate or refuse) to the caller.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field

__all__ = [
    "FILE_HEADER_BYTES",
    "FILE_MAGIC",
    "MAX_PAYLOAD_BYTES",
    "MAX_SEQ",
    "RECORD_HEADER_BYTES",
    "ScanResult",
    "encode_record",
    "parse_wal_file_name",
    "scan_records",
    "wal_file_name",
]

FILE_MAGIC = b"KEELWAL1"
FILE_HEADER_BYTES = len(FILE_MAGIC)
_RECORD_HEADER = struct.Struct("<IIQ")
_SEQ = struct.Struct("<Q")
RECORD_HEADER_BYTES = _RECORD_HEADER.size
MAX_PAYLOAD_BYTES = 2**32 - 1
MAX_SEQ = 2**64 - 1
_NAME = re.compile(r"^([0-9]{20})\.wal$")


def wal_file_name(first_seq: int) -> str:
    return f"{first_seq:020d}.wal"


def parse_wal_file_name(name: str) -> int | None:
    """The first seq a WAL file name encodes, or None if it is not a WAL file name."""
    match = _NAME.match(name)
    return int(match.group(1)) if match else None


def _record_crc(seq_bytes: bytes | memoryview, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(seq_bytes))


def encode_record(seq: int, payload: bytes) -> bytes:
    seq_bytes = _SEQ.pack(seq)
    header = _RECORD_HEADER.pack(len(payload), _record_crc(seq_bytes, payload), seq)
    return header + payload


@dataclass
class ScanResult:
    """What a scan found: intact records as ``(seq, payload_start, payload_end)``.

    ``end`` is the offset just past the intact prefix (0 when the file header
    itself is missing or torn). ``problem`` describes what stopped the scan
    early, at ``problem_offset``. ``torn`` tells whether that problem looks like
    an interrupted write (a truncatable tail) rather than impossible content.
    ``intact_after`` is set when a record with a bad crc is followed by an
    intact record: reordered sector writes of one batch can do that, but so
    can media corruption, so callers should say so loudly.
    """

    records: list[tuple[int, int, int]] = field(default_factory=list)
    end: int = 0
    problem: str | None = None
    problem_offset: int = 0
    torn: bool = True
    intact_after: bool = False

    @property
    def last_seq(self) -> int | None:
        return self.records[-1][0] if self.records else None


def _check_file_header(data: bytes) -> ScanResult | None:
    """None if the header is intact; otherwise the result describing why not."""
    if data[:FILE_HEADER_BYTES] == FILE_MAGIC:
        return None
    if len(data) < FILE_HEADER_BYTES and FILE_MAGIC.startswith(data):
        return ScanResult(problem=f"file header torn after {len(data)} bytes")
    if data[: len(FILE_MAGIC) - 1] == FILE_MAGIC[:-1]:
        version = data[len(FILE_MAGIC) - 1 : len(FILE_MAGIC)]
        return ScanResult(problem=f"unsupported WAL format version {version!r}", torn=False)
    if not data.strip(b"\0"):
        # Some file systems zero-fill a file whose size reached disk before its data.
        return ScanResult(problem="file is all zero bytes")
    return ScanResult(problem="bad file header (not a keeldb WAL file)", torn=False)


def scan_records(data: bytes, prev_seq: int) -> ScanResult:
    """Walk ``data`` (a whole WAL file) and find its intact prefix of records.

    ``prev_seq`` is the last seq before this file (-1 if none); every record
    must have a larger seq than the one before it.
    """
    bad_header = _check_file_header(data)
    if bad_header is not None:
        return bad_header
    view = memoryview(data)
    result = ScanResult(end=FILE_HEADER_BYTES)
    offset = FILE_HEADER_BYTES
    while offset < len(data):
        remaining = len(data) - offset
        if remaining < RECORD_HEADER_BYTES:
            return _stop(result, offset, f"short record header ({remaining} bytes)")
        length, crc, seq = _RECORD_HEADER.unpack_from(data, offset)
        start = offset + RECORD_HEADER_BYTES
        if len(data) - start < length:
            have = len(data) - start
            return _stop(result, offset, f"short payload ({have} of {length} bytes)")
        seq_bytes = view[offset + 8 : offset + RECORD_HEADER_BYTES]
        actual = _record_crc(seq_bytes, view[start : start + length])
        if actual != crc:
            result.intact_after = _intact_record_at(data, start + length, seq)
            return _stop(result, offset, f"crc mismatch ({actual:#010x}, stored {crc:#010x})")
        if seq <= prev_seq:
            # A checksummed record cannot be half-written: this is not a torn tail.
            _stop(result, offset, f"seq {seq} does not follow seq {prev_seq}")
            result.torn = False
            return result
        result.records.append((seq, start, start + length))
        prev_seq = seq
        offset = start + length
        result.end = offset
    return result


def _intact_record_at(data: bytes, offset: int, after_seq: int) -> bool:
    if len(data) - offset < RECORD_HEADER_BYTES:
        return False
    length, crc, seq = _RECORD_HEADER.unpack_from(data, offset)
    start = offset + RECORD_HEADER_BYTES
    if seq <= after_seq or len(data) - start < length:
        return False
    return bool(_record_crc(data[offset + 8 : start], data[start : start + length]) == crc)


def _stop(result: ScanResult, offset: int, problem: str) -> ScanResult:
    result.problem = problem
    result.problem_offset = offset
    return result
