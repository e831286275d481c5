"""Indexes by vector field type: which index types and metrics each type takes.

The engine asks for an index by the field's data type (``DataType``, an L0
value; this layer still knows nothing of schemas):

    FLOAT / FLOAT16 / BFLOAT16 / INT8   the float catalogue (registry.py), over float32
                                        copies; L2, IP, COSINE
    BINARY_VECTOR                       BIN_FLAT, BIN_IVF_FLAT (faiss_binary.py);
                                        HAMMING, JACCARD
    SPARSE_FLOAT_VECTOR                 SPARSE_INVERTED_INDEX, SPARSE_WAND
                                        (sparse_inverted.py); IP

AUTOINDEX resolves per type as Milvus's autoIndex does: HNSW for the float
types (registry.py), BIN_IVF_FLAT for binary and SPARSE_INVERTED_INDEX for
sparse vectors. A metric or an index type the field type cannot take raises
IndexParamError in Milvus's wording, naming the value and listing the valid ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keeldb.errors import CorruptionError, IndexParamError, did_you_mean
from keeldb.index.base import VectorIndex
from keeldb.index.codec import decode_index
from keeldb.index.faiss_binary import (
    FaissBinFlatIndex,
    FaissBinIvfFlatIndex,
    normalize_binary_params,
)
from keeldb.index.filtering import DEFAULT_POLICY, FilterPolicy
from keeldb.index.registry import create_index, load_index
from keeldb.index.sparse_inverted import (
    SparseInvertedIndex,
    SparseWandIndex,
    normalize_sparse_params,
)
from keeldb.index.tuning_params import AUTOINDEX_NAMES
from keeldb.types import BINARY_METRICS, FLOAT_METRICS, DataType, MetricType

_BINARY_CLASSES: dict[str, Any] = {
    "BIN_FLAT": FaissBinFlatIndex,
    "BIN_IVF_FLAT": FaissBinIvfFlatIndex,
}
_SPARSE_CLASSES: dict[str, Any] = {
    "SPARSE_INVERTED_INDEX": SparseInvertedIndex,
    "SPARSE_WAND": SparseWandIndex,
}
_AUTOINDEX = {
    DataType.BINARY_VECTOR: "BIN_IVF_FLAT",
    DataType.SPARSE_FLOAT_VECTOR: "SPARSE_INVERTED_INDEX",
}
_WORDS = {DataType.BINARY_VECTOR: "binary", DataType.SPARSE_FLOAT_VECTOR: "sparse"}


def valid_metrics(vector_type: DataType) -> tuple[MetricType, ...]:
    if vector_type == DataType.BINARY_VECTOR:
        return BINARY_METRICS
    if vector_type == DataType.SPARSE_FLOAT_VECTOR:
        return (MetricType.IP,)
    return FLOAT_METRICS


def default_metric(vector_type: DataType) -> MetricType:
    """The metric an index gets when none is given (Milvus: COSINE for float vectors)."""
    return (
        valid_metrics(vector_type)[0]
        if not vector_type.is_dense_float_vector
        else MetricType.COSINE
    )


def check_metric(vector_type: DataType, metric: Any) -> MetricType:
    """``metric`` (a name) as a MetricType valid for ``vector_type``, or IndexParamError."""
    name = str(getattr(metric, "value", metric) or "").strip().upper()
    valid = [m.value for m in valid_metrics(vector_type)]
    if name in valid:
        return MetricType(name)
    hint = did_you_mean(name, valid) or f"use {' or '.join(valid)}"
    if vector_type == DataType.SPARSE_FLOAT_VECTOR:
        raise IndexParamError(
            f"only IP is the supported metric type for sparse index, got metric type: {name}",
            hint=hint,
        )
    kind = _WORDS.get(vector_type, "float")
    raise IndexParamError(f"{kind} vector index does not support metric type: {name}", hint=hint)


def _special_classes(vector_type: DataType) -> dict[str, Any] | None:
    if vector_type == DataType.BINARY_VECTOR:
        return _BINARY_CLASSES
    if vector_type == DataType.SPARSE_FLOAT_VECTOR:
        return _SPARSE_CLASSES
    return None


def check_index_type(vector_type: DataType, index_type: str | None) -> str:
    """The concrete index type for ``vector_type`` (AUTOINDEX resolved for binary / sparse);
    float types keep their name for the registry, which resolves and checks it."""
    name = (index_type or "").strip().upper()
    classes = _special_classes(vector_type)
    if classes is None:
        if name in _BINARY_CLASSES or name in _SPARSE_CLASSES:
            raise _cannot_build(vector_type, name, "FLAT, HNSW, IVF_FLAT, ... or AUTOINDEX")
        return name
    if name in AUTOINDEX_NAMES:
        return _AUTOINDEX[vector_type]
    if name not in classes:
        raise _cannot_build(vector_type, name, ", ".join((*classes, "AUTOINDEX")))
    return name


def _cannot_build(vector_type: DataType, name: str, valid: str) -> IndexParamError:
    # Milvus's wording (proxy index checks)
    return IndexParamError(
        f"data type {vector_type.name} can't build with this index {name}",
        hint=f"index types for {vector_type.name}: {valid}",
    )


def normalize_field_params(
    vector_type: DataType, index_type: str, dim: int, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    if vector_type == DataType.BINARY_VECTOR:
        return normalize_binary_params(index_type, dim, params)
    return normalize_sparse_params(index_type, params)


def create_field_index(
    vector_type: DataType,
    index_type: str | None,
    metric: MetricType | str,
    dim: int,
    params: Mapping[str, Any] | None = None,
    *,
    policy: FilterPolicy = DEFAULT_POLICY,
) -> VectorIndex:
    """A new, empty index for a field of ``vector_type`` (``dim``: bits for binary, 0 sparse)."""
    checked = check_metric(vector_type, metric)
    name = check_index_type(vector_type, index_type)
    classes = _special_classes(vector_type)
    if classes is None:
        return create_index(index_type, checked, dim, params, policy=policy)
    normalized = normalize_field_params(vector_type, name, dim, params)
    return classes[name](checked, dim, normalized, policy=policy)


def load_field_index(
    vector_type: DataType,
    index_type: str | None,
    metric: MetricType | str,
    dim: int,
    params: Mapping[str, Any] | None,
    data: bytes,
    *,
    policy: FilterPolicy = DEFAULT_POLICY,
) -> VectorIndex:
    """An index back from ``to_bytes`` output; the arguments must describe it."""
    classes = _special_classes(vector_type)
    if classes is None:
        return load_index(index_type, metric, dim, params, data, policy=policy)
    checked = check_metric(vector_type, metric)
    name = check_index_type(vector_type, index_type)
    normalized = normalize_field_params(vector_type, name, dim, params)
    meta, arrays = decode_index(data)
    cls = classes[name]
    expected = {"index_type": name, "metric": checked.value, "dim": dim, "params": normalized,
                "backend": cls.backend}  # fmt: skip
    for key, value in expected.items():
        if meta.get(key) != value:
            raise CorruptionError(
                f"vector index data has {key}={meta.get(key)!r}, but {value!r} was expected"
            )
    count = meta.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise CorruptionError(f"vector index data has an invalid row count {count!r}")
    index = cls.restore(checked, dim, normalized, count, arrays)
    index.policy = policy
    return index
