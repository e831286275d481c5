"""Vectors of every type on the Milvus wire: ``VectorField`` and search placeholders.

``schema_pb2.VectorField`` carries a column in one member per type:
``float_vector`` (float32 values), ``float16_vector`` / ``bfloat16_vector``
(little-endian halves, 2 bytes a dimension), ``int8_vector`` (1 byte a
dimension), ``binary_vector`` (dim / 8 packed bytes a row) and
``sparse_float_vector`` (``SparseFloatArray``: one ``bytes`` per row of
interleaved little-endian ``(uint32 index, float32 value)`` pairs, indices
ascending). pymilvus sends FLOAT16 / BFLOAT16 rows given as float lists in
``float_vector``, so both forms are read for those types.

A search ``PlaceholderValue`` holds one ``bytes`` per query vector in the same
per-row encodings; FloatVector placeholders are accepted for every dense type
(pymilvus sends them for float lists).

Decoded values are the forms ``keeldb.Client`` takes (see
``keeldb.schema.vector_values``), validated there; only the wire framing
(lengths, pair alignment) is checked here, as DataError / InvalidArgument.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymilvus.grpc_gen import common_pb2, schema_pb2

from keeldb.errors import DataError, InvalidArgument, Unimplemented
from keeldb.schema.field import FieldSchema
from keeldb.schema.vector_values import bf16_from_bits, bf16_to_bits
from keeldb.sparse import SparseRows
from keeldb.types import DataType

#: VectorField member per byte-stored type, and the numpy dtype of its bytes
_BYTE_MEMBERS = {
    DataType.FLOAT16_VECTOR: ("float16_vector", "<f2"),
    DataType.BFLOAT16_VECTOR: ("bfloat16_vector", "<u2"),
    DataType.INT8_VECTOR: ("int8_vector", "i1"),
    DataType.BINARY_VECTOR: ("binary_vector", "u1"),
}
_PAIR = np.dtype([("index", "<u4"), ("value", "<f4")])


# -- sparse rows ----------------------------------------------------------------------


def sparse_from_contents(contents: Any, what: str) -> SparseRows:
    """``SparseFloatArray.contents`` (bytes per row) as SparseRows, structure checked."""
    lengths = np.empty(len(contents), np.int64)
    pairs = []
    for i, raw in enumerate(contents):
        if len(raw) % 8:
            raise DataError(
                f"{what}, row {i}: invalid data length {len(raw)} in sparse float vector"
            )
        pairs.append(np.frombuffer(raw, dtype=_PAIR))
        lengths[i] = len(pairs[-1])
    joined = np.concatenate(pairs) if pairs else np.empty(0, _PAIR)
    indptr = np.zeros(len(contents) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    try:
        return SparseRows.from_parts(indptr, joined["index"], joined["value"])
    except ValueError as exc:
        raise DataError(
            f"{what}: {exc} (unsorted or repeated indices in sparse float vector)"
        ) from exc


def sparse_to_contents(rows: list[dict[int, float]]) -> list[bytes]:
    out = []
    for row in rows:
        pairs = np.empty(len(row), _PAIR)
        items = sorted(row.items())
        pairs["index"] = [i for i, _ in items]
        pairs["value"] = [v for _, v in items]
        out.append(pairs.tobytes())
    return out


# -- FieldData (insert / upsert) ----------------------------------------------------------


def decode_vector_field(field: FieldSchema, fd: schema_pb2.FieldData, num_rows: int) -> Any:
    """The column of vector ``field`` sent in ``fd`` (``num_rows`` rows)."""
    if fd.type != field.dtype:
        raise DataError(
            f"field '{field.name}' is {field.dtype.name} but the data sent is {_name(fd.type)}"
        )
    vectors = fd.vectors
    if field.dtype == DataType.SPARSE_FLOAT_VECTOR:
        return sparse_from_contents(vectors.sparse_float_vector.contents, f"field '{field.name}'")
    dim = field.dim or 0
    if vectors.dim and vectors.dim != dim:
        raise DataError(
            f"the dim ({vectors.dim}) of field data({field.name}) is not equal to schema "
            f"dim ({dim}): invalid parameter[expected={dim}][actual={vectors.dim}]"
        )
    if vectors.WhichOneof("data") == "float_vector" and field.dtype in (
        DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR,
    ):  # fmt: skip
        flat = np.asarray(vectors.float_vector.data, dtype=np.float32)
        return _rows(field, flat, dim, num_rows)
    member, dtype = _BYTE_MEMBERS[field.dtype]
    flat = np.frombuffer(getattr(vectors, member), dtype=dtype)
    width = dim // 8 if field.dtype == DataType.BINARY_VECTOR else dim
    matrix = _rows(field, flat, width, num_rows)
    if field.dtype == DataType.BFLOAT16_VECTOR:
        return bf16_from_bits(matrix)
    return matrix


def _rows(field: FieldSchema, flat: np.ndarray, width: int, num_rows: int) -> np.ndarray:
    if width <= 0 or flat.size != width * num_rows:
        unit = f"{flat.itemsize}-byte values" if flat.itemsize > 1 else "bytes"
        raise DataError(
            f"field '{field.name}': {flat.size} {unit} sent for {num_rows} rows of "
            f"{field.dtype.name} with dim {field.dim} ({width} a row)"
        )
    return flat.reshape(num_rows, width)


def encode_vector_field(fd: schema_pb2.FieldData, field: FieldSchema, values: list[Any]) -> None:
    """Fill ``fd.vectors`` with result values (pymilvus's shapes: bytes, [bytes], dicts)."""
    if field.dtype == DataType.SPARSE_FLOAT_VECTOR:
        sparse = fd.vectors.sparse_float_vector
        sparse.SetInParent()
        sparse.contents.extend(sparse_to_contents(values))
        sparse.dim = max((max(v) + 1 for v in values if v), default=0)
        fd.vectors.dim = sparse.dim
        return
    fd.vectors.dim = field.dim or 0
    member, _ = _BYTE_MEMBERS[field.dtype]
    setattr(fd.vectors, member, b"".join(_row_bytes(field, v) for v in values))


def _row_bytes(field: FieldSchema, value: Any) -> bytes:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], bytes):
        return value[0]
    if isinstance(value, bytes):
        return value
    # float lists (a FLOAT16 / BFLOAT16 value given as numbers)
    array = np.asarray(value, dtype=np.float32)
    if field.dtype == DataType.BFLOAT16_VECTOR:
        return bf16_to_bits(array).astype("<u2").tobytes()
    return array.astype(_BYTE_MEMBERS[field.dtype][1]).tobytes()


# -- search placeholders ---------------------------------------------------------------------


def decode_placeholder(holder: common_pb2.PlaceholderValue) -> Any:
    """Query vectors of one placeholder, in a form ``Client.search`` takes."""
    kind = holder.type
    values = list(holder.values)
    if not values:
        raise InvalidArgument("a search needs at least one query vector")
    if kind == common_pb2.PlaceholderType.SparseFloatVector:
        try:
            return sparse_from_contents(values, "query vectors")
        except DataError as exc:
            raise InvalidArgument(str(exc.args[0])) from exc
    formats = {
        common_pb2.PlaceholderType.Float16Vector: "<f2",
        common_pb2.PlaceholderType.BFloat16Vector: "<u2",
        common_pb2.PlaceholderType.Int8Vector: "i1",
        common_pb2.PlaceholderType.BinaryVector: "u1",
    }
    if kind not in formats:
        name = common_pb2.PlaceholderType.Name(kind)
        raise Unimplemented(f"query vectors of type {name} are not supported")
    if len({len(v) for v in values}) != 1:
        raise InvalidArgument("query vectors must all have the same length")
    if kind == common_pb2.PlaceholderType.BFloat16Vector:
        return values  # bytes per row: the client reads bfloat16 bytes
    matrix = np.frombuffer(b"".join(values), dtype=formats[kind]).reshape(len(values), -1)
    return matrix


def _name(dtype: int) -> str:
    try:
        return DataType(dtype).name
    except ValueError:
        return str(dtype)
