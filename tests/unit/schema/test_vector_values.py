"""Vector fields of every type: dimension rules and the value forms pymilvus uses."""

from __future__ import annotations

import numpy as np
import pytest

from keeldb.errors import DataError, SchemaError
from keeldb.schema.field import FieldSchema
from keeldb.schema.vector_values import (
    as_query_value,
    bf16_from_bits,
    bf16_round,
    bf16_to_bits,
    coerce_vector_column,
    vector_values,
)
from keeldb.sparse import SparseRows
from keeldb.types import DataType


def field(dtype: DataType, dim: int | None = 4) -> FieldSchema:
    return FieldSchema("v", dtype, dim=dim)


# -- dimension rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype", [DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR, DataType.INT8_VECTOR]
)
def test_dense_dim_range_uses_milvus_wording(dtype):
    field(dtype, 2).validate()
    field(dtype, 32768).validate()
    with pytest.raises(SchemaError, match=r"invalid dimension: 1 of field v\. .* range 2 ~ 32768"):
        field(dtype, 1).validate()
    with pytest.raises(SchemaError, match="invalid dimension: 32769"):
        field(dtype, 32769).validate()
    with pytest.raises(SchemaError, match="dimension is not defined .* field v"):
        field(dtype, None).validate()


def test_binary_dim_must_be_a_multiple_of_8():
    field(DataType.BINARY_VECTOR, 8).validate()
    field(DataType.BINARY_VECTOR, 8 * 32768).validate()
    with pytest.raises(SchemaError, match="binary vector dimension should be multiple of 8"):
        field(DataType.BINARY_VECTOR, 12).validate()
    with pytest.raises(SchemaError, match="range 8 ~ 262144"):
        field(DataType.BINARY_VECTOR, 8 * 32768 + 8).validate()


def test_sparse_has_no_dim():
    field(DataType.SPARSE_FLOAT_VECTOR, None).validate()
    with pytest.raises(SchemaError, match="dim should not be specified for sparse vector field v"):
        field(DataType.SPARSE_FLOAT_VECTOR, 8).validate()


# -- dense forms -------------------------------------------------------------------------


def test_float16_accepts_lists_arrays_and_bytes():
    f = field(DataType.FLOAT16_VECTOR)
    row = np.array([1.5, -2.0, 0.25, 3.0], dtype=np.float16)
    forms = [row.tolist(), row, row.astype(np.float32), row.tobytes(), [row.tobytes()]]
    col = coerce_vector_column(f, forms, len(forms))
    assert col.dtype == np.float16 and col.shape == (5, 4)
    assert (col == row).all()
    assert vector_values(f, col, np.array([0]))[0] == row.tobytes()


def test_float16_rejects_overflow_and_nan():
    f = field(DataType.FLOAT16_VECTOR)
    with pytest.raises(DataError, match="row 1: NaN or infinite .*65504"):
        coerce_vector_column(f, [[0, 0, 0, 0], [70000.0, 0, 0, 0]], 2)
    with pytest.raises(DataError, match="row 0: NaN"):
        coerce_vector_column(f, [[np.nan, 0, 0, 0]], 1)


def test_bfloat16_rounds_to_nearest_even_and_round_trips_bits():
    values = np.array([1.0, 1.00390625, 1.01171875, -3.14159], dtype=np.float32)
    rounded = bf16_round(values)
    assert rounded[0] == 1.0
    assert rounded[1] == 1.0  # exactly halfway: ties to even
    assert rounded[2] == np.float32(1.015625)
    assert np.array_equal(bf16_from_bits(bf16_to_bits(rounded)), rounded)
    f = field(DataType.BFLOAT16_VECTOR)
    raw = bf16_to_bits(rounded).astype("<u2").tobytes()
    col = coerce_vector_column(f, [values, raw], 2)
    assert (
        col.dtype == np.float32
        and np.array_equal(col[0], rounded)
        and np.array_equal(col[1], rounded)
    )
    assert vector_values(f, col, np.array([1])) == [raw]


def test_int8_range_and_integrality():
    f = field(DataType.INT8_VECTOR)
    col = coerce_vector_column(f, [[-128, 0, 5, 127], np.array([1, 2, 3, 4], np.int8)], 2)
    assert col.dtype == np.int8
    with pytest.raises(DataError, match="row 0: value 128 is out of range \\[-128, 127\\]"):
        coerce_vector_column(f, [[128, 0, 0, 0]], 1)
    with pytest.raises(DataError, match="must be integers"):
        coerce_vector_column(f, [[1.5, 0, 0, 0]], 1)
    assert coerce_vector_column(f, [bytes([255, 1, 2, 3])], 1)[0].tolist() == [-1, 1, 2, 3]


def test_binary_forms_and_wrong_lengths():
    f = field(DataType.BINARY_VECTOR, 16)
    bits = np.array([1, 0, 1, 0, 0, 0, 0, 0] + [0] * 7 + [1], dtype=bool)
    col = coerce_vector_column(f, [b"\xa0\x01", [160, 1], bits, np.array([160, 1], np.uint8)], 4)
    assert col.dtype == np.uint8 and (col == [160, 1]).all()
    with pytest.raises(DataError, match="row 0: a BINARY_VECTOR of dim 16 is 2 bytes, got 3"):
        coerce_vector_column(f, [b"abc"], 1)
    with pytest.raises(DataError, match="byte 256 is out of range"):
        coerce_vector_column(f, [[256, 0]], 1)
    with pytest.raises(DataError, match="2 packed bytes"):
        coerce_vector_column(f, [[1, 2, 3]], 1)


def test_dense_dim_mismatch_names_field_row_and_dims():
    with pytest.raises(DataError, match=r"the dim \(3\) of vector field 'v' in row 1 .* dim \(4\)"):
        coerce_vector_column(field(DataType.INT8_VECTOR), [[1, 2, 3, 4], [1, 2, 3]], 2)


def test_missing_vector_is_an_error():
    with pytest.raises(DataError, match="row 0: the vector is missing"):
        coerce_vector_column(field(DataType.FLOAT16_VECTOR), [None], 1)


# -- sparse forms -------------------------------------------------------------------------


def test_sparse_accepts_dicts_pairs_and_scipy_rows():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    f = field(DataType.SPARSE_FLOAT_VECTOR, None)
    csr = scipy_sparse.csr_matrix(
        (np.array([0.5, 2.0], np.float32), np.array([3, 1]), np.array([0, 2])), shape=(1, 10)
    )
    col = coerce_vector_column(f, [{7: 1.0, 2: 0.5}, [(9, 0.25)], {}, csr], 4)
    assert isinstance(col, SparseRows)
    assert col.to_dicts() == [{2: 0.5, 7: 1.0}, {9: 0.25}, {}, {1: 2.0, 3: 0.5}]
    matrix = scipy_sparse.csr_matrix(np.array([[0, 1.0, 0], [2.0, 0, 3.0]], np.float32))
    assert coerce_vector_column(f, matrix, 2).to_dicts() == [{1: 1.0}, {0: 2.0, 2: 3.0}]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({2**32 - 1: 1.0}, "index 4294967295 is out of range"),
        ({-1: 1.0}, "index -1 is out of range"),
        ({1: float("nan")}, "NaN or infinite"),
        ({1: -0.5}, "negative value -0.5 at index 1"),
        ([(1, 1.0), (1, 2.0)], "index 1 appears twice"),
        ({"a": 1.0}, "sparse index 'a' is not an integer"),
        ([1, 2], "is not an \\(index, value\\) pair"),
        (3.0, "a sparse vector is a dict"),
    ],
)
def test_bad_sparse_rows_are_rejected(row, message):
    with pytest.raises(DataError, match=message):
        coerce_vector_column(field(DataType.SPARSE_FLOAT_VECTOR, None), [{1: 1.0}, row], 2)


def test_query_shapes_wrap_bytes():
    assert as_query_value(b"ab") == [b"ab"]
    assert as_query_value({1: 2.0}) == {1: 2.0}


def test_sparse_rows_take_and_concat():
    rows = SparseRows.from_parts([0, 2, 2, 3], [1, 5, 0], [1.0, 2.0, 3.0])
    assert rows[np.array([2, 0, 0])].to_dicts() == [{0: 3.0}, {1: 1.0, 5: 2.0}, {1: 1.0, 5: 2.0}]
    assert rows[np.array([False, True, True])].to_dicts() == [{}, {0: 3.0}]
    assert SparseRows.concat([rows, rows]).num_rows == 6
    with pytest.raises(ValueError, match="strictly increasing"):
        SparseRows.from_parts([0, 2], [5, 1], [1.0, 2.0])
