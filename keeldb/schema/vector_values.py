"""Vector values of every vector type: user forms → columns, columns → result values.

A vector *column* (one per vector field of a batch or segment) is:

    FLOAT_VECTOR         float32 (n, dim)
    FLOAT16_VECTOR       float16 (n, dim)
    BFLOAT16_VECTOR      float32 (n, dim), every value rounded to bfloat16 (numpy has no
                         bfloat16; float32 holds each one exactly, and every float index
                         and exact search reads it without conversion)
    INT8_VECTOR          int8 (n, dim)
    BINARY_VECTOR        uint8 (n, dim / 8), bits packed most significant first
    SPARSE_FLOAT_VECTOR  keeldb.sparse.SparseRows

Accepted per-row forms are the ones pymilvus sends and returns: lists and
numpy arrays of the right dtype; ``bytes`` for the byte-stored types (FLOAT16 /
BFLOAT16 little-endian halves, INT8, packed BINARY); ``[bytes]`` (what a query
returns for them); ``{index: value}`` dicts, ``(index, value)`` pairs or scipy
sparse rows for SPARSE. Whole columns may be 2-D numpy arrays or a scipy sparse
matrix. Every violation raises DataError naming the field, the row and the rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from keeldb.errors import DataError
from keeldb.schema.field import FieldSchema
from keeldb.sparse import MAX_SPARSE_INDEX, SparseRows
from keeldb.types import DataType

VectorColumn = np.ndarray | SparseRows

#: numpy dtype of each dense column; BFLOAT16 is held as float32 (see module doc)
COLUMN_DTYPES: dict[DataType, np.dtype] = {
    DataType.FLOAT_VECTOR: np.dtype(np.float32),
    DataType.FLOAT16_VECTOR: np.dtype(np.float16),
    DataType.BFLOAT16_VECTOR: np.dtype(np.float32),
    DataType.INT8_VECTOR: np.dtype(np.int8),
    DataType.BINARY_VECTOR: np.dtype(np.uint8),
}
#: bytes per dimension of the wire / bytes form (BINARY: 1/8)
_BYTES_PER_DIM = {
    DataType.FLOAT16_VECTOR: 2,
    DataType.BFLOAT16_VECTOR: 2,
    DataType.INT8_VECTOR: 1,
}
_ARROW_VALUES = {
    np.dtype(np.float32): pa.float32(),
    np.dtype(np.float16): pa.float16(),
    np.dtype(np.int8): pa.int8(),
    np.dtype(np.uint8): pa.uint8(),
}
SPARSE_ARROW_TYPE = pa.struct(
    [pa.field("indices", pa.list_(pa.uint32())), pa.field("values", pa.list_(pa.float32()))]
)


def row_width(field: FieldSchema) -> int:
    """Values per row of a dense column (BINARY: bytes)."""
    dim = int(field.dim or 0)
    return dim // 8 if field.dtype == DataType.BINARY_VECTOR else dim


def vector_arrow_type(field: FieldSchema) -> pa.DataType:
    if field.dtype == DataType.SPARSE_FLOAT_VECTOR:
        return SPARSE_ARROW_TYPE
    return pa.list_(_ARROW_VALUES[COLUMN_DTYPES[field.dtype]], row_width(field))


def empty_column(field: FieldSchema, rows: int = 0) -> VectorColumn:
    if field.dtype == DataType.SPARSE_FLOAT_VECTOR:
        return SparseRows.empty(rows)
    return np.zeros((rows, row_width(field)), COLUMN_DTYPES[field.dtype])


def concat_columns(parts: list[VectorColumn]) -> VectorColumn:
    if parts and isinstance(parts[0], SparseRows):
        return SparseRows.concat(parts)  # type: ignore[arg-type]
    return np.concatenate(parts)  # type: ignore[arg-type]


# -- bfloat16 -------------------------------------------------------------------


def bf16_round(values: np.ndarray) -> np.ndarray:
    """float32 values rounded to the nearest bfloat16 (ties to even), as float32."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = bits + (np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1)))
    return (rounded & np.uint32(0xFFFF0000)).view(np.float32)


def bf16_to_bits(values: np.ndarray) -> np.ndarray:
    """bfloat16-exact float32 values → their uint16 bit patterns."""
    return (np.ascontiguousarray(values, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)


def bf16_from_bits(bits: np.ndarray) -> np.ndarray:
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


# -- user forms → columns ---------------------------------------------------------


def coerce_vector_column(field: FieldSchema, values: Any, n: int, what: str = "") -> VectorColumn:
    """A validated column of ``n`` rows of ``field`` (not FLOAT_VECTOR: values.py has it)."""
    what = what or f"vector field '{field.name}'"
    column: VectorColumn
    if field.dtype == DataType.SPARSE_FLOAT_VECTOR:
        column = _sparse_column(what, values)
    else:
        column = _dense_column(field, what, values)
    if len(column) != n:
        raise DataError(f"{what} has {len(column)} rows, expected {n}")
    return column


def _dense_column(field: FieldSchema, what: str, values: Any) -> np.ndarray:
    width = row_width(field)
    if isinstance(values, np.ndarray) and values.ndim == 2:
        return _dense_matrix(field, what, values)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = values.to_pylist()
    rows = [_dense_row(field, what, i, v) for i, v in enumerate(values)]
    if not rows:
        return empty_column(field)  # type: ignore[return-value]
    matrix = np.stack(rows)
    if matrix.shape[1] != width:  # pragma: no cover - _dense_row checks each row
        raise DataError(f"{what}: rows must have {width} values")
    return matrix


def _dense_matrix(field: FieldSchema, what: str, matrix: np.ndarray) -> np.ndarray:
    width = row_width(field)
    if field.dtype == DataType.BINARY_VECTOR and matrix.dtype == np.bool_:
        matrix = np.packbits(matrix, axis=1)
    if matrix.shape[1] != width:
        unit = "bytes" if field.dtype == DataType.BINARY_VECTOR else "values"
        raise DataError(
            f"{what}: rows have {matrix.shape[1]} {unit}, but dim {field.dim} needs {width}"
        )
    return _checked(field, what, matrix, first_row=0)


def _dense_row(field: FieldSchema, what: str, row: int, value: Any) -> np.ndarray:
    if value is None:
        raise DataError(f"{what}, row {row}: the vector is missing (vectors cannot be null)")
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], (bytes, bytearray)):
        value = value[0]  # the [bytes] a query returns for byte-stored vectors
    width = row_width(field)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _from_bytes(field, what, row, bytes(value))
    array = np.asarray(value)
    if field.dtype == DataType.BINARY_VECTOR and array.dtype == np.bool_:
        array = np.packbits(array) if array.ndim == 1 and len(array) == field.dim else array
    if array.ndim != 1 or len(array) != width:
        raise DataError(_dim_message(field, what, row, array))
    return _checked(field, what, array.reshape(1, -1), first_row=row)[0]


def _from_bytes(field: FieldSchema, what: str, row: int, raw: bytes) -> np.ndarray:
    if field.dtype == DataType.BINARY_VECTOR:
        expected = row_width(field)
    else:
        expected = int(field.dim or 0) * _BYTES_PER_DIM[field.dtype]
    if len(raw) != expected:
        raise DataError(
            f"{what}, row {row}: a {field.dtype.name} of dim {field.dim} is {expected} bytes, "
            f"got {len(raw)} bytes"
        )
    if field.dtype == DataType.FLOAT16_VECTOR:
        array = np.frombuffer(raw, dtype="<f2")
    elif field.dtype == DataType.BFLOAT16_VECTOR:
        array = bf16_from_bits(np.frombuffer(raw, dtype="<u2"))
    elif field.dtype == DataType.INT8_VECTOR:
        array = np.frombuffer(raw, dtype=np.int8)
    else:
        array = np.frombuffer(raw, dtype=np.uint8)
    return _checked(field, what, array.reshape(1, -1), first_row=row)[0]


def _dim_message(field: FieldSchema, what: str, row: int, array: np.ndarray) -> str:
    got = len(array) if array.ndim == 1 else f"shape {array.shape}"
    if field.dtype == DataType.BINARY_VECTOR:
        return (
            f"{what}, row {row}: a binary vector of dim {field.dim} is {row_width(field)} "
            f"packed bytes (or {field.dim} booleans), got {got} values"
        )
    return f"the dim ({got}) of {what} in row {row} does not match the schema's dim ({field.dim})"


def _checked(field: FieldSchema, what: str, array: np.ndarray, first_row: int) -> np.ndarray:
    """``array`` (rows, width) as the column dtype, after the type's value rules."""
    dtype = field.dtype
    if not np.issubdtype(array.dtype, np.number) and array.dtype != np.bool_:
        raise DataError(
            f"{what}, row {first_row}: {dtype.name} values must be numbers, "
            f"got {array.dtype} values"
        )
    if dtype in (DataType.INT8_VECTOR, DataType.BINARY_VECTOR):
        return _checked_integers(field, what, array, first_row)
    floats = array.astype(np.float32)
    bad = ~np.isfinite(floats)
    if dtype == DataType.FLOAT16_VECTOR:
        bad |= np.abs(floats) > 65504  # would overflow float16 to infinity
    if bad.any():
        row = first_row + int(np.nonzero(bad.any(axis=1))[0][0])
        raise DataError(
            f"{what}, row {row}: NaN or infinite values are not allowed"
            + (" (float16 holds at most ±65504)" if dtype == DataType.FLOAT16_VECTOR else "")
        )
    if dtype == DataType.FLOAT16_VECTOR:
        return np.ascontiguousarray(array, dtype=np.float16)
    if dtype == DataType.BFLOAT16_VECTOR:
        return bf16_round(floats)
    return np.ascontiguousarray(floats)


def _checked_integers(
    field: FieldSchema, what: str, array: np.ndarray, first_row: int
) -> np.ndarray:
    low, high = (-128, 127) if field.dtype == DataType.INT8_VECTOR else (0, 255)
    if array.dtype.kind == "f":
        whole = np.isfinite(array) & (np.floor(array) == array)
        if not whole.all():
            row = first_row + int(np.nonzero(~whole.all(axis=1))[0][0])
            raise DataError(f"{what}, row {row}: {field.dtype.name} values must be integers")
    wide = array.astype(np.int64)
    out = (wide < low) | (wide > high)
    if out.any():
        r, c = (int(x[0]) for x in np.nonzero(out))
        unit = "byte" if field.dtype == DataType.BINARY_VECTOR else "value"
        raise DataError(
            f"{what}, row {first_row + r}: {unit} {int(wide[r, c])} is out of range "
            f"[{low}, {high}] for {field.dtype.name}"
        )
    return np.ascontiguousarray(wide, dtype=COLUMN_DTYPES[field.dtype])


# -- sparse ---------------------------------------------------------------------


def _is_scipy_sparse(value: Any) -> bool:
    return hasattr(value, "tocsr") and hasattr(value, "shape") and hasattr(value, "nnz")


def _sparse_column(what: str, values: Any) -> SparseRows:
    if isinstance(values, SparseRows):
        return values
    if _is_scipy_sparse(values):
        return _scipy_rows(what, values, first_row=0)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = values.to_pylist()
    rows = [sparse_row(what, i, v) for i, v in enumerate(values)]
    return SparseRows.concat(rows) if rows else SparseRows.empty()


def sparse_row(what: str, row: int, value: Any) -> SparseRows:
    """One sparse vector (dict, (index, value) pairs, scipy row) as a one-row SparseRows."""
    if value is None:
        raise DataError(f"{what}, row {row}: the vector is missing (vectors cannot be null)")
    if _is_scipy_sparse(value):
        if value.shape[0] != 1:
            raise DataError(f"{what}, row {row}: a scipy sparse row must have shape (1, n)")
        return _scipy_rows(what, value, first_row=row)
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)):
        pairs = list(value)
    else:
        raise DataError(
            f"{what}, row {row}: a sparse vector is a dict {{index: value}}, a list of "
            f"(index, value) pairs or a scipy sparse row, not {type(value).__name__}"
        )
    indices: list[int] = []
    weights: list[float] = []
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise DataError(f"{what}, row {row}: {pair!r} is not an (index, value) pair")
        indices.append(_sparse_index(what, row, pair[0]))
        weights.append(_sparse_value(what, row, pair[0], pair[1]))
    return _sorted_row(what, row, np.array(indices, np.int64), np.array(weights, np.float32))


def _sparse_index(what: str, row: int, index: Any) -> int:
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer, str)):
        raise DataError(f"{what}, row {row}: sparse index {index!r} is not an integer")
    try:
        number = int(index)
    except ValueError:
        raise DataError(f"{what}, row {row}: sparse index {index!r} is not an integer") from None
    if not 0 <= number < MAX_SPARSE_INDEX:
        raise DataError(
            f"{what}, row {row}: sparse index {number} is out of range: it must be in [0, 2^32-1)"
        )
    return number


def _sparse_value(what: str, row: int, index: Any, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise DataError(f"{what}, row {row}: the value at index {index} is not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise DataError(f"{what}, row {row}: the value at index {index} is NaN or infinite")
    if number < 0:
        # Milvus refuses negative sparse values (its pruned search relies on them being >= 0)
        raise DataError(f"{what}, row {row}: negative value {number} at index {index}")
    return number


def _sorted_row(what: str, row: int, indices: np.ndarray, values: np.ndarray) -> SparseRows:
    order = np.argsort(indices, kind="stable")
    indices, values = indices[order], values[order]
    dup = np.nonzero(np.diff(indices) == 0)[0]
    if len(dup):
        raise DataError(f"{what}, row {row}: sparse index {int(indices[dup[0]])} appears twice")
    return SparseRows(np.array([0, len(indices)], np.int64), indices.astype(np.uint32), values)


def _scipy_rows(what: str, matrix: Any, first_row: int) -> SparseRows:
    csr = matrix.tocsr()
    csr.sum_duplicates()  # also sorts the indices of each row
    indices = np.asarray(csr.indices, dtype=np.int64)
    values = np.asarray(csr.data)
    if len(indices) and (indices.max() >= MAX_SPARSE_INDEX):
        raise DataError(f"{what}: sparse indices must be in [0, 2^32-1)")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        entry = int(np.nonzero(bad)[0][0])
        row = first_row + int(np.searchsorted(csr.indptr, entry, side="right") - 1)
        raise DataError(
            f"{what}, row {row}: sparse values must be finite and non-negative, "
            f"got {values[entry]} at index {indices[entry]}"
        )
    return SparseRows(
        np.asarray(csr.indptr, np.int64), indices.astype(np.uint32), values.astype(np.float32)
    )


# -- columns → result values --------------------------------------------------------


def vector_values(field: FieldSchema, column: VectorColumn, local_ids: np.ndarray) -> list[Any]:
    """Result values of rows ``local_ids``, in pymilvus's search-hit shapes.

    FLOAT lists for FLOAT_VECTOR, a ``bytes`` value for the byte-stored types
    (FLOAT16 / BFLOAT16 little-endian halves, INT8, packed BINARY), ``{index:
    value}`` for SPARSE. Query rows wrap bytes in a one-item list, as pymilvus does
    (:func:`as_query_value`).
    """
    taken = column[local_ids]
    if isinstance(taken, SparseRows):
        return taken.to_dicts()
    dtype = field.dtype
    if dtype == DataType.FLOAT_VECTOR:
        return taken.tolist()
    if dtype == DataType.BFLOAT16_VECTOR:
        taken = bf16_to_bits(taken).astype("<u2")
    elif dtype == DataType.FLOAT16_VECTOR:
        taken = taken.astype("<f2")
    return [row.tobytes() for row in taken]


def dense_as_float(dtype: DataType, value: Any) -> Any:
    """A dense float-type result value (float list, or bytes for FLOAT16 / BFLOAT16 /
    INT8) as float32 numbers."""
    if not isinstance(value, bytes):
        return value
    if dtype == DataType.BFLOAT16_VECTOR:
        return bf16_from_bits(np.frombuffer(value, dtype="<u2"))
    fmt = "<f2" if dtype == DataType.FLOAT16_VECTOR else "i1"
    return np.frombuffer(value, dtype=fmt).astype(np.float32)


def as_query_value(value: Any) -> Any:
    """pymilvus's query/get shape: byte-stored vectors come as ``[bytes]``."""
    return [value] if isinstance(value, bytes) else value
