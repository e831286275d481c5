"""Query vectors and search metrics of the vector types other than FLOAT_VECTOR.

Query vectors come in the forms inserts take (``keeldb.schema.vector_values``):
one vector or a list of them; lists or numpy arrays of numbers, ``bytes`` /
``[bytes]`` for the byte-stored types, dicts / pairs / scipy rows for sparse.
They are searched as: float32 ``(nq, dim)`` for FLOAT16 / BFLOAT16 / INT8
(the float indexes hold float32 copies), packed uint8 ``(nq, dim / 8)`` for
BINARY, ``SparseRows`` for SPARSE.

A search's metric must be one the field type takes (``index.field_index``):
without an index it defaults to the type's metric (HAMMING, IP, COSINE).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from keeldb.engine.catalog import IndexSpec
from keeldb.errors import DataError, InvalidArgument
from keeldb.index.field_index import check_metric, default_metric
from keeldb.schema.field import FieldSchema
from keeldb.schema.vector_values import coerce_vector_column
from keeldb.sparse import SparseRows
from keeldb.types import DataType, MetricType


def typed_query_vectors(
    data: Any, field: str, dim: int, vector_type: DataType, metric: MetricType | None
) -> Any:
    if data is None:
        raise InvalidArgument("search needs data=: a list of query vectors")
    schema = FieldSchema(field, vector_type, dim=dim or None)
    rows = _as_rows(data, schema)
    count = rows.shape[0] if hasattr(rows, "tocsr") else len(rows)
    if count == 0:
        raise InvalidArgument("search needs at least one query vector")
    try:
        column = coerce_vector_column(schema, rows, count, what=f"query vectors of '{field}'")
    except DataError as exc:
        raise InvalidArgument(str(exc.args[0] if exc.args else exc)) from exc
    if vector_type in (DataType.BINARY_VECTOR, DataType.SPARSE_FLOAT_VECTOR):
        return column
    queries = np.ascontiguousarray(column, dtype=np.float32)
    if metric is MetricType.COSINE:
        refuse_zero_cosine_queries(queries, field)
    return fit_magnitudes(queries, field, metric)


def refuse_zero_cosine_queries(queries: np.ndarray, field: str) -> None:
    """Raise for the first all-zero row of ``queries``: it has no COSINE similarity."""
    nonzero = queries.any(axis=1)
    if not nonzero.all():
        row = int(np.nonzero(~nonzero)[0][0])
        raise InvalidArgument(
            f"query vector {row} of field '{field}' is a zero vector: COSINE similarity "
            "is undefined for it",
            hint="search with a non-zero vector, or use the IP or L2 metric",
        )


def fit_magnitudes(queries: np.ndarray, field: str, metric: MetricType | None) -> np.ndarray:
    """``queries`` whose squared lengths overflow float32 made searchable, or refused.

    Finite but huge values (~1e19 and up) overflow float32 distance arithmetic, and
    every distance to them comes out infinite: the search would answer nothing.
    Under COSINE only the direction counts, so such rows are rescaled (in float64)
    to unit length; under L2 the distances themselves overflow, so they are refused.
    """
    with np.errstate(over="ignore"):
        squares = np.einsum("ij,ij->i", queries, queries)
    huge = ~np.isfinite(squares)
    if not huge.any():
        return queries
    if metric is MetricType.L2:
        row = int(np.flatnonzero(huge)[0])
        raise InvalidArgument(
            f"query vector {row} of field '{field}' is too large for L2: its squared "
            "length overflows float32, so every distance to it would be infinite",
            hint="scale the query vectors down",
        )
    if metric is MetricType.COSINE:
        rows = queries[huge].astype(np.float64)
        queries = queries.copy()
        queries[huge] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return queries


def _as_rows(data: Any, field: FieldSchema) -> Any:
    """``data`` as a sequence of rows (one vector given alone becomes one row)."""
    if field.dtype == DataType.SPARSE_FLOAT_VECTOR:
        if isinstance(data, SparseRows):
            return data  # decoded from the wire, or built by the caller
        if isinstance(data, Mapping):
            return [data]
        if hasattr(data, "tocsr"):
            return data  # a scipy matrix: its rows
        if isinstance(data, list) and data and isinstance(data[0], tuple):
            return [data]  # one vector as (index, value) pairs
        return list(data) if not isinstance(data, list) else data
    if isinstance(data, (bytes, bytearray)):
        return [data]
    if isinstance(data, np.ndarray):
        return data.reshape(1, -1) if data.ndim == 1 else data
    if isinstance(data, list) and data and isinstance(data[0], (int, float, np.number, bool)):
        return [data]  # one vector as a list of numbers
    return list(data)


def field_search_metric(
    vector_type: DataType,
    spec: IndexSpec | None,
    search_params: Mapping[str, Any],
    metric: MetricType,
) -> MetricType:
    """The metric a search of a non-FLOAT field uses, checked against the field type."""
    if spec is None:
        requested = search_params.get("metric_type") or default_metric(vector_type)
        return check_metric(vector_type, requested)
    return check_metric(vector_type, metric)
