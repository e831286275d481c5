"""Binary-vector indexes over FAISS's binary indexes: BIN_FLAT and BIN_IVF_FLAT.

Vectors are packed uint8 rows ``(n, dim / 8)``; ``dim`` counts bits. Metrics:
HAMMING (FAISS's native distance) and JACCARD (scored in numpy by
:mod:`keeldb.index.binary_exact`, since FAISS's binary indexes only know
Hamming). Milvus's params: BIN_IVF_FLAT builds with ``nlist`` [1, 65536]
(default 128, lowered to rows / 39 on small segments as for IVF_FLAT) and
searches with ``nprobe`` [1, 65536] (default 8, clamped to the trained lists).

Search routes:

- BIN_FLAT + HAMMING: ``IndexBinaryFlat`` (exact), with an ``IDSelectorBitmap``
  for filtered searches; JACCARD: exact numpy scoring of the allowed rows.
- BIN_IVF_FLAT + HAMMING, unfiltered: ``IndexBinaryIVF.search`` with per-call
  ``nprobe``. Filtered or JACCARD: the coarse quantizer picks ``nprobe`` lists,
  their members (∩ the bitmap) are scored exactly — FAISS refuses an
  IDSelector on binary IVF indexes. When the probed lists hold fewer than k
  allowed rows (a selective filter) the allowed rows are scored exactly, so a
  filter never costs recall.

Payload: ``faiss`` (``faiss.serialize_index_binary`` bytes); ``vectors`` (the
packed rows) for JACCARD scoring and IVF candidate scoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faiss
import numpy as np

from keeldb.errors import CorruptionError, IndexParamError
from keeldb.index.base import IndexBase
from keeldb.index.binary_exact import binary_scores, check_binary
from keeldb.index.codec import require_array
from keeldb.index.faiss_ivf import trained_nlist
from keeldb.index.hits import SearchHits, empty_hits, fill_hits
from keeldb.index.params import IntParam, normalize_build_params, normalize_search_params
from keeldb.index.range_search import RangeBounds
from keeldb.index.score_topk import topk_hits
from keeldb.types import BINARY_METRICS, MetricType

BUILD_SPECS = {"BIN_FLAT": (), "BIN_IVF_FLAT": (IntParam("nlist", 1, 65536, 128),)}
SEARCH_SPECS = {"BIN_FLAT": (), "BIN_IVF_FLAT": (IntParam("nprobe", 1, 65536, 8),)}


def normalize_binary_params(index_type: str, dim: int, params: Mapping[str, Any] | None) -> dict:
    if dim <= 0 or dim % 8:
        raise IndexParamError(f"binary vector dimension {dim} must be a positive multiple of 8")
    return normalize_build_params(index_type, BUILD_SPECS[index_type], params, dim)


class FaissBinaryIndex(IndexBase):
    """Shared plumbing: packed-row validation, metric check, exact scoring."""

    backend = "faiss"

    def _init_state(self) -> None:
        if self.metric not in BINARY_METRICS:
            raise IndexParamError(
                f"binary vector index does not support metric type: {self.metric.value}",
                hint="use HAMMING or JACCARD",
            )
        self._index: Any = None
        self._vectors = np.empty((0, self.dim // 8), np.uint8)

    def prepare(self, vectors: np.ndarray, what: str, *, copy: bool) -> np.ndarray:
        matrix = check_binary(vectors, self.dim, what)
        return matrix.copy() if copy and matrix is vectors else matrix

    def search_unfiltered(
        self, queries: np.ndarray, k: int, params: Mapping[str, Any] | None
    ) -> SearchHits:
        return self.search(queries, k, params=params)

    def _search_params(self, params: Mapping[str, Any] | None, k: int) -> dict[str, Any]:
        return normalize_search_params(self.index_type, SEARCH_SPECS[self.index_type], params)

    def build(self, vectors: np.ndarray) -> None:
        self._vectors = self.prepare(vectors, "vectors", copy=True)
        self.count = len(self._vectors)
        self._index = self._new_faiss_index(self._vectors) if self.count else None

    def _new_faiss_index(self, vectors: np.ndarray) -> Any:
        raise NotImplementedError

    def memory_bytes(self) -> int:
        return int(self._vectors.nbytes * (2 if self._index is not None else 1))

    def _exact(
        self,
        queries: np.ndarray,
        k: int,
        rows: np.ndarray | None,
        bounds: RangeBounds | None = None,
    ) -> SearchHits:
        base = self._vectors if rows is None else self._vectors[rows]
        hits = topk_hits(binary_scores(base, queries, self.metric), rows, k, self.metric,
                         bounds=bounds)  # fmt: skip
        hits.plan["exact"] = len(queries)
        return hits

    def _search_range(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        params: dict[str, Any],
        bounds: RangeBounds,
    ) -> SearchHits:
        # Binary distances are cheap to compute: range search scores the allowed rows exactly.
        rows = None if allowed is None else np.flatnonzero(allowed)
        return self._exact(queries, k, rows, bounds)

    def _payload(self) -> dict[str, np.ndarray]:
        out = {"vectors": self._vectors}
        if self._index is not None:
            out["faiss"] = faiss.serialize_index_binary(self._index)
        return out

    @classmethod
    def restore(
        cls,
        metric: MetricType,
        dim: int,
        params: Mapping[str, Any],
        count: int,
        arrays: dict[str, np.ndarray],
    ) -> FaissBinaryIndex:
        index = cls(metric, dim, params)
        vectors = require_array(arrays, "vectors")
        if vectors.dtype != np.uint8 or vectors.shape != (count, dim // 8):
            raise CorruptionError(
                f"{cls.index_type} payload has vectors {vectors.dtype} {vectors.shape}, "
                f"expected uint8 ({count}, {dim // 8})"
            )
        index._vectors, index.count = np.ascontiguousarray(vectors), count
        if count:
            try:
                loaded = faiss.deserialize_index_binary(
                    np.ascontiguousarray(require_array(arrays, "faiss"))
                )
            except RuntimeError as exc:
                raise CorruptionError(
                    f"{cls.index_type} FAISS payload is unreadable: {exc}"
                ) from exc
            if loaded.d != dim or loaded.ntotal != count:
                raise CorruptionError(
                    f"{cls.index_type} payload holds {loaded.ntotal} vectors of dim {loaded.d}, "
                    f"expected {count} of dim {dim}"
                )
            index._index = loaded
        return index


class FaissBinFlatIndex(FaissBinaryIndex):
    """BIN_FLAT: exact search (``IndexBinaryFlat`` for HAMMING)."""

    index_type = "BIN_FLAT"

    def _new_faiss_index(self, vectors: np.ndarray) -> Any:
        index = faiss.IndexBinaryFlat(self.dim)
        index.add(vectors)
        return index

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, params: dict[str, Any]
    ) -> SearchHits:
        rows = None if allowed is None else np.flatnonzero(allowed)
        if self.metric is MetricType.JACCARD or (rows is not None and len(rows) <= 4 * k):
            return self._exact(queries, k, rows)
        search_params = None
        if rows is not None:
            assert allowed is not None
            bits = np.packbits(allowed, bitorder="little")  # FAISS's IDSelectorBitmap layout
            selector = faiss.IDSelectorBitmap(self.count, faiss.swig_ptr(bits))
            search_params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        distances, labels = self._index.search(queries, min(k, self.count), params=search_params)
        hits = empty_hits(len(queries), k, self.metric)
        fill_hits(hits, slice(None), distances.astype(np.float32), labels, self.metric)
        hits.plan["index"] = len(queries)
        return hits


class FaissBinIvfFlatIndex(FaissBinaryIndex):
    """BIN_IVF_FLAT: ``IndexBinaryIVF`` lists of packed rows, probed ``nprobe`` at a time."""

    index_type = "BIN_IVF_FLAT"

    def _new_faiss_index(self, vectors: np.ndarray) -> Any:
        nlist = trained_nlist(self.params["nlist"], len(vectors))
        index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(self.dim), self.dim, nlist)
        index.cp.min_points_per_centroid = 1  # small segments are normal here
        index.cp.seed = 1234  # reproducible k-means
        index.train(vectors)
        index.add(vectors)
        return index

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, params: dict[str, Any]
    ) -> SearchHits:
        nlist = int(self._index.nlist)
        nprobe = min(params["nprobe"], nlist)
        if allowed is None and self.metric is MetricType.HAMMING:
            search_params = faiss.SearchParametersIVF(nprobe=nprobe)  # type: ignore[call-arg]
            distances, labels = self._index.search(
                queries, min(k, self.count), params=search_params
            )
            hits = empty_hits(len(queries), k, self.metric)
            fill_hits(hits, slice(None), distances.astype(np.float32), labels, self.metric)
            hits.plan["index"] = len(queries)
            return hits
        return self._search_probed(queries, k, allowed, nprobe)

    def _search_probed(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, nprobe: int
    ) -> SearchHits:
        """Score the members of each query's ``nprobe`` nearest lists (∩ allowed) exactly."""
        hits = empty_hits(len(queries), k, self.metric)
        _, lists = self._index.quantizer.search(queries, nprobe)
        for q, probed in enumerate(lists):
            rows = np.concatenate([self._list_ids(int(lst)) for lst in probed if lst >= 0])
            if allowed is not None:
                rows = rows[allowed[rows]]
                if len(rows) < k:  # too few allowed rows nearby: score all allowed rows
                    rows = np.flatnonzero(allowed)
            rows.sort()
            one = self._exact(queries[q : q + 1], k, rows)
            hits.scores[q], hits.ids[q] = one.scores[0], one.ids[0]
        hits.plan["index"] = len(queries)
        return hits

    def _list_ids(self, list_no: int) -> np.ndarray:
        invlists = self._index.invlists
        size = invlists.list_size(list_no)
        if size == 0:
            return np.empty(0, np.int64)
        ids = faiss.rev_swig_ptr(invlists.get_ids(list_no), size)
        return np.array(ids, dtype=np.int64)
