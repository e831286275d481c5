"""FAISS-backed quantised HNSW graphs: HNSW_SQ and HNSW_PQ, with optional refine.

Milvus's names and parameters:

- **HNSW_SQ** (``faiss.IndexHNSWSQ``): the HNSW graph over scalar-quantised
  vectors. Build: ``M``, ``efConstruction`` (as HNSW), ``sq_type`` (``SQ4U``,
  ``SQ6``, ``SQ8``, ``BF16``, ``FP16``; default SQ8).
- **HNSW_PQ** (``faiss.IndexHNSWPQ``): the graph over product-quantised vectors.
  Build: ``M``, ``efConstruction``, ``m`` (sub-quantisers, must divide dim;
  default 32 where it divides dim), ``nbits`` ([1, 24], default 8).
- Both: ``refine`` (bool, default false) and ``refine_type`` (``SQ6``, ``SQ8``,
  ``BF16``, ``FP16``, ``FP32``; more precise than the codes; default FP32)
  keep a second copy of the vectors and re-rank with it
  (:mod:`keeldb.index.faiss_refine`). Search: ``ef`` (as HNSW) and
  ``refine_k`` (>= 1, default 1): ``k · refine_k`` graph candidates are re-scored.

Training needs rows (SQ ranges; PQ codebooks need ``2^nbits`` rows). A segment
too small to train keeps its raw vectors and is searched exactly, as Milvus
brute-forces segments below its index-build threshold.

Filtered search: the HNSW cost model (:class:`~keeldb.index.filtering.HnswPlanning`,
effort = ``ef``); FAISS gets the bitmap as an ``IDSelectorBitmap`` inside the
graph's search parameters. The exact route scores the allowed rows decoded from
the most precise copy held (the refine copy, else the graph's codes): exact over
what the index stores, as IVF_SQ8's exact route is.

Invariants: as :mod:`keeldb.index.faiss_indexes` (COSINE stored normalised;
search never mutates the index; per-call FAISS search parameters). Payload:
``faiss`` (``faiss.serialize_index`` bytes, an ``IndexRefine`` when refining)
or ``vectors`` for untrained indexes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import faiss
import numpy as np

from keeldb.index.base import IndexBase
from keeldb.index.exact import exact_search_prepared, faiss_metric
from keeldb.index.faiss_indexes import (
    PerCallBackend,
    add_graph_rows,
    checked_faiss,
    checked_raw_vectors,
    hnsw_search_params,
    raw_or_faiss_payload,
    search_into,
)
from keeldb.index.faiss_refine import (
    SQ_TYPES,
    decode_rows,
    refine_parts,
    refine_search_params,
    stored_bytes,
    wrap_refine,
)
from keeldb.index.filtering import HnswPlanning, search_planned
from keeldb.index.hits import SearchHits
from keeldb.index.range_search import RangeBounds
from keeldb.types import MetricType


class FaissHnswQuantizedIndex(HnswPlanning, IndexBase):
    """The shared half of HNSW_SQ and HNSW_PQ; subclasses make the FAISS graph."""

    backend = "faiss"

    def _init_state(self) -> None:
        self._index: Any = None  # the graph, or an IndexRefine around it
        self._graph: Any = None
        self._refine: Any = None
        self._raw: np.ndarray | None = None  # instead of _index when too few rows to train

    def _new_graph(self) -> Any:
        raise NotImplementedError

    def _min_train_rows(self) -> int:
        return 1

    def build(self, vectors: np.ndarray) -> None:
        prepared = self.prepare(vectors, "vectors", copy=True)
        self.count = len(prepared)
        self._init_state()
        if self.count < self._min_train_rows():
            self._raw = prepared
            return
        graph = self._new_graph()
        graph.hnsw.efConstruction = self.params["efConstruction"]
        graph.train(prepared)
        add_graph_rows(graph, prepared)
        if self.params.get("refine"):
            graph = wrap_refine(graph, self.params.get("refine_type", "fp32"), prepared)
        self._attach(graph)

    def _attach(self, index: Any) -> None:
        self._index = index
        self._graph, self._refine = refine_parts(index)
        self.count = int(index.ntotal)

    def memory_bytes(self) -> int:
        if self._raw is not None:
            return int(self._raw.nbytes)
        if self._graph is None:
            return 0
        hnsw = self._graph.hnsw
        graph = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        codes = stored_bytes(faiss.downcast_index(self._graph.storage))
        refine = stored_bytes(self._refine) if self._refine is not None else 0
        return int(graph + codes + refine)

    # --- search ---------------------------------------------------------------------

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, params: dict[str, Any]
    ) -> SearchHits:
        if self._raw is not None:
            return exact_search_prepared(self._raw, queries, k, self.metric, allowed)
        call = PerCallBackend(self, self.search_codes, float(params.get("refine_k", 1.0)))
        return search_planned(
            call, queries, k, allowed, self.count, params["ef"], self.metric, self.policy
        )

    def _search_range(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        params: dict[str, Any],
        bounds: RangeBounds,
    ) -> SearchHits:
        if self._raw is not None:
            return exact_search_prepared(self._raw, queries, k, self.metric, allowed, bounds)
        return super()._search_range(queries, k, allowed, params, bounds)

    def search_codes(
        self, queries: np.ndarray, k: int, ef: int, selector: Any, k_factor: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The graph search (refined when a refine copy is held) at ``ef``."""
        k = min(k, self.count)
        ef = min(max(ef, k), max(self.count, k))
        k_factor = max(k_factor, 1.0) if self._refine is not None else 0.0
        if selector is None:
            return search_into(self._index, queries, k, _unfiltered_params(ef, k_factor)[0])
        graph_params = hnsw_search_params(ef, selector)
        params = graph_params if not k_factor else refine_search_params(graph_params, k_factor)
        return search_into(self._index, queries, k, params)

    def search_exact(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchHits:
        rows = None if allowed is None else np.flatnonzero(allowed)
        codes = self._refine
        if codes is None:
            codes = faiss.downcast_index(self._graph.storage)
        decoded = decode_rows(codes, rows)
        hits = exact_search_prepared(decoded, queries, k, self.metric, None)
        if rows is not None:
            found = hits.ids >= 0
            hits.ids[found] = rows[hits.ids[found]]
        return hits

    # --- persistence ----------------------------------------------------------------

    def _payload(self) -> dict[str, np.ndarray]:
        return raw_or_faiss_payload(self._raw, self._index)

    @classmethod
    def restore(
        cls,
        metric: MetricType,
        dim: int,
        params: Mapping[str, Any],
        count: int,
        arrays: dict[str, np.ndarray],
    ) -> FaissHnswQuantizedIndex:
        index = cls(metric, dim, params)
        index.count = count
        if "vectors" in arrays:
            index._raw = checked_raw_vectors(arrays, cls.index_type, dim, count)
            return index
        if count == 0 and "faiss" not in arrays:
            return index
        expected = faiss.IndexRefine if params.get("refine") else faiss.IndexHNSW
        index._attach(checked_faiss(arrays, expected, cls.index_type, dim, count, metric))
        return index


@functools.lru_cache(maxsize=128)
def _unfiltered_params(ef: int, k_factor: float) -> tuple[Any, Any]:
    """Shared, read-only settings for unfiltered searches (``k_factor`` 0: no refine):
    building them costs as much as a small graph search. The graph's settings ride
    along in the tuple, because the refine settings only point at them."""
    graph = hnsw_search_params(ef)
    return (refine_search_params(graph, k_factor) if k_factor else graph), graph


class FaissHnswSqIndex(FaissHnswQuantizedIndex):
    """HNSW_SQ: the graph over scalar-quantised vectors (``sq_type``)."""

    index_type = "HNSW_SQ"

    def _new_graph(self) -> Any:
        qtype = SQ_TYPES[self.params.get("sq_type", "sq8")]
        metric = faiss_metric(self.metric)
        # faiss's bundled type stubs lag its constructors
        return faiss.IndexHNSWSQ(self.dim, qtype, self.params["M"], metric)  # type: ignore[arg-type]


class FaissHnswPqIndex(FaissHnswQuantizedIndex):
    """HNSW_PQ: the graph over product-quantised vectors (``m`` codes of ``nbits``)."""

    index_type = "HNSW_PQ"

    def _min_train_rows(self) -> int:
        return 2 ** self.params["nbits"]  # one training row per codebook entry at least

    def _new_graph(self) -> Any:
        m, nbits = self.params["m"], self.params["nbits"]
        metric = faiss_metric(self.metric)
        graph = faiss.IndexHNSWPQ(self.dim, m, self.params["M"], nbits, metric)  # type: ignore[call-arg]
        pq = faiss.downcast_index(graph.storage).pq  # type: ignore[attr-defined]
        pq.cp.min_points_per_centroid = 1  # small segments are normal: no training notes
        pq.cp.seed = 1234  # reproducible codebooks
        return graph
