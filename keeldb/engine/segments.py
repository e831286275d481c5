"""In-memory segments: the growing one (``Memtable``) and sealed ones.

Invariants:
- local ids are row positions, fixed for the segment's life; a sealed segment
  made from a memtable keeps the memtable's local ids, so locations stay valid
  across a flush;
- ``alive`` is replaced, never mutated in place, for rows a view can see
  (copy on write), so snapshots taken earlier keep their bitmap;
- the memtable only appends: rows past a view's ``num_rows`` are invisible to it.

Both kinds hand readers a ``SegmentView`` (cached until the segment changes).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from keeldb.caches import forget_segment, new_token
from keeldb.index import VectorIndex
from keeldb.query.pk_index import PkIndex, key_array
from keeldb.query.scalar_index import ScalarIndex, value_family
from keeldb.query.snapshot import SegmentView
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.field import PARTITION_COLUMN
from keeldb.schema.vector_values import empty_column
from keeldb.sparse import SparseRows
from keeldb.storage import FileRef
from keeldb.types import DataType

_STATS_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_string)


class Memtable:
    """The growing segment: append-only columns plus a key → local id map."""

    def __init__(self, segment_id: int, schema: CollectionSchema) -> None:
        self.segment_id = segment_id
        self.schema = schema
        self._arrow_schema = schema.arrow_schema()
        self._pk = schema.primary_field.name
        self._batches: list[pa.RecordBatch] = []
        # dense columns: over-allocated buffers; sparse ones: appended parts, joined on read
        self._vectors: dict[str, np.ndarray] = {
            f.name: empty_column(f)  # type: ignore[misc]
            for f in schema.vector_fields
            if f.dtype != DataType.SPARSE_FLOAT_VECTOR
        }
        self._sparse: dict[str, list[SparseRows]] = {
            f.name: [] for f in schema.vector_fields if f.dtype == DataType.SPARSE_FLOAT_VECTOR
        }
        self._alive = np.empty(0, dtype=bool)
        self.num_rows = 0
        self.live_rows = 0
        self.max_seq = -1
        self.live_keys: dict[Any, int] = {}
        self.partitions: set[int] = set()
        self._view: SegmentView | None = None

    def append(self, table: pa.Table, vectors: dict[str, Any], seq: int) -> None:
        n = table.num_rows
        start = self.num_rows
        self._reserve(start + n)
        for name, block in vectors.items():
            if isinstance(block, SparseRows):
                self._sparse[name].append(block)
            else:
                self._vectors[name][start : start + n] = block
        self._alive[start : start + n] = True
        table = table.select(self._arrow_schema.names).cast(self._arrow_schema)
        self._batches.extend(table.to_batches())
        keys = table.column(self._pk).to_pylist()
        self.live_keys.update(zip(keys, range(start, start + n)))
        self.partitions.update(pc.unique(table.column(PARTITION_COLUMN)).to_pylist())
        self.num_rows += n
        self.live_rows += n
        self.max_seq = seq
        self._view = None

    def _reserve(self, rows: int) -> None:
        capacity = len(self._alive)
        if rows <= capacity:
            return
        new_capacity = max(rows, capacity * 2, 1024)
        for name, buf in self._vectors.items():
            grown = np.empty((new_capacity, buf.shape[1]), buf.dtype)
            grown[: self.num_rows] = buf[: self.num_rows]
            self._vectors[name] = grown
        alive = np.zeros(new_capacity, dtype=bool)
        alive[: self.num_rows] = self._alive[: self.num_rows]
        self._alive = alive

    def vector_bytes(self) -> int:
        """Bytes the rows' vectors take (the flush threshold counts them)."""
        dense = sum(self.num_rows * buf.itemsize * buf.shape[1] for buf in self._vectors.values())
        return dense + sum(p.nbytes for parts in self._sparse.values() for p in parts)

    def kill(self, local_ids: np.ndarray) -> int:
        """Mark rows deleted (copy on write); returns how many were alive."""
        local_ids = np.unique(local_ids)
        local_ids = local_ids[self._alive[local_ids]]
        if len(local_ids) == 0:
            return 0
        alive = self._alive.copy()
        alive[local_ids] = False
        self._alive = alive
        self.live_rows -= len(local_ids)
        self._view = None
        return len(local_ids)

    def table(self) -> pa.Table:
        return pa.Table.from_batches(self._batches, schema=self._arrow_schema)

    def _vector_columns(self) -> dict[str, Any]:
        n = self.num_rows
        columns: dict[str, Any] = {k: v[:n] for k, v in self._vectors.items()}
        for name, parts in self._sparse.items():
            if len(parts) != 1:
                # joined once; later appends add parts after it
                self._sparse[name] = parts = [SparseRows.concat(parts)]
            columns[name] = parts[0]
        return columns

    def view(self) -> SegmentView:
        if self._view is None:
            n = self.num_rows
            self._view = SegmentView(
                segment_id=self.segment_id,
                table=self.table(),
                vectors=self._vector_columns(),
                alive=self._alive[:n],
                partitions=frozenset(self.partitions),
                live_rows=self.live_rows,
            )
        return self._view

    def seal(self) -> SealedSegment:
        n = self.num_rows
        return SealedSegment(
            segment_id=self.segment_id,
            table=self.table().combine_chunks(),
            vectors={
                k: v.copy() if isinstance(v, np.ndarray) else v
                for k, v in self._vector_columns().items()
            },
            alive=self._alive[:n].copy(),
            pk_name=self._pk,
            max_seq=self.max_seq,
        )


class SealedSegment:
    """An immutable segment's data; only its ``alive`` bitmap and indexes change."""

    def __init__(
        self,
        segment_id: int,
        table: pa.Table,
        vectors: dict[str, Any],
        alive: np.ndarray,
        pk_name: str,
        max_seq: int,
    ) -> None:
        self.segment_id = segment_id
        self.table = table
        self.vectors = vectors
        self.alive = alive
        self.max_seq = max_seq
        self.live_rows = int(alive.sum())
        self.pk_index = PkIndex(key_array(table.column(pk_name)))
        self.stats = column_stats(table)
        self.partitions = frozenset(pc.unique(table.column(PARTITION_COLUMN)).to_pylist())
        self.indexes: dict[str, VectorIndex] = {}
        self.scalar_indexes: dict[str, ScalarIndex] = {}
        self.cache_token = new_token()
        weakref.finalize(self, forget_segment, self.cache_token)
        self.files: dict[str, FileRef] = {}
        self.index_files: dict[str, dict[str, Any]] = {}
        self.alive_ref: FileRef | None = None
        self.alive_dirty = self.live_rows != table.num_rows
        self._view: SegmentView | None = None

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def kill(self, local_ids: np.ndarray) -> int:
        local_ids = np.unique(local_ids)
        local_ids = local_ids[self.alive[local_ids]]
        if len(local_ids) == 0:
            return 0
        alive = self.alive.copy()
        alive[local_ids] = False
        self.alive = alive
        self.live_rows -= len(local_ids)
        self.alive_dirty = True
        self._view = None
        return len(local_ids)

    def set_index(self, field: str, index: VectorIndex | None) -> None:
        if index is None:
            self.indexes.pop(field, None)
        else:
            self.indexes[field] = index
        self._view = None

    def build_scalar_indexes(self, index_types: Mapping[str, str]) -> dict[str, ScalarIndex]:
        """The scalar indexes asked for (field -> index type), reusing built ones.

        Pure: nothing on the segment changes (install the result with
        :meth:`install_scalar_indexes`), so it may run outside the collection
        lock. Fields whose type has no scalar index (JSON, ARRAY) are skipped.
        """
        built: dict[str, ScalarIndex] = {}
        schema = self.table.schema
        for name, index_type in index_types.items():
            old = self.scalar_indexes.get(name)
            if old is not None and old.index_type == index_type:
                built[name] = old
            elif name in schema.names and value_family(schema.field(name).type):
                built[name] = ScalarIndex.build(self.table.column(name), index_type)
        return built

    def install_scalar_indexes(self, indexes: dict[str, ScalarIndex]) -> None:
        if indexes != self.scalar_indexes:
            self.scalar_indexes = indexes  # replaced, never mutated: views keep theirs
            self._view = None

    def view(self) -> SegmentView:
        if self._view is None:
            self._view = SegmentView(
                segment_id=self.segment_id,
                table=self.table,
                vectors=self.vectors,
                alive=self.alive,
                indexes=dict(self.indexes),
                pk_index=self.pk_index,
                pk_keys=self.pk_index.keys,
                stats=self.stats,
                partitions=self.partitions,
                live_rows=self.live_rows,
                scalar_indexes=self.scalar_indexes,
                cache_token=self.cache_token,
            )
        return self._view

    def memory_bytes(self) -> int:
        vectors = sum(v.nbytes for v in self.vectors.values())
        indexes = sum(i.memory_bytes() for i in self.indexes.values())
        scalar = sum(i.memory_bytes() for i in self.scalar_indexes.values())
        return int(self.table.nbytes + vectors + indexes + scalar + self.pk_index.memory_bytes())


def column_stats(table: pa.Table) -> dict[str, tuple[Any, Any]]:
    """Min and max of each numeric or string column, for segment skipping."""
    stats: dict[str, tuple[Any, Any]] = {}
    for name in table.column_names:
        column = table.column(name)
        if name.startswith("$") or not any(check(column.type) for check in _STATS_TYPES):
            continue
        result = pc.min_max(column)
        low, high = result["min"].as_py(), result["max"].as_py()
        if low is not None:
            stats[name] = (low, high)
    return stats
