"""SCANN: Milvus's IVF with 4-bit fast-scan PQ, over ``faiss.IndexIVFPQFastScan``.

Milvus's SCANN partitions the rows with k-means (``nlist``), scores each probed
list with 4-bit product-quantised codes held in SIMD-friendly blocks, and, when
it keeps the raw vectors (``with_raw_data``, default true), re-ranks the best
``reorder_k`` candidates exactly. Here:

- Build: ``nlist`` [1, 65536] default 128 (trained lists follow Milvus's rule,
  :func:`~keeldb.index.faiss_ivf.trained_nlist`); ``with_raw_data`` (bool,
  default true). The PQ has ``dim / 2`` sub-quantisers of 4 bits (two dimensions
  per code; one per dimension when dim is odd), as Milvus's SCANN does.
- Search: ``nprobe`` [1, 65536] default 8 (clamped to the trained lists);
  ``reorder_k`` [1, 2^31-1], default ``k``: how many fast-scan candidates are
  re-ranked with the raw vectors (ignored without raw data).
- With raw data the FAISS index is an ``IndexRefine`` (fast-scan base, ``IndexFlat``
  refine; :mod:`keeldb.index.faiss_refine`); the filter selector rides in the
  base's ``SearchParametersIVF``.

Too few rows to train (fewer than 16, the 4-bit codebook size) keeps the raw
vectors and searches exactly. Filtered search, persistence and invariants are
those of :mod:`keeldb.index.faiss_ivf`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import faiss
import numpy as np

from keeldb.index.exact import exact_search_prepared, faiss_metric
from keeldb.index.faiss_indexes import (
    PerCallBackend,
    bitmap_selector,
    checked_faiss,
    ivf_search_params,
    search_into,
)
from keeldb.index.faiss_ivf import FaissIvfIndex
from keeldb.index.faiss_refine import (
    decode_rows,
    refine_parts,
    refine_search_params,
    stored_bytes,
    wrap_refine,
)
from keeldb.index.filtering import Restriction, search_planned
from keeldb.index.hits import SearchHits
from keeldb.types import MetricType

SCANN_NBITS = 4


def scann_pq_m(dim: int) -> int:
    """Sub-quantisers of SCANN's fast-scan PQ: two dimensions per 4-bit code."""
    return dim // 2 if dim % 2 == 0 else dim


class FaissScannIndex(FaissIvfIndex):
    """SCANN over FAISS fast-scan IVF-PQ, re-ranked with the raw vectors when kept."""

    index_type = "SCANN"

    @property
    def _index(self) -> Any:
        return self._faiss

    @_index.setter
    def _index(self, index: Any) -> None:
        self._faiss = index
        parts: tuple[Any, Any] = refine_parts(index) if index is not None else (None, None)
        self._ivf, self._refine = parts
        self._nlist = int(self._ivf.nlist) if self._ivf is not None else 0

    def _min_train_rows(self) -> int:
        return 2**SCANN_NBITS

    def _new_faiss_index(self, nlist: int) -> Any:
        metric = faiss_metric(self.metric)
        quantizer = faiss.IndexFlat(self.dim, metric)
        index = faiss.IndexIVFPQFastScan(
            quantizer, self.dim, nlist, scann_pq_m(self.dim), SCANN_NBITS, metric
        )
        index.own_fields = True
        quantizer.this.disown()  # type: ignore[attr-defined]
        index.pq.cp.min_points_per_centroid = 1
        return index

    def _wrap_built(self, index: Any, vectors: np.ndarray) -> Any:
        if not self.params.get("with_raw_data", True):
            return index
        return wrap_refine(index, "fp32", vectors)

    def memory_bytes(self) -> int:
        if self._raw is not None:
            return int(self._raw.nbytes)
        if self._ivf is None:
            return 0
        codes = self.count * (self._ivf.code_size + 8) + self._nlist * self.dim * 4
        refine = stored_bytes(self._refine) if self._refine is not None else 0
        return int(codes + refine)

    # --- search: the IVF planner, with this call's reorder_k -------------------------

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, params: dict[str, Any]
    ) -> SearchHits:
        if self._raw is not None:
            return super()._search(queries, k, allowed, params)
        call = PerCallBackend(self, self.search_lists, int(params.get("reorder_k") or k))
        return search_planned(
            call, queries, k, allowed, self.count, params["nprobe"], self.metric, self.policy
        )

    def search_lists(
        self, queries: np.ndarray, k: int, nprobe: int, selector: Any, reorder_k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probe ``nprobe`` lists; with raw data, re-rank ``max(k, reorder_k)`` candidates."""
        k = min(k, self.count)
        nprobe = min(nprobe, self._nlist)
        k_factor = max(reorder_k, k) / k if self._refine is not None else 0.0
        if selector is None:
            return search_into(self._index, queries, k, _unfiltered_params(nprobe, k_factor)[0])
        base_params = ivf_search_params(nprobe, selector)
        params = base_params if not k_factor else refine_search_params(base_params, k_factor)
        return search_into(self._index, queries, k, params)

    def search_unrestricted(
        self, queries: np.ndarray, k: int, effort: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.search_lists(queries, k, effort, None, k)

    def search_restricted(
        self,
        queries: np.ndarray,
        k: int,
        effort: int,
        restriction: Restriction,
        base_effort: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.search_lists(queries, k, effort, bitmap_selector(restriction, self.count), k)

    def search_exact(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchHits:
        """Exact over the raw vectors when kept; otherwise every list's fast-scan codes."""
        if self._refine is None:
            return super().search_exact(queries, k, allowed)
        rows = None if allowed is None else np.flatnonzero(allowed)
        hits = exact_search_prepared(decode_rows(self._refine, rows), queries, k, self.metric)
        if rows is not None:
            found = hits.ids >= 0
            hits.ids[found] = rows[hits.ids[found]]
        return hits

    # --- persistence ----------------------------------------------------------------

    @classmethod
    def restore(
        cls,
        metric: MetricType,
        dim: int,
        params: Mapping[str, Any],
        count: int,
        arrays: dict[str, np.ndarray],
    ) -> FaissScannIndex:
        if "vectors" in arrays or (count == 0 and "faiss" not in arrays):
            return super().restore(metric, dim, params, count, arrays)  # type: ignore[return-value]
        index = cls(metric, dim, params)
        index.count = count
        expected = faiss.IndexRefine if params.get("with_raw_data", True) else faiss.IndexIVF
        index._index = checked_faiss(arrays, expected, "SCANN", dim, count)
        return index


@functools.lru_cache(maxsize=128)
def _unfiltered_params(nprobe: int, k_factor: float) -> tuple[Any, Any]:
    """Shared, read-only settings for unfiltered searches (``k_factor`` 0: no re-ranking);
    the IVF settings ride along because the refine settings only point at them."""
    base = ivf_search_params(nprobe)
    return (refine_search_params(base, k_factor) if k_factor else base), base
