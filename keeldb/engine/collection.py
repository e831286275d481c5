"""One collection's data: the write path, snapshots, flush and compaction.

Write path: validate (caller) → encode the log record (outside the lock) →
under the collection lock: assign the next seq, append to the WAL, apply to the
memtable → release the lock → wait until the record is durable → acknowledge.
Appending and applying under one lock keeps WAL order == apply order; waiting
outside it lets concurrent writers share one fsync (group commit).

Every write kills the live row of each key it carries before appending, so there
is at most one live row per primary key (insert and upsert both replace, as
Milvus Lite does). Replaying a record goes through the same ``_apply`` code.

On-disk layout of ``collections/<id>/``: ``MANIFEST.json`` (checked JSON: the
segments with their file references, ``flushed_seq``, ``generation``,
``next_segment_id``), ``wal/`` and ``segments/<id>/`` (see segment_files).
Everything with seq ≤ ``flushed_seq`` is in segment files; recovery replays the
WAL after it.
"""

from __future__ import annotations

import logging
import posixpath
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from keeldb.config import Settings
from keeldb.engine import records
from keeldb.engine.catalog import IndexSpec
from keeldb.engine.ids import IdAllocator
from keeldb.engine.query_sample import MIN_FOR_TUNING, QuerySample
from keeldb.engine.segment_files import save_alive, save_segment_data, segment_dir, segment_to_json
from keeldb.engine.segments import Memtable, SealedSegment
from keeldb.errors import ClosedError
from keeldb.expr import CompiledFilter
from keeldb.index.tuning_params import resolve_build
from keeldb.query.output import resolve_output_fields
from keeldb.query.pk_index import key_array
from keeldb.query.retrieve import QueryRequest, matching_keys
from keeldb.query.snapshot import Snapshot
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.field import PARTITION_COLUMN, SEQ_COLUMN
from keeldb.schema.values import RowBatch
from keeldb.schema.vector_values import concat_columns
from keeldb.storage import FileSystem, WriteAheadLog, write_checked_json

log = logging.getLogger(__name__)
MANIFEST = "MANIFEST.json"
MANIFEST_FORMAT = 1


class Collection:
    def __init__(
        self,
        root: str,
        schema: CollectionSchema,
        fs: FileSystem,
        settings: Settings,
        index_specs: dict[str, IndexSpec],
        on_new_segment: Callable[[Collection, int], None],
    ) -> None:
        self.root = root
        self.schema = schema
        self.fs = fs
        self.settings = settings
        self.index_specs = index_specs
        #: scalar fields with an index spec -> index type (indexes are built in memory)
        self.scalar_index_types: dict[str, str] = {}
        self._on_new_segment = on_new_segment
        self._lock = threading.RLock()
        self._pk = schema.primary_field.name
        self._vector_names = [f.name for f in schema.vector_fields]
        self.ids = IdAllocator()
        self.sealed: list[SealedSegment] = []
        self.memtable = Memtable(0, schema)
        self.applied_seq = 0
        self.flushed_seq = 0
        self.generation = 0
        self.next_segment_id = 1
        self.wal: WriteAheadLog | None = None
        self.closed = False
        #: recent query vectors per dense vector field, to tune indexes on
        self.query_samples: dict[str, QuerySample] = {}

    # -- writes ---------------------------------------------------------------
    def write(self, batch: RowBatch, partition: int | np.ndarray) -> None:
        """Write rows; ``partition`` is one partition id or one per row."""
        n = batch.num_rows
        ids = np.full(n, partition, np.int32) if np.isscalar(partition) else partition
        table = batch.table.append_column(PARTITION_COLUMN, pa.array(ids, type=pa.int32()))
        payload = records.encode(records.WriteRecord(table, batch.vectors))
        with self._lock:
            wal = self._open_wal()
            seq = self.applied_seq + 1
            ticket = wal.append(seq, payload)
            self._apply_write(seq, table, batch.vectors)
            if self._memtable_full():
                self._flush_locked()
        wal.wait_durable(ticket)

    def delete_keys(self, keys: Sequence[Any]) -> int:
        with self._lock:
            count, ticket = self._delete_locked(keys)
            wal = self._open_wal()
        if ticket is not None:
            wal.wait_durable(ticket)
        return count

    def delete_matching(
        self,
        row_filter: CompiledFilter | None,
        partition_ids: frozenset[int] | None,
        pk_values: Sequence[Any] | None = None,
    ) -> int:
        """Delete the rows matching now, atomically with respect to writers."""
        with self._lock:
            request = QueryRequest(
                output=resolve_output_fields(self.schema, [], include_pk=True),
                filter=row_filter,
                pk_values=pk_values,
                partition_ids=partition_ids,
            )
            keys = matching_keys(self._snapshot_locked(), request)
            count, ticket = self._delete_locked(keys)
            wal = self._open_wal()
        if ticket is not None:
            wal.wait_durable(ticket)
        return count

    def drop_partition_rows(self, partition_id: int) -> None:
        payload = records.encode(records.DropPartitionRecord(partition_id))
        with self._lock:
            wal = self._open_wal()
            seq = self.applied_seq + 1
            ticket = wal.append(seq, payload)
            self._apply_drop_partition(seq, partition_id)
        wal.wait_durable(ticket)

    def _delete_locked(self, keys: Sequence[Any]) -> tuple[int, int | None]:
        if len(keys) == 0:
            return 0, None
        wal = self._open_wal()
        key_values = pa.array(list(keys), type=self.schema.primary_field.arrow_type())
        payload = records.encode(records.DeleteRecord(key_values))
        seq = self.applied_seq + 1
        ticket = wal.append(seq, payload)
        count = self._kill_keys(key_values.to_pylist())
        self.applied_seq = seq
        return count, ticket

    # -- applying records (also used by recovery) ------------------------------
    def apply(self, seq: int, record: records.Record) -> None:
        if seq <= self.applied_seq:
            return  # already applied: replay is idempotent
        if isinstance(record, records.WriteRecord):
            self._apply_write(seq, record.table, record.vectors)
        elif isinstance(record, records.DeleteRecord):
            self._kill_keys(record.keys.to_pylist())
            self.applied_seq = seq
        else:
            self._apply_drop_partition(seq, record.partition_id)

    def _apply_write(self, seq: int, table: pa.Table, vectors: dict[str, Any]) -> None:
        keys = table.column(self._pk)
        self._kill_keys(keys.to_pylist())
        table = table.append_column(SEQ_COLUMN, pa.array(np.full(table.num_rows, seq, np.int64)))
        self.memtable.append(table, vectors, seq)
        if self.schema.primary_field.auto_id and pa.types.is_integer(keys.type):
            self.ids.observe(pc.max(keys).as_py())
        self.applied_seq = seq

    def _kill_keys(self, keys: list[Any]) -> int:
        count = 0
        live = self.memtable.live_keys
        local = [live.pop(k) for k in keys if k in live]
        if local:
            count += self.memtable.kill(np.asarray(local, dtype=np.int64))
        if not self.sealed:
            return count
        arr = key_array(keys)
        low, high = arr.min(), arr.max()
        for seg in self.sealed:
            bounds = seg.stats.get(self._pk)
            if seg.live_rows == 0 or (bounds and (high < bounds[0] or low > bounds[1])):
                continue
            _, rows = seg.pk_index.find(arr)
            if len(rows):
                count += seg.kill(rows)
        return count

    def _apply_drop_partition(self, seq: int, partition_id: int) -> None:
        mt = self.memtable
        if mt.num_rows:
            table = mt.table()
            hit = pc.equal(table.column(PARTITION_COLUMN), partition_id).to_numpy(False)
            local = np.nonzero(hit & mt.view().alive)[0]
            for key in table.column(self._pk).take(local).to_pylist():
                mt.live_keys.pop(key, None)
            mt.kill(local)
        for seg in self.sealed:
            hit = pc.equal(seg.table.column(PARTITION_COLUMN), partition_id).to_numpy(False)
            seg.kill(np.nonzero(hit)[0])
        self.applied_seq = seq

    # -- reads ----------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot_locked()

    def _snapshot_locked(self) -> Snapshot:
        if self.closed:
            raise ClosedError("the collection is closed")
        views = [seg.view() for seg in self.sealed]
        if self.memtable.num_rows:  # an empty memtable has nothing to read
            views.append(self.memtable.view())
        return Snapshot(self.schema, tuple(views), self.applied_seq)

    # -- flush and compaction -------------------------------------------------
    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _memtable_full(self) -> bool:
        mt = self.memtable
        vector_bytes = mt.vector_bytes()
        return (
            mt.num_rows >= self.settings.memtable_max_rows
            or vector_bytes >= self.settings.memtable_max_vector_bytes
        )

    def _flush_locked(self) -> None:
        mt = self.memtable
        dirty = any(seg.alive_dirty for seg in self.sealed)
        if mt.num_rows == 0 and not dirty and self.flushed_seq == self.applied_seq:
            return
        wal = self._open_wal()
        new_segments = []
        if mt.num_rows:
            if mt.live_rows:
                seg = mt.seal()
                seg.install_scalar_indexes(seg.build_scalar_indexes(self.scalar_index_types))
                save_segment_data(self.fs, self.root, seg, self.schema)
                self.sealed.append(seg)
                new_segments.append(seg)
            self.memtable = Memtable(self.next_segment_id, self.schema)
            self.next_segment_id += 1
        wal.rotate()
        self._commit_manifest(flushed_seq=self.applied_seq)
        wal.drop_through(self.flushed_seq)
        for seg in new_segments:
            self._on_new_segment(self, seg.segment_id)

    def compact(self) -> int:
        """Merge small or delete-heavy segments, purging deleted rows.

        Returns the number of segments rewritten. Readers holding snapshots keep
        the old segments in memory; their files are removed after the commit.
        """
        with self._lock:
            self._flush_locked()
            s = self.settings
            picked = [
                seg
                for seg in self.sealed
                if seg.num_rows < s.compaction_small_rows
                or seg.live_rows < seg.num_rows * (1 - s.compaction_deleted_ratio)
            ]
            if not picked or (len(picked) == 1 and picked[0].live_rows == picked[0].num_rows):
                return 0
            merged = self._merge(picked)
            survivors = [seg for seg in self.sealed if seg not in picked]
            self.sealed = survivors + ([merged] if merged is not None else [])
            self._commit_manifest(flushed_seq=self.flushed_seq)
            for seg in picked:
                self.fs.remove_tree(segment_dir(self.root, seg.segment_id))
            if merged is not None:
                self._on_new_segment(self, merged.segment_id)
            return len(picked)

    def _merge(self, picked: list[SealedSegment]) -> SealedSegment | None:
        tables = [seg.table.filter(pa.array(seg.alive)) for seg in picked]
        if sum(t.num_rows for t in tables) == 0:
            return None
        vectors = {
            name: concat_columns([seg.vectors[name][seg.alive] for seg in picked])
            for name in self._vector_names
        }
        table = pa.concat_tables(tables).combine_chunks()
        merged = SealedSegment(
            segment_id=self.next_segment_id,
            table=table,
            vectors=vectors,
            alive=np.ones(table.num_rows, dtype=bool),
            pk_name=self._pk,
            max_seq=max(seg.max_seq for seg in picked),
        )
        self.next_segment_id += 1
        save_segment_data(self.fs, self.root, merged, self.schema)
        merged.install_scalar_indexes(merged.build_scalar_indexes(self.scalar_index_types))
        return merged

    def _commit_manifest(self, *, flushed_seq: int) -> None:
        self.generation += 1
        for seg in self.sealed:
            save_alive(self.fs, self.root, seg, self.generation)
        body = {
            "format": MANIFEST_FORMAT,
            "generation": self.generation,
            "flushed_seq": flushed_seq,
            "next_segment_id": self.next_segment_id,
            "segments": [segment_to_json(seg) for seg in self.sealed],
        }
        write_checked_json(self.fs, posixpath.join(self.root, MANIFEST), body)
        self.flushed_seq = flushed_seq

    # -- indexes ----------------------------------------------------------------
    def segment_for_index(
        self, segment_id: int, field: str
    ) -> tuple[SealedSegment, IndexSpec] | None:
        with self._lock:
            spec = self.index_specs.get(field)
            seg = next((s for s in self.sealed if s.segment_id == segment_id), None)
            if spec is None or seg is None or seg.num_rows < self.settings.index_min_rows:
                return None
            info = seg.index_files.get(field)
            if info is not None and _same_spec(info, spec):
                return None
            return seg, spec

    def install_index(
        self, segment_id: int, field: str, spec: IndexSpec, index: Any, ref: Any
    ) -> bool:
        """Swap a freshly built index in; False when it went stale meanwhile.

        Stale: the segment is gone, or the field's spec now builds something else
        (a tuning result that only changes search params does not make it stale).
        """
        with self._lock:
            seg = next((s for s in self.sealed if s.segment_id == segment_id), None)
            current = self.index_specs.get(field)
            if seg is None or current is None or self.closed:
                return False
            built_type, built_params = built_config(spec)
            if built_config(current) != (built_type, built_params):
                return False
            old = seg.index_files.get(field)
            seg.index_files[field] = {
                "index_type": built_type,
                "metric_type": spec.metric_type,
                "params": built_params,
                "file": ref.to_dict(),
            }
            seg.set_index(field, index)
            self._commit_manifest(flushed_seq=self.flushed_seq)
            if old is not None and old["file"]["name"] != ref.name:
                self.fs.remove(
                    posixpath.join(segment_dir(self.root, segment_id), old["file"]["name"])
                )
            return True

    def set_index_spec(
        self, field: str, spec: IndexSpec | None, *, keep_serving: bool = False
    ) -> list[int]:
        """Change a vector field's index; returns the segments needing a build.

        With ``keep_serving`` (a tuning result changed the build) segments keep
        serving their current index until its replacement is installed.
        """
        with self._lock:
            if spec is None:
                self.index_specs.pop(field, None)
            else:
                self.index_specs[field] = spec
            changed = False
            for seg in self.sealed:
                info = seg.index_files.get(field)
                stale = info is not None and (spec is None or not _same_spec(info, spec))
                if stale and not keep_serving:
                    seg.index_files.pop(field)
                    seg.set_index(field, None)
                    changed = True
            if changed:
                self._commit_manifest(flushed_seq=self.flushed_seq)
            return [seg.segment_id for seg in self.sealed]

    def record_queries(self, field: str, queries: Any) -> bool:
        """Offer a search's query vectors to ``field``'s sample (dense float fields
        only); True when the sample just became large enough to tune on."""
        sample = self.query_samples.get(field)
        if sample is None:
            if type(queries) is not np.ndarray or queries.dtype != np.float32:
                return False  # binary and sparse queries: tuning covers dense floats
            sample = self.query_samples.setdefault(field, QuerySample(queries.shape[1]))
        return sample.offer(queries)

    def recorded_queries(self, field: str) -> np.ndarray | None:
        """``field``'s recorded query vectors, when there are enough to tune on."""
        sample = self.query_samples.get(field)
        if sample is None or sample.count < MIN_FOR_TUNING:
            return None
        return sample.vectors()

    def tuning_segment(self, field: str) -> tuple[np.ndarray, Any, int] | None:
        """(vectors, its current index or None, row count) of the largest indexable segment."""
        with self._lock:
            spec = self.index_specs.get(field)
            candidates = [s for s in self.sealed if s.num_rows >= self.settings.index_min_rows]
            if spec is None or not candidates:
                return None
            seg = max(candidates, key=lambda s: s.num_rows)
            info = seg.index_files.get(field)
            index = seg.indexes.get(field) if info and _same_spec(info, spec) else None
            return seg.vectors[field], index, seg.num_rows

    def set_scalar_indexes(self, index_types: dict[str, str]) -> None:
        """Scalar fields to index (field -> index type); builds what sealed segments lack.

        Builds run outside the collection lock (segment tables are immutable);
        segments sealed meanwhile are built at seal time with the new types.
        """
        with self._lock:
            self.scalar_index_types = dict(index_types)
            segments = list(self.sealed)
        built = [(seg, seg.build_scalar_indexes(index_types)) for seg in segments]
        with self._lock:
            if self.scalar_index_types != index_types:
                return  # changed again meanwhile; that call installs its own
            for seg, indexes in built:
                seg.install_scalar_indexes(indexes)

    def index_progress(self, field: str) -> tuple[int, int]:
        """(indexed rows, total rows) of a vector field."""
        with self._lock:
            total = sum(s.live_rows for s in self.sealed) + self.memtable.live_rows
            indexed = (
                sum(
                    s.live_rows
                    for s in self.sealed
                    if field in s.indexes or s.num_rows < self.settings.index_min_rows
                )
                + self.memtable.live_rows
            )
            return indexed, total

    # -- lifecycle --------------------------------------------------------------
    def _open_wal(self) -> WriteAheadLog:
        if self.closed or self.wal is None:
            raise ClosedError("the collection is closed")
        return self.wal

    def close(self, *, flush: bool = True) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                if flush and self.wal is not None:
                    self._flush_locked()
            finally:
                self.closed = True
                if self.wal is not None:
                    self.wal.close()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "row_count": sum(s.live_rows for s in self.sealed) + self.memtable.live_rows,
                "segments": len(self.sealed),
                "growing_rows": self.memtable.num_rows,
            }


def built_config(spec: IndexSpec) -> tuple[str, dict[str, Any]]:
    """(index type, build params) a spec builds: its own, less recall targets and tuning
    results, or for a tuned AUTOINDEX the configuration tuning chose."""
    return resolve_build(spec.index_type, spec.params)


def _same_spec(info: dict[str, Any], spec: IndexSpec) -> bool:
    return (info["index_type"], info["params"]) == built_config(spec) and info[
        "metric_type"
    ] == spec.metric_type
