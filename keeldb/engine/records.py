"""Write-ahead-log records of one collection.

Payload layout (inside the WAL's own framing, which adds length, crc and seq):

    byte 0      record kind (1 = write rows, 2 = delete keys, 3 = drop partition)
    bytes 1..4  little-endian u32 length of a JSON header
    header      JSON: {"partition": int} for drop partition, {} otherwise
    rest        Arrow IPC stream of one table (write: scalar columns with the
                $partition column + one column per vector field; delete: "pk")

A vector column is a ``fixed_size_list<T, width>`` for the dense types, T
being the in-memory dtype of the field's column (float32 for FLOAT and
BFLOAT16, float16, int8, uint8 for packed BINARY), or a ``struct<indices:
list<uint32>, values: list<float32>>`` for SPARSE_FLOAT_VECTOR; decoding reads
the kind from the Arrow type, so records written before these types existed
(float32 lists only) decode unchanged.

A write replaces any live row with the same primary key (Milvus's insert and
upsert both end with exactly one live row per key), so replaying it is the same
operation as applying it the first time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa

from keeldb.errors import CorruptionError
from keeldb.sparse import SparseRows

KIND_WRITE = 1
KIND_DELETE = 2
KIND_DROP_PARTITION = 3
_HEADER = struct.Struct("<BI")


@dataclass(frozen=True)
class WriteRecord:
    table: pa.Table
    vectors: dict[str, np.ndarray | SparseRows]


@dataclass(frozen=True)
class DeleteRecord:
    keys: pa.Array


@dataclass(frozen=True)
class DropPartitionRecord:
    partition_id: int


Record = WriteRecord | DeleteRecord | DropPartitionRecord


def encode(record: Record) -> bytes:
    if isinstance(record, WriteRecord):
        table = record.table
        for name, vectors in record.vectors.items():
            table = table.append_column(name, _vector_array(vectors))
        return _pack(KIND_WRITE, {}, table)
    if isinstance(record, DeleteRecord):
        return _pack(KIND_DELETE, {}, pa.table({"pk": record.keys}))
    return _pack(KIND_DROP_PARTITION, {"partition": record.partition_id}, None)


def decode(payload: bytes, vector_fields: list[str]) -> Record:
    try:
        kind, header_len = _HEADER.unpack_from(payload, 0)
        start = _HEADER.size
        header = orjson.loads(payload[start : start + header_len])
        body = memoryview(payload)[start + header_len :]
        if kind == KIND_DROP_PARTITION:
            return DropPartitionRecord(header["partition"])
        table = pa.ipc.open_stream(pa.py_buffer(body)).read_all()
    except (struct.error, orjson.JSONDecodeError, pa.ArrowInvalid, KeyError) as exc:
        raise CorruptionError(f"undecodable write-ahead-log record: {exc}") from exc
    if kind == KIND_DELETE:
        return DeleteRecord(table.column("pk").combine_chunks())
    if kind != KIND_WRITE:
        raise CorruptionError(f"unknown write-ahead-log record kind {kind}")
    vectors = {}
    for name in vector_fields:
        vectors[name] = _vector_column(table.column(name).combine_chunks())
        table = table.drop_columns([name])
    return WriteRecord(table, vectors)


def _vector_array(vectors: np.ndarray | SparseRows) -> pa.Array:
    if isinstance(vectors, SparseRows):
        offsets = pa.array(vectors.indptr.astype(np.int32))
        return pa.StructArray.from_arrays(
            [
                pa.ListArray.from_arrays(offsets, pa.array(vectors.indices)),
                pa.ListArray.from_arrays(offsets, pa.array(vectors.values)),
            ],
            names=["indices", "values"],
        )
    flat = pa.array(vectors.reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])


def _vector_column(column: pa.Array) -> np.ndarray | SparseRows:
    if pa.types.is_struct(column.type):
        indices, values = column.field("indices"), column.field("values")
        return SparseRows(
            indices.offsets.to_numpy().astype(np.int64),
            indices.flatten().to_numpy(),
            values.flatten().to_numpy(),
        )
    dim = column.type.list_size
    return column.flatten().to_numpy().reshape(-1, dim)


def _pack(kind: int, header: dict, table: pa.Table | None) -> bytes:
    head = orjson.dumps(header)
    sink = pa.BufferOutputStream()
    if table is not None:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    return _HEADER.pack(kind, len(head)) + head + sink.getvalue().to_pybytes()
