"""The vector-index contract: :class:`VectorIndex`, :class:`SearchHits` and shared helpers.

An index knows float32 vectors and their row offsets in one segment (local ids
``0..n-1``), nothing of schemas, filters or files.

Invariants every implementation keeps:

- ``build(vectors)`` gives row ``i`` the local id ``i``; ``count == len(vectors)``.
- ``search`` returns :class:`SearchHits` of shape ``(nq, k)`` in Milvus's score
  convention: L2 → squared Euclidean distance, ascending; IP → inner product,
  descending; COSINE → cosine similarity, descending. Slots beyond the rows that
  qualify hold id ``-1`` and score ``+inf`` (L2) or ``-inf`` (IP, COSINE).
- ``allowed`` is a boolean array of length ``count`` (True = the row may be
  returned) or None for all rows; a returned id is always an allowed row.
- COSINE indexes store unit-normalised vectors and normalise queries, and score
  with the inner product.
- A built index is never mutated by ``search``, so concurrent searches on one
  index are safe; per-call settings travel in per-call parameter objects.
- ``to_bytes`` output loads back (through ``keeldb.index.registry.load_index``)
  into an index that returns identical hits.
- ``radius`` / ``range_filter`` in ``params`` make a range search
  (:mod:`keeldb.index.range_search`): top-``k`` among the rows inside the range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import faiss
import numpy as np

from keeldb.errors import IndexParamError, InvalidArgument, did_you_mean
from keeldb.index.codec import encode_index
from keeldb.index.filtering import DEFAULT_POLICY, FilterPolicy
from keeldb.index.hits import SearchHits, empty_hits
from keeldb.index.params import resolve_search_params
from keeldb.index.range_search import RangeBounds, parse_range, search_widening, without_range
from keeldb.types import FLOAT_METRICS, MetricType


@runtime_checkable
class VectorIndex(Protocol):
    """A vector index over one segment's rows. See the module docstring."""

    index_type: str
    metric: MetricType
    dim: int
    params: dict[str, Any]
    count: int

    def build(self, vectors: np.ndarray) -> None: ...

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> SearchHits: ...

    def search_unfiltered(
        self, queries: np.ndarray, k: int, params: Mapping[str, Any] | None
    ) -> SearchHits: ...

    def to_bytes(self) -> bytes: ...

    def memory_bytes(self) -> int: ...


def coerce_metric(metric: MetricType | str) -> MetricType:
    """``metric`` as a MetricType; a bad name raises IndexParamError."""
    if isinstance(metric, MetricType):
        return metric
    name = str(getattr(metric, "value", metric)).strip().upper()
    valid = [m.value for m in FLOAT_METRICS]
    if name not in valid:
        # Milvus's wording, so clients matching on it keep working
        raise IndexParamError(
            f"float vector index does not support metric type: {name}",
            hint=did_you_mean(name, valid) or f"use one of {', '.join(valid)}",
        )
    return MetricType(name)


def as_matrix(array: np.ndarray, dim: int, what: str) -> np.ndarray:
    """Return ``array`` as a C-contiguous float32 (n, dim) matrix or raise.

    A single vector of shape (dim,) is read as one row.
    """
    if (
        isinstance(array, np.ndarray)
        and array.dtype == np.float32
        and array.ndim == 2
        and array.shape[1] == dim
        and array.flags.c_contiguous
    ):
        return array  # already what every backend wants: the common, hot case
    matrix = np.asarray(array)
    if matrix.ndim == 1 and matrix.shape[0] == dim:
        matrix = matrix.reshape(1, dim)
    if matrix.ndim == 1 and matrix.size == 0:
        matrix = matrix.reshape(0, dim)
    if matrix.ndim != 2:
        raise InvalidArgument(f"{what} must be a 2-D array (n, {dim}), got shape {matrix.shape}")
    if matrix.shape[1] != dim:
        raise InvalidArgument(
            f"{what} have dimension {matrix.shape[1]}, but the index dimension is {dim}"
        )
    if not np.issubdtype(matrix.dtype, np.number) or np.iscomplexobj(matrix):
        raise InvalidArgument(f"{what} must be real numbers, got dtype {matrix.dtype}")
    return np.ascontiguousarray(matrix, dtype=np.float32)


def check_allowed(allowed: np.ndarray | None, count: int) -> np.ndarray | None:
    """Validate an ``allowed`` bitmap; return it as a bool array, or None for "all rows"."""
    if allowed is None:
        return None
    mask = np.asarray(allowed)
    if mask.dtype != np.bool_:
        raise InvalidArgument(f"allowed must be a boolean array, got dtype {mask.dtype}")
    if mask.shape != (count,):
        raise InvalidArgument(
            f"allowed must have shape ({count},) to match the index rows, got {mask.shape}"
        )
    return mask


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidArgument(f"topk {k!r} is invalid, it should be a positive integer")
    return int(k)


def normalized(vectors: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """Unit-normalise rows (zero rows stay zero). Copies unless ``in_place``."""
    out = vectors if in_place else vectors.copy()
    if out.dtype == np.float32 and out.ndim == 2 and out.flags.c_contiguous:
        # FAISS's kernel: ~10x faster than numpy's for a single query, the hot case
        faiss.fvec_renorm_L2(out.shape[1], out.shape[0], faiss.swig_ptr(out))  # type: ignore[attr-defined]
        return out
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


class IndexBase:
    """Shared plumbing of the concrete indexes: validation, COSINE handling, encoding.

    Subclasses set ``index_type`` and ``backend`` and implement ``build``,
    ``_search``, ``_payload``, ``_restore`` and ``memory_bytes``.
    """

    index_type: str = ""
    backend: str = ""

    def __init__(
        self,
        metric: MetricType,
        dim: int,
        params: Mapping[str, Any],
        *,
        policy: FilterPolicy = DEFAULT_POLICY,
    ) -> None:
        self.metric = metric
        self.dim = dim
        self.params = dict(params)
        self.count = 0
        self.policy = policy  # the filtered-search cost model (unused by exact FLAT)
        self._resolved: dict[tuple[Any, int], dict[str, Any]] = {}
        self._last_resolved: tuple[Any, int, dict[str, Any]] | None = None
        self._init_state()

    def _init_state(self) -> None:
        """Set the backend's own empty state (its index handle, vectors...)."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(metric={self.metric.value}, dim={self.dim}, "
            f"count={self.count}, params={self.params})"
        )

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> SearchHits:
        """Top-``k`` allowed rows per query; see :class:`VectorIndex` and the module doc."""
        k = check_k(k)
        ranged = params is not None and ("radius" in params or "range_filter" in params)
        bounds = parse_range(params, self.metric) if ranged else None
        if bounds is not None:
            params = without_range(params)  # type: ignore[arg-type]
        search_params = self._search_params(params, k)
        prepared = self.prepare(queries, "query vectors", copy=False)
        mask = check_allowed(allowed, self.count)
        if self.count == 0 or len(prepared) == 0:
            return empty_hits(len(prepared), k, self.metric)
        if bounds is not None:
            return self._search_range(prepared, k, mask, search_params, bounds)
        return self._search(prepared, k, mask, search_params)

    def search_unfiltered(
        self, queries: np.ndarray, k: int, params: Mapping[str, Any] | None
    ) -> SearchHits:
        """``search`` over every row, without range bounds, for callers that already
        validated ``queries`` (C-contiguous float32, this dim, finite) and ``k``.

        The engine's hot path: the checks ``search`` repeats cost as much as a
        small graph search.
        """
        if self.count == 0:
            return empty_hits(len(queries), k, self.metric)
        if self.metric is MetricType.COSINE:
            queries = normalized(queries)
        return self._search(queries, k, None, self._search_params(params, k))

    def _search_range(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        params: dict[str, Any],
        bounds: RangeBounds,
    ) -> SearchHits:
        """Range search; by default widening rounds of the index's own search."""

        def one_round(rows: np.ndarray, k_prime: int, round_no: int) -> tuple[SearchHits, bool]:
            round_params, short_is_final = self._range_round(params, k_prime, round_no)
            return self._search(queries[rows], k_prime, allowed, round_params), short_is_final

        return search_widening(one_round, len(queries), k, self.count, bounds)

    def _range_round(
        self, params: dict[str, Any], k_prime: int, round_no: int
    ) -> tuple[dict[str, Any], bool]:
        """Search params for widening round ``round_no`` (top ``k_prime``), and whether a
        shorter answer than ``k_prime`` then means no candidate is left."""
        return params, True

    def _search_params(self, params: Mapping[str, Any] | None, k: int) -> dict[str, Any]:
        """``resolve_search_params``, memoised: the same few settings recur on every call.

        The engine passes the same params object on every call of a memoised search,
        so an identity check on the last call's answer skips even building the key.
        """
        last = self._last_resolved
        if last is not None and last[0] is params and last[1] == k:
            return last[2]
        resolved = self._search_params_keyed(params, k)
        self._last_resolved = (params, k, resolved)  # one tuple: replaced atomically
        return resolved

    def _search_params_keyed(self, params: Mapping[str, Any] | None, k: int) -> dict[str, Any]:
        try:
            key = (tuple(sorted(params.items())) if params else (), k)
            cached = self._resolved.get(key)
        except TypeError:  # an unhashable value: validate without the cache
            return resolve_search_params(self.index_type, params, k)
        if cached is None:
            cached = resolve_search_params(self.index_type, params, k)
            if len(self._resolved) < 256:
                self._resolved[key] = cached
        return cached

    def prepare(self, vectors: np.ndarray, what: str, *, copy: bool) -> np.ndarray:
        """Validated float32 rows; unit-normalised (always a copy) for COSINE."""
        matrix = as_matrix(vectors, self.dim, what)
        if self.metric is MetricType.COSINE:
            return normalized(matrix)
        if copy and isinstance(vectors, np.ndarray) and np.may_share_memory(matrix, vectors):
            return matrix.copy()
        return matrix

    def to_bytes(self) -> bytes:
        meta = {
            "index_type": self.index_type,
            "backend": self.backend,
            "metric": self.metric.value,
            "dim": self.dim,
            "count": self.count,
            "params": self.params,
        }
        return encode_index(meta, self._payload())

    def _search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        params: dict[str, Any],
    ) -> SearchHits:
        raise NotImplementedError

    def _payload(self) -> dict[str, np.ndarray]:
        raise NotImplementedError
