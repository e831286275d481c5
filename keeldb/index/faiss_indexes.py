"""FAISS-backed FLAT and HNSW indexes.

``FaissFlatIndex`` (FLAT) keeps the vectors in a numpy matrix and answers with
:func:`~keeldb.index.exact.exact_search_prepared` (FAISS brute-force kernels), so
its hits equal exact search's by construction.

``FaissHnswIndex`` (HNSW) wraps ``faiss.IndexHNSWFlat``. Build params ``M``
(graph degree, [2, 2048], default 30) and ``efConstruction`` ([1, 2^31-1],
default 360) are Milvus's defaults; search param ``ef`` defaults to
``max(k, 64)`` and must be ``>= k`` (Milvus's rule and wording). Filtered
searches go through :func:`~keeldb.index.filtering.search_planned`: FAISS gets
the ``allowed`` bitmap as an ``IDSelectorBitmap`` with an ``ef`` raised for the
query's local selectivity, or the query is scanned exactly over the allowed rows
(the HNSW storage holds the raw vectors, read in place without a copy).

Invariants:

- COSINE vectors are stored unit-normalised and scored with the inner product.
- Search never mutates the index: ``ef`` and the selector travel in a per-call
  ``SearchParametersHNSW`` (never ``index.hnsw.efSearch``), so concurrent
  searches on one built index are safe. FAISS releases the GIL while searching.
- Payload: FLAT → ``vectors`` (float32 (n, dim), normalised for COSINE);
  HNSW → ``faiss`` (``faiss.serialize_index`` bytes); see :mod:`keeldb.index.codec`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import faiss
import numpy as np

from keeldb.errors import CorruptionError
from keeldb.index.base import IndexBase
from keeldb.index.codec import require_array
from keeldb.index.exact import exact_search_prepared, faiss_metric
from keeldb.index.filtering import HnswPlanning, Restriction
from keeldb.index.hits import SearchHits
from keeldb.index.range_search import RangeBounds
from keeldb.types import MetricType


class FaissFlatIndex(IndexBase):
    """FLAT: exact search over the stored vectors."""

    index_type = "FLAT"
    backend = "faiss"

    def _init_state(self) -> None:
        self._vectors = np.empty((0, self.dim), dtype=np.float32)

    def build(self, vectors: np.ndarray) -> None:
        self._vectors = self.prepare(vectors, "vectors", copy=True)
        self.count = len(self._vectors)

    def memory_bytes(self) -> int:
        return int(self._vectors.nbytes)

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, params: dict[str, Any]
    ) -> SearchHits:
        return exact_search_prepared(self._vectors, queries, k, self.metric, allowed)

    def _search_range(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        params: dict[str, Any],
        bounds: RangeBounds,
    ) -> SearchHits:
        return exact_search_prepared(self._vectors, queries, k, self.metric, allowed, bounds)

    def _payload(self) -> dict[str, np.ndarray]:
        return {"vectors": self._vectors}

    @classmethod
    def restore(
        cls,
        metric: MetricType,
        dim: int,
        params: Mapping[str, Any],
        count: int,
        arrays: dict[str, np.ndarray],
    ) -> FaissFlatIndex:
        index = cls(metric, dim, params)
        vectors = require_array(arrays, "vectors")
        if vectors.dtype != np.float32 or vectors.shape != (count, dim):
            raise CorruptionError(
                f"FLAT payload has shape {vectors.shape} {vectors.dtype}, "
                f"expected ({count}, {dim}) float32"
            )
        index._vectors = np.ascontiguousarray(vectors)
        index.count = count
        return index


class FaissHnswIndex(HnswPlanning, IndexBase):
    """HNSW over FAISS, with the filtered-search cost model of :mod:`keeldb.index.filtering`."""

    index_type = "HNSW"
    backend = "faiss"
    #: search_exact gathers from the stored vectors: a read-only mask's rows are cached
    caches_gathered_rows = True

    def _init_state(self) -> None:
        self._index: Any = None
        self._vectors = np.empty((0, self.dim), dtype=np.float32)

    def build(self, vectors: np.ndarray) -> None:
        prepared = self.prepare(vectors, "vectors", copy=False)
        index = faiss.IndexHNSWFlat(self.dim, self.params["M"], faiss_metric(self.metric))
        index.hnsw.efConstruction = self.params["efConstruction"]
        add_graph_rows(index, prepared)
        self._attach(index)

    def memory_bytes(self) -> int:
        if self._index is None:
            return 0
        hnsw = self._index.hnsw
        graph = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        return int(self._vectors.nbytes + graph)

    def _attach(self, index: Any) -> None:
        self._index = index
        self.count = int(index.ntotal)
        storage = faiss.downcast_index(index.storage)
        # A zero-copy view of the stored (normalised) vectors for exact fallbacks;
        # valid while self._index lives, and the index is never modified after build.
        size = self.count * self.dim
        pointer = storage.get_xb()  # type: ignore[attr-defined]  # downcast to IndexFlat
        flat = faiss.rev_swig_ptr(pointer, size) if size else np.empty(0, np.float32)
        flat.flags.writeable = False
        self._vectors = flat.reshape(self.count, self.dim)

    # --- PlannedBackend (planning itself: HnswPlanning) ------------------------------

    def search_unrestricted(
        self, queries: np.ndarray, k: int, effort: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return search_into(
            self._index,
            queries,
            min(k, self.count),
            _unfiltered_hnsw_params(self._clamp_ef(effort, k)),
        )

    def search_restricted(
        self,
        queries: np.ndarray,
        k: int,
        effort: int,
        restriction: Restriction,
        base_effort: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        params = hnsw_search_params(
            self._clamp_ef(effort, k), bitmap_selector(restriction, self.count)
        )
        return self._index.search(queries, min(k, self.count), params=params)

    def search_exact(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchHits:
        return exact_search_prepared(self._vectors, queries, k, self.metric, allowed)

    def _clamp_ef(self, effort: int, k: int) -> int:
        # FAISS sizes its heaps by efSearch up front, and a beam wider than the data buys
        # nothing, so a huge (valid) ef must not become a huge allocation.
        return min(max(effort, k), max(self.count, k))

    # --- persistence ----------------------------------------------------------------

    def _payload(self) -> dict[str, np.ndarray]:
        if self._index is None:
            return {}
        return {"faiss": faiss.serialize_index(self._index)}

    @classmethod
    def restore(
        cls,
        metric: MetricType,
        dim: int,
        params: Mapping[str, Any],
        count: int,
        arrays: dict[str, np.ndarray],
    ) -> FaissHnswIndex:
        index = cls(metric, dim, params)
        if count == 0 and "faiss" not in arrays:
            return index
        loaded = checked_faiss(arrays, faiss.IndexHNSWFlat, "HNSW", dim, count, metric)
        index._attach(loaded)
        return index


def checked_faiss(
    arrays: dict[str, np.ndarray],
    expected: type,
    index_type: str,
    dim: int,
    count: int,
    metric: MetricType | None = None,
) -> Any:
    """The payload's ``faiss`` index, checked against the segment: its class, dim, row
    count and (when given) metric; a mismatch is ``CorruptionError``."""
    loaded = deserialize_faiss(require_array(arrays, "faiss"), expected)
    if (
        loaded.d != dim
        or loaded.ntotal != count
        or (metric is not None and loaded.metric_type != faiss_metric(metric))
    ):
        for_metric = f" for metric {metric.value}" if metric is not None else ""
        raise CorruptionError(
            f"{index_type} payload holds {loaded.ntotal} vectors of dim {loaded.d}, "
            f"expected {count} of dim {dim}{for_metric}"
        )
    return loaded


def raw_or_faiss_payload(raw: np.ndarray | None, index: Any) -> dict[str, np.ndarray]:
    """The payload of an index that keeps a too-small segment's rows raw (see
    ``checked_raw_vectors``): those rows, else the serialised FAISS index."""
    if raw is not None:
        return {"vectors": raw}
    if index is None:
        return {}
    return {"faiss": faiss.serialize_index(index)}


def checked_raw_vectors(
    arrays: dict[str, np.ndarray], index_type: str, dim: int, count: int
) -> np.ndarray:
    """The raw float32 rows a segment too small to train keeps instead of an index."""
    raw = arrays["vectors"]
    if raw.dtype != np.float32 or raw.shape != (count, dim):
        raise CorruptionError(f"{index_type} payload has shape {raw.shape} {raw.dtype}")
    return np.ascontiguousarray(raw)


def deserialize_faiss(blob: np.ndarray, expected: type) -> Any:
    """Read a FAISS index from serialised bytes, checking its concrete class."""
    try:
        # read_index already returns the concrete class; downcast_index on a temporary
        # would leave a proxy to a freed object.
        loaded = faiss.deserialize_index(np.ascontiguousarray(blob))
    except RuntimeError as exc:  # FAISS reports malformed input as RuntimeError
        raise CorruptionError(f"FAISS index payload is unreadable: {exc}") from exc
    if not isinstance(loaded, expected):
        raise CorruptionError(
            f"FAISS index payload is a {type(loaded).__name__}, expected {expected.__name__}"
        )
    return loaded


#: Rows per ``add`` call when building an HNSW graph. On the Debian corpus (stored in
#: alphabetical package order) one bulk ``add`` builds a visibly worse graph than calls of
#: a few thousand rows, at the same build cost (recall@10 at ef=128: 0.935 bulk, 0.975 in
#: chunks of 2,048); on synthetic data, sorted or shuffled, the two are equal.
#: Measured by ``python -m bench.hnsw_build_chunks`` (bench/results/hnsw-build-chunks.md).
HNSW_ADD_CHUNK_ROWS = 2048


def add_graph_rows(index: Any, vectors: np.ndarray) -> None:
    """Add ``vectors`` to a FAISS HNSW graph in chunks of ``HNSW_ADD_CHUNK_ROWS``."""
    for start in range(0, len(vectors), HNSW_ADD_CHUNK_ROWS):
        index.add(vectors[start : start + HNSW_ADD_CHUNK_ROWS])


def bitmap_selector(restriction: Restriction, count: int) -> Any:
    """A FAISS ``IDSelectorBitmap`` over the restriction's rows. It only points at
    ``restriction.bits`` (cached on the restriction), so keep the restriction alive
    for the search."""
    return faiss.IDSelectorBitmap(count, faiss.swig_ptr(restriction.bits))


class PerCallBackend:
    """:class:`~keeldb.index.filtering.PlannedBackend` for one search call of an index
    whose search takes a per-call setting (HNSW_SQ/PQ's ``refine_k``, SCANN's
    ``reorder_k``), so that setting never lives on the shared index.

    ``search(queries, k, effort, selector, setting)`` is the index's own search.
    """

    def __init__(self, index: Any, search: Callable[..., Any], setting: Any) -> None:
        self.index = index
        self.search = search
        self.setting = setting

    def effort_cost_rows(self, effort: int) -> float:
        return self.index.effort_cost_rows(effort)

    def exact_cost_rows(self, allowed_count: int) -> float:
        return self.index.exact_cost_rows(allowed_count)

    def search_unrestricted(
        self, queries: np.ndarray, k: int, effort: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.search(queries, k, effort, None, self.setting)

    def search_restricted(
        self,
        queries: np.ndarray,
        k: int,
        effort: int,
        restriction: Restriction,
        base_effort: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        selector = bitmap_selector(restriction, self.index.count)
        return self.search(queries, k, effort, selector, self.setting)

    def search_exact(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchHits:
        return self.index.search_exact(queries, k, allowed)


def search_into(
    index: Any, queries: np.ndarray, k: int, params: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``index.search`` without faiss's Python wrapper (its argument checks cost
    about as much as a small HNSW search); ``queries`` must be C-contiguous float32."""
    n = len(queries)
    distances = np.empty((n, k), dtype=np.float32)
    labels = np.empty((n, k), dtype=np.int64)
    index.search_c(
        n, faiss.swig_ptr(queries), k, faiss.swig_ptr(distances), faiss.swig_ptr(labels), params
    )
    return distances, labels


@functools.lru_cache(maxsize=64)
def _unfiltered_hnsw_params(ef: int) -> Any:
    """Shared, read-only settings for unfiltered searches: building a
    SearchParametersHNSW costs more than a small HNSW search itself."""
    return hnsw_search_params(ef)


def hnsw_search_params(ef: int, selector: Any = None) -> Any:
    """Per-call HNSW settings: ``efSearch`` and an optional ``IDSelector``."""
    # faiss's bundled type stubs predate the SearchParameters classes.
    return faiss.SearchParametersHNSW(efSearch=ef, sel=selector)  # type: ignore[attr-defined]


def ivf_search_params(nprobe: int, selector: Any = None) -> Any:
    """Per-call IVF settings: ``nprobe`` and an optional ``IDSelector``."""
    return faiss.SearchParametersIVF(nprobe=nprobe, sel=selector)  # type: ignore[call-arg]
