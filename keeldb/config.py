"""Settings of an open data directory.

``sync_mode`` decides when a write is acknowledged (see keeldb.storage.wal):
"fsync" (default) after its log record is on disk — nothing acknowledged is
lost, even on power failure; "flush" after the record is handed to the OS —
survives a killed process, not a power failure; "none" buffered in-process and
written every ~50 ms — a killed process can lose the last moments of writes.
"""

from __future__ import annotations

from dataclasses import dataclass

SYNC_MODES = ("fsync", "flush", "none")


@dataclass(frozen=True)
class Settings:
    sync_mode: str = "fsync"
    #: the growing segment is sealed into a segment file past this many rows...
    memtable_max_rows: int = 100_000
    #: ...or past this many bytes of vectors
    memtable_max_vector_bytes: int = 128 << 20
    #: sealed segments smaller than this are searched exactly, without an index
    index_min_rows: int = 1_000
    #: compaction merges segments smaller than this, or with this share deleted
    compaction_small_rows: int = 50_000
    compaction_deleted_ratio: float = 0.2
    #: build vector indexes in a background thread (False: build inline, for tests)
    background_index_build: bool = True

    def __post_init__(self) -> None:
        if self.sync_mode not in SYNC_MODES:
            from keeldb.errors import InvalidArgument

            raise InvalidArgument(
                f"sync_mode {self.sync_mode!r} is not one of {', '.join(SYNC_MODES)}"
            )
