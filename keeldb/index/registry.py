"""The one place that knows which vector index types exist, and which backends are installed.

Index types (Milvus names, case-insensitive): FLAT, HNSW, IVF_FLAT, IVF_SQ8,
IVF_PQ, ANNOY, HNSW_SQ, HNSW_PQ, SCANN. ``AUTOINDEX`` and the empty name resolve
to HNSW with Milvus's autoIndex build params ``M=18, efConstruction=240`` (user-given HNSW params
override them), or, once tuned to a recall target, to the configuration tuning
chose (:mod:`keeldb.index.tuning_params`); the resolved type is what an index
reports as ``index_type``, so the engine keeps the name the user asked for
(describe_index shows it).

Backends: FAISS is a core dependency and backs every type but ANNOY. hnswlib
(HNSW with build param ``backend="hnswlib"``) and annoy (ANNOY) are optional;
they are probed here, and only here, and a missing package raises
:class:`FailedPrecondition` saying what to install.

Errors: unknown index types, metrics or build params, and out-of-range or
ill-typed values raise :class:`IndexParamError` naming the parameter, the value
and what is allowed (with a did-you-mean hint where one helps). Bytes that do
not match what the caller says they are raise :class:`CorruptionError`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from keeldb.errors import CorruptionError, FailedPrecondition, IndexParamError, did_you_mean
from keeldb.index.base import VectorIndex, coerce_metric
from keeldb.index.codec import decode_index
from keeldb.index.faiss_hnsw_quantized import FaissHnswPqIndex, FaissHnswSqIndex
from keeldb.index.faiss_indexes import FaissFlatIndex, FaissHnswIndex
from keeldb.index.faiss_ivf import FaissIvfFlatIndex, FaissIvfPqIndex, FaissIvfSq8Index
from keeldb.index.faiss_scann import FaissScannIndex
from keeldb.index.filtering import DEFAULT_POLICY, FilterPolicy
from keeldb.index.params import (
    BUILD_SPECS,
    check_build_params,
    normalize_build_params,
    resolve_search_params,
)
from keeldb.index.tuning_params import AUTOINDEX_NAMES, resolve_build
from keeldb.types import MetricType

SUPPORTED_INDEX_TYPES: tuple[str, ...] = (
    "FLAT", "HNSW", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "ANNOY", "HNSW_SQ", "HNSW_PQ", "SCANN",
)  # fmt: skip

#: Index classes whose backend is always installed. HNSW picks its backend by param.
_CORE_CLASSES: dict[str, Any] = {
    "FLAT": FaissFlatIndex,
    "IVF_FLAT": FaissIvfFlatIndex,
    "IVF_SQ8": FaissIvfSq8Index,
    "IVF_PQ": FaissIvfPqIndex,
    "HNSW_SQ": FaissHnswSqIndex,
    "HNSW_PQ": FaissHnswPqIndex,
    "SCANN": FaissScannIndex,
}

#: What AUTOINDEX builds: Milvus's default autoIndex build params (milvus.yaml).
AUTOINDEX_TYPE = "HNSW"
AUTOINDEX_PARAMS: dict[str, Any] = {"M": 18, "efConstruction": 240}

_INSTALL_HINTS = {
    "hnswlib": "pip install 'keeldb[hnswlib]' (or: pip install hnswlib)",
    "annoy": "pip install 'keeldb[annoy]' (or: pip install annoy)",
}
#: optional backend -> (module, class)
_OPTIONAL = {
    "hnswlib": ("keeldb.index.hnswlib_index", "HnswlibHnswIndex"),
    "annoy": ("keeldb.index.annoy_index", "AnnoyTreesIndex"),
}


def resolve_index_type(index_type: str | None) -> str:
    """The concrete index type for a user-given name (AUTOINDEX/"" → HNSW)."""
    name = (index_type or "").strip().upper()
    if name in AUTOINDEX_NAMES:
        return AUTOINDEX_TYPE
    if name not in SUPPORTED_INDEX_TYPES:
        valid = ", ".join((*SUPPORTED_INDEX_TYPES, "AUTOINDEX"))
        raise IndexParamError(
            f"invalid index type {index_type!r} for a float vector field (valid: {valid})",
            hint=did_you_mean(name, (*SUPPORTED_INDEX_TYPES, "AUTOINDEX")),
        )
    return name


def normalize_index_params(
    index_type: str | None, dim: int, params: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """Validate build params; return (concrete index type, params with defaults).

    Recall targets and tuning results in ``params`` are resolved first
    (:func:`~keeldb.index.tuning_params.resolve_build`): a tuned AUTOINDEX builds
    the configuration its tuning chose.
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise IndexParamError(f"invalid vector dimension {dim!r}: must be a positive integer")
    index_type, given = resolve_build(index_type, params)
    resolved = resolve_index_type(index_type)
    if (index_type or "").strip().upper() in AUTOINDEX_NAMES:
        given = {**AUTOINDEX_PARAMS, **given}
    normalized = normalize_build_params(resolved, BUILD_SPECS[resolved], given, dim)
    check_build_params(resolved, normalized, dim)
    return resolved, normalized


def create_index(
    index_type: str | None,
    metric: MetricType | str,
    dim: int,
    params: Mapping[str, Any] | None = None,
    *,
    policy: FilterPolicy = DEFAULT_POLICY,
) -> VectorIndex:
    """A new, empty (unbuilt) index; call ``build(vectors)`` next."""
    resolved, normalized = normalize_index_params(index_type, dim, params)
    cls = _index_class(resolved, normalized)
    return cls(coerce_metric(metric), dim, normalized, policy=policy)


def load_index(
    index_type: str | None,
    metric: MetricType | str,
    dim: int,
    params: Mapping[str, Any] | None,
    data: bytes,
    *,
    policy: FilterPolicy = DEFAULT_POLICY,
) -> VectorIndex:
    """Rebuild an index from ``to_bytes`` output; the arguments must describe it."""
    resolved, normalized = normalize_index_params(index_type, dim, params)
    metric = coerce_metric(metric)
    meta, arrays = decode_index(data)
    expected = {"index_type": resolved, "metric": metric.value, "dim": dim, "params": normalized}
    for key, value in expected.items():
        if meta.get(key) != value:
            raise CorruptionError(
                f"vector index data has {key}={meta.get(key)!r}, but {value!r} was expected"
            )
    count = meta.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise CorruptionError(f"vector index data has an invalid row count {count!r}")
    cls = _index_class(resolved, normalized)
    if meta.get("backend") != cls.backend:
        raise CorruptionError(
            f"vector index data was written by backend {meta.get('backend')!r}, "
            f"expected {cls.backend!r}"
        )
    index = cls.restore(metric, dim, normalized, count, arrays)
    index.policy = policy
    return index


def validate_search_params(
    index_type: str | None, params: Mapping[str, Any] | None, k: int
) -> dict[str, Any]:
    """Normalised search params (the inner ``params`` of Milvus's search_params).

    Unknown keys are ignored as Milvus does; known ones are range-checked; HNSW's
    ``ef`` defaults to ``max(k, 64)`` and must be ``>= k``.
    """
    return resolve_search_params(resolve_index_type(index_type), params, k)


def backend_available(backend: str) -> bool:
    """Whether an optional backend's package can be imported."""
    if backend == "faiss":
        return True
    try:
        _load_backend(backend)
    except FailedPrecondition:
        return False
    return True


def _index_class(resolved: str, params: Mapping[str, Any]) -> Any:
    if resolved in _CORE_CLASSES:
        return _CORE_CLASSES[resolved]
    if resolved == "ANNOY":
        return _load_backend("annoy")
    if params.get("backend", "faiss") == "hnswlib":
        return _load_backend("hnswlib")
    return FaissHnswIndex


def _load_backend(backend: str) -> Any:
    """Import an optional backend's index class, or say what to install."""
    if backend not in _OPTIONAL:
        raise IndexParamError(f"unknown index backend {backend!r}")
    module_name, class_name = _OPTIONAL[backend]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name != backend:
            raise
        raise FailedPrecondition(
            f"the index backend '{backend}' needs the {backend} package, which is not installed",
            hint=_INSTALL_HINTS[backend],
        ) from exc
    return getattr(module, class_name)
