"""Sealed segments on disk.

Each segment is a directory ``segments/<segment id>/`` holding:

    data.parquet          scalar columns + $meta + $seq + $partition
    vec-<field>.npy       float32 (rows, dim), one per vector field
    alive-<gen>.npy       packed bits of the alive bitmap as of manifest
                          generation <gen> (absent while every row is alive)
    index-<field>-<gen>.bin   a serialized vector index

Every file is referenced from the collection manifest with its size and crc32;
a file that does not match is reported as corruption, never read as data. Files
not referenced by the committed manifest are garbage from an interrupted flush
or compaction and are removed on open.
"""

from __future__ import annotations

import posixpath
from typing import Any

import numpy as np

from keeldb.engine.segments import SealedSegment
from keeldb.engine.vector_files import read_vector_file, write_vector_file
from keeldb.errors import CorruptionError
from keeldb.index.field_index import load_field_index
from keeldb.schema.collection import CollectionSchema
from keeldb.storage import (
    FileRef,
    FileSystem,
    read_array,
    read_blob,
    read_table,
    write_array,
    write_blob,
    write_table,
)


def segment_dir(root: str, segment_id: int) -> str:
    return posixpath.join(root, "segments", str(segment_id))


def save_segment_data(
    fs: FileSystem, root: str, seg: SealedSegment, schema: CollectionSchema
) -> None:
    directory = segment_dir(root, seg.segment_id)
    fs.makedirs(directory)
    seg.files = {"data": write_table(fs, directory, "data.parquet", seg.table)}
    for field in schema.vector_fields:
        seg.files[f"vec:{field.name}"] = write_vector_file(
            fs, directory, field, seg.vectors[field.name]
        )
    fs.fsync_dir(directory)


def save_alive(fs: FileSystem, root: str, seg: SealedSegment, generation: int) -> None:
    """Persist the alive bitmap if it changed since the last manifest."""
    if not seg.alive_dirty:
        return
    directory = segment_dir(root, seg.segment_id)
    seg.alive_ref = write_array(fs, directory, f"alive-{generation}.npy", np.packbits(seg.alive))
    seg.alive_dirty = False


def save_index(
    fs: FileSystem,
    root: str,
    seg: SealedSegment,
    field: str,
    blob: bytes,
    meta: dict[str, Any],
    generation: int,
) -> dict[str, Any]:
    directory = segment_dir(root, seg.segment_id)
    ref = write_blob(fs, directory, f"index-{field}-{generation}.bin", blob)
    return {**meta, "file": ref.to_dict()}


def segment_to_json(seg: SealedSegment) -> dict[str, Any]:
    return {
        "id": seg.segment_id,
        "rows": seg.num_rows,
        "max_seq": seg.max_seq,
        "files": {k: ref.to_dict() for k, ref in seg.files.items()},
        "alive": seg.alive_ref.to_dict() if seg.alive_ref else None,
        "indexes": seg.index_files,
    }


def load_segment(
    fs: FileSystem, root: str, meta: dict[str, Any], schema: CollectionSchema
) -> SealedSegment:
    directory = segment_dir(root, meta["id"])
    files = {k: FileRef.from_dict(v) for k, v in meta["files"].items()}
    table = read_table(fs, directory, files["data"])
    if table.num_rows != meta["rows"]:
        raise CorruptionError(
            f"segment {meta['id']}: data.parquet has {table.num_rows} rows, "
            f"manifest says {meta['rows']}"
        )
    vectors = {
        f.name: read_vector_file(fs, directory, f, files[f"vec:{f.name}"])
        for f in schema.vector_fields
    }
    alive = np.ones(table.num_rows, dtype=bool)
    alive_ref = FileRef.from_dict(meta["alive"]) if meta.get("alive") else None
    if alive_ref is not None:
        packed = read_array(fs, directory, alive_ref)
        alive = np.unpackbits(packed, count=table.num_rows).astype(bool)
    seg = SealedSegment(
        segment_id=meta["id"],
        table=table,
        vectors=vectors,
        alive=alive,
        pk_name=schema.primary_field.name,
        max_seq=meta["max_seq"],
    )
    seg.files = files
    seg.alive_ref = alive_ref
    seg.alive_dirty = False
    for field, info in meta.get("indexes", {}).items():
        blob = read_blob(fs, directory, FileRef.from_dict(info["file"]))
        vector_field = schema.field(field)
        seg.set_index(
            field,
            load_field_index(
                vector_field.dtype,
                info["index_type"],
                info["metric_type"],
                vector_field.dim or 0,
                info["params"],
                blob,
            ),
        )
        seg.index_files[field] = info
    return seg


def referenced_files(seg_json: dict[str, Any]) -> set[str]:
    names = {ref["name"] for ref in seg_json["files"].values()}
    if seg_json.get("alive"):
        names.add(seg_json["alive"]["name"])
    names.update(info["file"]["name"] for info in seg_json.get("indexes", {}).values())
    return names
