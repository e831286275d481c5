"""Raw FAISS and hnswlib: the ceiling, an HNSW graph with no storage engine around it.

Both build M=16, efConstruction=200 in memory: ``insert`` adds a batch to the
graph (so their "ingest" is the graph build, not a durable write) and ``build``
writes the index file so the search phase can reopen it. COSINE datasets hold
unit vectors, so FAISS uses inner product and hnswlib its ``cosine`` space.
Filters are by row id: FAISS ``IDSelectorBitmap`` in ``SearchParametersHNSW``,
hnswlib a ``filter`` callable; neither falls back to an exact scan.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bench.suite.adapters.base import (
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    TOP_K,
    Adapter,
    Search,
    Spec,
)
from bench.suite.datasets import Batch, FilterSpec


class Faiss(Adapter):
    name = "faiss"
    modules = ("faiss",)
    index_desc = f"IndexHNSWFlat M={HNSW_M} efConstruction={HNSW_EF_CONSTRUCTION}"
    needs_masks = True
    FILE = "hnsw.faiss"
    index: Any = None

    def create(self, path: str, spec: Spec) -> None:
        import faiss

        self.path = path
        os.makedirs(path, exist_ok=True)
        metric = faiss.METRIC_INNER_PRODUCT if spec.metric == "COSINE" else faiss.METRIC_L2
        self.index = faiss.IndexHNSWFlat(spec.dim, HNSW_M, metric)
        self.index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION

    def prepare(self, batch: Batch) -> Any:
        return batch.vectors

    def insert(self, prepared: Any) -> None:
        self.index.add(prepared)  # row ids are insertion order, which is 0..n-1

    def build(self) -> dict[str, float]:
        import faiss

        faiss.write_index(self.index, os.path.join(self.path, self.FILE))
        return {}

    def open(self, path: str, spec: Spec) -> None:
        import faiss

        self.index = faiss.read_index(os.path.join(path, self.FILE))

    def row_count(self) -> int:
        return int(self.index.ntotal)

    def searcher(self, param: Any, flt: FilterSpec | None) -> Search:
        import faiss

        index = self.index
        if flt is None:
            params = faiss.SearchParametersHNSW(efSearch=int(param))
            keep: tuple[Any, ...] = ()
        else:
            mask = self.masks[flt.name]
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=int(param))
            keep = (bits, selector)  # the selector points into bits: keep both alive

        def search(queries: np.ndarray, _keep: tuple[Any, ...] = keep) -> list[list[int]]:
            _, ids = index.search(queries, TOP_K, params=params)
            return [[int(i) for i in row if i >= 0] for row in ids]

        return search


class Hnswlib(Adapter):
    name = "hnswlib"
    modules = ("hnswlib",)
    index_desc = f"hnswlib M={HNSW_M} ef_construction={HNSW_EF_CONSTRUCTION}"
    needs_masks = True
    FILE = "hnsw.bin"
    index: Any = None

    def _space(self, spec: Spec) -> str:
        return "cosine" if spec.metric == "COSINE" else "l2"

    def create(self, path: str, spec: Spec) -> None:
        import hnswlib

        self.path = path
        os.makedirs(path, exist_ok=True)
        self.index = hnswlib.Index(space=self._space(spec), dim=spec.dim)
        self.index.init_index(max_elements=1024, M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)

    def prepare(self, batch: Batch) -> Any:
        return batch.ids, batch.vectors

    def insert(self, prepared: Any) -> None:
        ids, vectors = prepared
        need = self.index.get_current_count() + len(ids)
        if need > self.index.get_max_elements():
            self.index.resize_index(max(need, 2 * self.index.get_max_elements()))
        self.index.add_items(vectors, ids)

    def build(self) -> dict[str, float]:
        self.index.save_index(os.path.join(self.path, self.FILE))
        return {}

    def open(self, path: str, spec: Spec) -> None:
        import hnswlib

        self.index = hnswlib.Index(space=self._space(spec), dim=spec.dim)
        self.index.load_index(os.path.join(path, self.FILE))

    def row_count(self) -> int:
        return int(self.index.get_current_count())

    def searcher(self, param: Any, flt: FilterSpec | None) -> Search:
        index = self.index
        allowed = self.masks[flt.name].tolist().__getitem__ if flt else None
        most = int(self.masks[flt.name].sum()) if flt else TOP_K

        def search(queries: np.ndarray) -> list[list[int]]:
            index.set_ef(int(param))
            if allowed is None:
                labels, _ = index.knn_query(queries, k=TOP_K)
            else:  # a Python callable: one thread, or the GIL serialises it anyway
                return [_filtered_query(index, q, allowed, most) for q in queries]
            return [[int(i) for i in row] for row in labels]

        return search


def _filtered_query(index: Any, query: np.ndarray, allowed: Any, most: int) -> list[int]:
    """hnswlib raises when a filtered walk finds fewer than k rows: ask for fewer, as a
    caller would, and return what it finds (a short answer costs recall)."""
    for k in range(min(TOP_K, most), 0, -1):
        try:
            labels, _ = index.knn_query(query, k=k, num_threads=1, filter=allowed)
            return [int(i) for i in labels[0]]
        except RuntimeError:
            continue
    return []
