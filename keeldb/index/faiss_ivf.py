"""FAISS-backed inverted-file indexes: IVF_FLAT, IVF_SQ8 and IVF_PQ.

Build params (Milvus's ranges): ``nlist`` [1, 65536] default 128 for all three;
IVF_PQ adds ``m`` (sub-quantizers, must divide dim; default: the largest divisor
of dim that is at most dim/4) and ``nbits`` [1, 16] default 8. Search param
``nprobe`` [1, 65536] default 8; values above the trained ``nlist`` are clamped.

Training needs rows: the trained list count is :func:`trained_nlist` (Milvus
lowers ``nlist`` to ``n / 39`` when the segment has too few rows), and IVF_PQ
needs at least ``2^nbits`` rows to train its codebooks. A segment too small to
train keeps its raw vectors and is searched exactly (payload ``vectors``), much
as Milvus searches segments below its index-build threshold by brute force.

Filtered searches go through :func:`~keeldb.index.filtering.search_planned` with
``nprobe`` as the effort: FAISS gets the bitmap as an ``IDSelectorBitmap`` and a
``nprobe`` raised for the query's local selectivity; the "exact" route is a
restricted scan of every list (``nprobe = nlist``), exact over the stored codes
(truly exact for IVF_FLAT).

Invariants: as for :mod:`keeldb.index.faiss_indexes` (COSINE stored normalised;
search never mutates the index; per-call ``SearchParametersIVF``). Payload:
``faiss`` (``faiss.serialize_index`` bytes) or ``vectors`` for untrained indexes.
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
    bitmap_selector,
    checked_faiss,
    checked_raw_vectors,
    ivf_search_params,
    raw_or_faiss_payload,
    search_into,
)
from keeldb.index.filtering import Restriction, search_planned
from keeldb.index.hits import SearchHits, empty_hits, fill_hits
from keeldb.index.range_search import RangeBounds
from keeldb.types import MetricType

#: Knowhere's floor of training rows per k-means centroid (its MatchNlist rule).
MIN_POINTS_PER_CENTROID = 39


def trained_nlist(nlist: int, rows: int) -> int:
    """The list count trained on ``rows`` rows: Milvus lowers ``nlist`` to ``rows / 39``
    when there are too few rows for it (docs/milvus-behaviour.md), never below 1."""
    if nlist * MIN_POINTS_PER_CENTROID > rows:
        return max(1, rows // MIN_POINTS_PER_CENTROID)
    return nlist


class FaissIvfIndex(IndexBase):
    """IVF over FAISS; the subclasses below fix the encoding through ``index_type``."""

    backend = "faiss"

    def _init_state(self) -> None:
        self._index: Any = None
        self._raw: np.ndarray | None = None  # set instead of _index when too few rows to train

    @property
    def nlist(self) -> int:
        """The trained list count (may be below the requested ``nlist``)."""
        return self._nlist

    @property
    def _index(self) -> Any:
        return self._faiss

    @_index.setter
    def _index(self, index: Any) -> None:
        # the list count is read on every search: keep it as a plain int
        self._faiss = index
        self._nlist = int(index.nlist) if index is not None else 0

    def build(self, vectors: np.ndarray) -> None:
        prepared = self.prepare(vectors, "vectors", copy=True)
        self.count = len(prepared)
        self._index, self._raw = None, None
        if self.count < self._min_train_rows():
            self._raw = prepared
            return
        index = self._new_faiss_index(trained_nlist(self.params["nlist"], self.count))
        # Small segments are normal here: silence FAISS's "too few training points" notes.
        index.cp.min_points_per_centroid = 1
        index.cp.seed = 1234  # reproducible k-means
        index.train(prepared)
        index.add(prepared)
        self._index = self._wrap_built(index, prepared)

    def _wrap_built(self, index: Any, vectors: np.ndarray) -> Any:
        """The built FAISS index as stored (a subclass may wrap it, e.g. to re-rank)."""
        return index

    def _min_train_rows(self) -> int:
        return 1

    def _new_faiss_index(self, nlist: int) -> Any:
        raise NotImplementedError

    def memory_bytes(self) -> int:
        if self._raw is not None:
            return int(self._raw.nbytes)
        if self._index is None:
            return 0
        invlists = self._index.invlists
        code_bytes = self.count * (invlists.code_size + 8)  # codes + stored ids
        return int(code_bytes + self._index.nlist * self.dim * 4)

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, params: dict[str, Any]
    ) -> SearchHits:
        if self._raw is not None:
            return exact_search_prepared(self._raw, queries, k, self.metric, allowed)
        return search_planned(
            self, queries, k, allowed, self.count, params["nprobe"], self.metric, self.policy
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

    def _range_round(
        self, params: dict[str, Any], k_prime: int, round_no: int
    ) -> tuple[dict[str, Any], bool]:
        # Each round doubles the lists probed too: k' more rows may sit in lists not yet opened.
        nprobe = min(params["nprobe"] * 2**round_no, max(self.nlist, 1))
        return {**params, "nprobe": nprobe}, nprobe >= self.nlist

    # --- PlannedBackend -----------------------------------------------------------

    def effort_cost_rows(self, effort: int) -> float:
        # Rows in the probed lists, on average; the bitmap check per row is cheap.
        return self.count * min(effort, self.nlist) / self.nlist

    def exact_cost_rows(self, allowed_count: int) -> float:
        return float(self.count)  # the exact route scans every list

    def search_unrestricted(
        self, queries: np.ndarray, k: int, effort: int
    ) -> tuple[np.ndarray, np.ndarray]:
        nprobe = min(effort, self._nlist)
        return search_into(self._index, queries, min(k, self.count), _unfiltered_ivf_params(nprobe))

    def search_restricted(
        self,
        queries: np.ndarray,
        k: int,
        effort: int,
        restriction: Restriction,
        base_effort: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        selector = bitmap_selector(restriction, self.count)
        params = ivf_search_params(min(effort, self.nlist), selector)
        return self._index.search(queries, min(k, self.count), params=params)

    def search_exact(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchHits:
        hits = empty_hits(len(queries), k, self.metric)
        if allowed is None:
            scores, ids = self.search_unrestricted(queries, k, self.nlist)
        else:
            scores, ids = self.search_restricted(
                queries, k, self.nlist, Restriction(allowed), self.nlist
            )
        fill_hits(hits, slice(None), scores, ids, self.metric)
        hits.plan["exact"] = len(queries)
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
    ) -> FaissIvfIndex:
        index = cls(metric, dim, params)
        index_type = cls.index_type
        index.count = count
        if "vectors" in arrays:
            index._raw = checked_raw_vectors(arrays, index_type, dim, count)
        elif count > 0 or "faiss" in arrays:
            index._index = checked_faiss(arrays, faiss.IndexIVF, index_type, dim, count)
        return index


@functools.lru_cache(maxsize=64)
def _unfiltered_ivf_params(nprobe: int) -> Any:
    """Shared, read-only settings for unfiltered searches (building one per call costs
    about as much as probing a few small lists)."""
    return ivf_search_params(nprobe)


class FaissIvfFlatIndex(FaissIvfIndex):
    """IVF_FLAT: inverted lists of raw float32 vectors."""

    index_type = "IVF_FLAT"

    def _new_faiss_index(self, nlist: int) -> Any:
        metric = faiss_metric(self.metric)
        return faiss.IndexIVFFlat(faiss.IndexFlat(self.dim, metric), self.dim, nlist, metric)


class FaissIvfSq8Index(FaissIvfIndex):
    """IVF_SQ8: inverted lists of 8-bit scalar-quantised vectors (4x smaller)."""

    index_type = "IVF_SQ8"

    def _new_faiss_index(self, nlist: int) -> Any:
        metric = faiss_metric(self.metric)
        quantizer = faiss.IndexFlat(self.dim, metric)
        qtype = faiss.ScalarQuantizer.QT_8bit
        return faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, qtype, metric)


class FaissIvfPqIndex(FaissIvfIndex):
    """IVF_PQ: inverted lists of product-quantised residuals (``m`` codes of ``nbits``)."""

    index_type = "IVF_PQ"

    def _min_train_rows(self) -> int:
        return 2 ** self.params["nbits"]  # one training row per codebook entry at least

    def _new_faiss_index(self, nlist: int) -> Any:
        metric = faiss_metric(self.metric)
        quantizer = faiss.IndexFlat(self.dim, metric)
        m, nbits = self.params["m"], self.params["nbits"]
        index = faiss.IndexIVFPQ(quantizer, self.dim, nlist, m, nbits, metric)
        index.pq.cp.min_points_per_centroid = 1
        return index
