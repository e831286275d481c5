"""What a reader sees: an immutable view of a collection at one sequence number.

A ``Snapshot`` is a tuple of ``SegmentView``s — sealed segments and the growing
segment alike — each carrying the arrays it had when the snapshot was taken.
Writers never mutate an array a view holds: deletes replace a segment's
``alive`` bitmap with a new array (copy on write) and appends to the growing
segment only touch rows past the view's ``num_rows``. So a reader needs no lock
once it holds a snapshot, and compaction never changes what it sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from keeldb.index import VectorIndex
from keeldb.query.pk_index import PkIndex, key_array
from keeldb.query.scalar_index import ScalarIndex
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.field import PARTITION_COLUMN


@dataclass(frozen=True)
class SegmentView:
    segment_id: int
    table: pa.Table
    vectors: Mapping[str, np.ndarray]
    alive: np.ndarray
    indexes: Mapping[str, VectorIndex] = field(default_factory=dict)
    pk_index: PkIndex | None = None
    stats: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    partitions: frozenset[int] | None = None
    live_rows: int = -1
    #: primary keys as a numpy array (int64 or str), when the segment keeps one
    pk_keys: np.ndarray | None = None
    #: scalar indexes of a sealed segment, by column name
    scalar_indexes: Mapping[str, ScalarIndex] = field(default_factory=dict)
    #: identifies a sealed segment's immutable data in the JSON parse cache (0: growing)
    cache_token: int = 0
    #: the table's row count, read once (pyarrow's property is slow on hot paths)
    num_rows: int = -1

    def __post_init__(self) -> None:
        if self.num_rows < 0:
            object.__setattr__(self, "num_rows", self.table.num_rows)

    def keys(self, pk_name: str) -> np.ndarray:
        """All primary keys of the segment, by local id (cached per view)."""
        if self.pk_keys is None:
            object.__setattr__(self, "pk_keys", key_array(self.table.column(pk_name)))
        return self.pk_keys  # type: ignore[return-value]

    @property
    def all_alive(self) -> bool:
        return self.live_rows == self.num_rows

    def partition_mask(self, partition_ids: frozenset[int] | None) -> np.ndarray | None:
        """Rows in the given partitions, or None when every row qualifies."""
        if partition_ids is None:
            return None
        if self.partitions is not None and self.partitions <= partition_ids:
            return None
        column = self.table.column(PARTITION_COLUMN).to_numpy()
        return np.isin(column, np.fromiter(partition_ids, dtype=np.int32))

    def skips_partitions(self, partition_ids: frozenset[int] | None) -> bool:
        return (
            partition_ids is not None
            and self.partitions is not None
            and not (self.partitions & partition_ids)
        )


@dataclass(frozen=True)
class Snapshot:
    schema: CollectionSchema
    segments: tuple[SegmentView, ...]
    seq: int

    @property
    def live_rows(self) -> int:
        return sum(s.live_rows for s in self.segments)
