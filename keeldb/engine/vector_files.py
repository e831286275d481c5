"""A sealed segment's vector file per vector field: ``vec-<field>.npy`` / ``.npz``.

- FLOAT_VECTOR: float32 ``(rows, dim)`` ``.npy`` (the format before other types existed);
- FLOAT16_VECTOR: float16 ``(rows, dim)``; INT8_VECTOR: int8 ``(rows, dim)``;
- BFLOAT16_VECTOR: uint16 ``(rows, dim)`` bit patterns (half the bytes of the
  float32 column it is held as in memory);
- BINARY_VECTOR: uint8 ``(rows, dim / 8)``, packed bits;
- SPARSE_FLOAT_VECTOR: ``vec-<field>.npz``, an uncompressed NumPy archive with
  ``indptr`` (int64, rows + 1), ``indices`` (uint32) and ``values`` (float32), CSR.

All are read with ``allow_pickle=False``; a file whose dtype, shape or CSR
structure does not fit its field raises CorruptionError.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

from keeldb.errors import CorruptionError
from keeldb.schema.field import FieldSchema
from keeldb.schema.vector_values import (
    COLUMN_DTYPES,
    VectorColumn,
    bf16_from_bits,
    bf16_to_bits,
    row_width,
)
from keeldb.sparse import SparseRows
from keeldb.storage import FileRef, FileSystem, read_array, read_blob, write_array, write_blob
from keeldb.types import DataType

_SPARSE_MEMBERS = ("indptr", "indices", "values")


def write_vector_file(
    fs: FileSystem, directory: str, field: FieldSchema, column: VectorColumn
) -> FileRef:
    if isinstance(column, SparseRows):
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **{m: getattr(column, m) for m in _SPARSE_MEMBERS})
        return write_blob(fs, directory, f"vec-{field.name}.npz", buffer.getvalue())
    if field.dtype == DataType.BFLOAT16_VECTOR:
        column = bf16_to_bits(column)
    return write_array(fs, directory, f"vec-{field.name}.npy", column)


def read_vector_file(
    fs: FileSystem, directory: str, field: FieldSchema, ref: FileRef
) -> VectorColumn:
    if field.dtype == DataType.SPARSE_FLOAT_VECTOR:
        return _read_sparse(fs, directory, ref)
    array = read_array(fs, directory, ref)
    stored = np.dtype(np.uint16) if field.dtype == DataType.BFLOAT16_VECTOR else None
    expected = stored or COLUMN_DTYPES[field.dtype]
    if array.dtype != expected or array.ndim != 2 or array.shape[1] != row_width(field):
        raise CorruptionError(
            f"vector file '{ref.name}' holds {array.dtype} {array.shape}, but field "
            f"'{field.name}' ({field.dtype.name}, dim {field.dim}) needs "
            f"{expected} (rows, {row_width(field)})"
        )
    return bf16_from_bits(array) if stored is not None else array


def _read_sparse(fs: FileSystem, directory: str, ref: FileRef) -> SparseRows:
    data = read_blob(fs, directory, ref)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            parts = [archive[m] for m in _SPARSE_MEMBERS]
        return SparseRows.from_parts(*parts)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptionError(f"sparse vector file '{ref.name}' is unreadable: {exc}") from exc
