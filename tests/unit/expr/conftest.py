"""A small collection schema and table covering every filterable type, with nulls."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pyarrow as pa
import pytest

from keeldb.expr import compile_filter
from keeldb.schema.field import META_COLUMN, FieldSchema
from keeldb.types import DataType as D

FIELDS = {
    f.name: f
    for f in [
        FieldSchema("id", D.INT64, is_primary=True),
        FieldSchema("size", D.INT32, nullable=True),
        FieldSchema("small", D.INT8),
        FieldSchema("big", D.INT64),
        FieldSchema("price", D.DOUBLE, nullable=True),
        FieldSchema("ratio", D.FLOAT),
        FieldSchema("title", D.VARCHAR, max_length=64, nullable=True),
        FieldSchema("flag", D.BOOL, nullable=True),
        FieldSchema("meta", D.JSON, nullable=True),
        FieldSchema(
            "tags", D.ARRAY, element_type=D.VARCHAR, max_capacity=8, max_length=16, nullable=True
        ),
        FieldSchema("nums", D.ARRAY, element_type=D.INT64, max_capacity=8),
        FieldSchema("vec", D.FLOAT_VECTOR, dim=2),
    ]
}

META = [
    {"a": 1, "b": {"c": "x"}, "t": [1, 2, "z"], "flag": True},
    {"a": "s", "t": "not a list"},
    None,
    {"a": 2.5, "t": [], "n": None},
    {"a": True, "b": {"c": "y"}, "t": [[1, 2], 3]},
    {"a": 2**63 - 1},
]
DYN = [{"color": "red", "n": 3}, {}, None, {"color": "blue", "n": 2.5}, {"color": 7}, {"n": None}]

COLUMNS = {
    "id": pa.array([0, 1, 2, 3, 4, 5], pa.int64()),
    "size": pa.array([10, None, 300, -5, 0, 2**31 - 1], pa.int32()),
    "small": pa.array([1, -128, 127, 0, 5, -1], pa.int8()),
    "big": pa.array([2**63 - 1, -(2**63), 2**53 + 1, 0, 7, -7], pa.int64()),
    "price": pa.array([1.5, 2.0, None, math.nan, 0.0, -3.25], pa.float64()),
    "ratio": pa.array([0.1, 0.5, 1.0, -0.1, 2.5, 0.0], pa.float32()),
    "title": pa.array(["apple", "banana", None, "äpfel", "", "Apple pie"], pa.string()),
    "flag": pa.array([True, False, None, True, False, True], pa.bool_()),
    "meta": pa.array([None if m is None else orjson.dumps(m).decode() for m in META]),
    "tags": pa.array([["x", "y"], [], None, ["z"], ["x"], ["y", "x", "y"]], pa.list_(pa.string())),
    "nums": pa.array([[1, 2], [3], [], [4, 5, 6], [2], [7, 7]], pa.list_(pa.int64())),
    "vec": pa.array([[0.0, 1.0]] * 6, pa.list_(pa.float32(), 2)),
    META_COLUMN: pa.array([None if m is None else orjson.dumps(m).decode() for m in DYN]),
}
TABLE = pa.table(COLUMNS)


def select(expression: str, *, dynamic: bool = True, params=None, table=TABLE) -> list[int]:
    """The ids of the rows ``expression`` matches."""
    compiled = compile_filter(expression, FIELDS, dynamic=dynamic, params=params)
    assert compiled is not None
    mask = compiled.evaluate(table)
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and len(mask) == table.num_rows
    return [int(i) for i in np.asarray(table.column("id"))[mask]]


@pytest.fixture
def fields():
    return FIELDS
