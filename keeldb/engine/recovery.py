"""Opening a collection: committed manifest → segments → WAL replay.

1. Read ``MANIFEST.json`` (checksum verified; absent means a new collection).
2. Load each segment it names, verifying every file's size and crc32.
3. Remove what the manifest does not reference: segment directories and files
   left by a flush or compaction that crashed before its manifest commit.
4. Replay the WAL records after ``flushed_seq`` through ``Collection.apply`` —
   the same code that applied them the first time. A torn tail is cut off by the
   WAL; corruption anywhere else is reported, never skipped silently.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from keeldb.config import Settings
from keeldb.engine import records
from keeldb.engine.catalog import IndexSpec
from keeldb.engine.collection import MANIFEST, Collection
from keeldb.engine.segment_files import load_segment, referenced_files
from keeldb.engine.segments import Memtable
from keeldb.schema.collection import CollectionSchema
from keeldb.storage import FileSystem, WriteAheadLog, read_checked_json


def open_collection(
    root: str,
    schema: CollectionSchema,
    fs: FileSystem,
    settings: Settings,
    index_specs: dict[str, IndexSpec],
    on_new_segment: Callable[[Collection, int], None],
) -> Collection:
    fs.makedirs(root)
    coll = Collection(root, schema, fs, settings, dict(index_specs), on_new_segment)
    manifest = read_checked_json(fs, posixpath.join(root, MANIFEST))
    segment_metas = []
    if manifest is not None:
        coll.generation = manifest["generation"]
        coll.flushed_seq = manifest["flushed_seq"]
        coll.next_segment_id = manifest["next_segment_id"]
        segment_metas = manifest["segments"]
        coll.sealed = [load_segment(fs, root, meta, schema) for meta in segment_metas]
    _remove_unreferenced(fs, root, segment_metas)
    coll.memtable = Memtable(coll.next_segment_id, schema)
    coll.next_segment_id += 1
    coll.applied_seq = coll.flushed_seq
    _observe_ids(coll)
    wal = WriteAheadLog.open(fs, posixpath.join(root, "wal"), sync_mode=settings.sync_mode)
    vector_names = [f.name for f in schema.vector_fields]
    for seq, payload in wal.replay(after_seq=coll.flushed_seq):
        coll.apply(seq, records.decode(payload, vector_names))
    coll.wal = wal
    for seg in coll.sealed:
        on_new_segment(coll, seg.segment_id)
    return coll


def _remove_unreferenced(fs: FileSystem, root: str, segment_metas: list[dict]) -> None:
    segments_root = posixpath.join(root, "segments")
    if not fs.exists(segments_root):
        return
    keep = {str(meta["id"]): referenced_files(meta) for meta in segment_metas}
    for name in fs.listdir(segments_root):
        directory = posixpath.join(segments_root, name)
        if name not in keep:
            fs.remove_tree(directory)
            continue
        for file_name in fs.listdir(directory):
            if file_name not in keep[name]:
                fs.remove(posixpath.join(directory, file_name))


def _observe_ids(coll: Collection) -> None:
    pk = coll.schema.primary_field
    if not pk.auto_id:
        return
    for seg in coll.sealed:
        column = seg.table.column(pk.name)
        if len(column) and pa.types.is_integer(column.type):
            coll.ids.observe(pc.max(column).as_py())
