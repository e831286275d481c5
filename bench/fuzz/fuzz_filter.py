"""Coverage-guided fuzzing of the filter compiler with atheris (long runs, not CI).

CI runs the Hypothesis fuzz test (tests/property/test_filter_reference.py); this
harness is for hours-long runs. The only outcome allowed besides a result is
``FilterError``: any other exception, a hang (use -timeout) or a crash is a bug.

    pip install atheris
    python bench/fuzz/fuzz_filter.py -max_total_time=3600 -timeout=5
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import pyarrow as pa

    from keeldb.errors import FilterError
    from keeldb.expr import compile_filter
    from keeldb.schema.collection import CollectionSchema
    from keeldb.types import DataType

SCHEMA = (
    CollectionSchema(enable_dynamic_field=True)
    .add_field("id", DataType.INT64, is_primary=True)
    .add_field("v", DataType.FLOAT_VECTOR, dim=2)
    .add_field("size", DataType.INT64, nullable=True)
    .add_field("score", DataType.DOUBLE)
    .add_field("name", DataType.VARCHAR, max_length=64)
    .add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
    .add_field("meta", DataType.JSON)
    .finalize()
)
TABLE = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "size": pa.array([10, None, 30], pa.int64()),
        "score": pa.array([0.5, 1.5, -2.0], pa.float64()),
        "name": pa.array(["a", "bc", "déf"], pa.string()),
        "tags": pa.array([[1, 2], [], None], pa.list_(pa.int64())),
        "meta": pa.array(['{"a": 1}', '{"a": [1, "x"]}', None], pa.string()),
        "$meta": pa.array(['{"k": 1}', "{}", '{"k": "s"}'], pa.string()),
    }
)


def test_one(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(4096)
    try:
        compiled = compile_filter(text, SCHEMA.by_name(), dynamic=True)
        if compiled is not None:
            compiled.evaluate(TABLE)
    except FilterError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()
