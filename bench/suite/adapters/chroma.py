"""Chroma, embedded (``chromadb.PersistentClient(path)``).

Chroma indexes with hnswlib as rows arrive; the collection is created with
``max_neighbors=16`` (M), ``ef_construction=200`` and the dataset's space, and
the swept ``ef_search`` is changed with ``collection.modify(configuration=...)``
(which the loaded index picks up when the collection is reopened, so the adapter
reopens it). Ids are strings in Chroma; filters are ``where`` dicts on the metadata.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.suite.adapters.base import (
    COLLECTION,
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    TOP_K,
    Adapter,
    Search,
    Spec,
)
from bench.suite.datasets import Batch, FilterSpec


class Chroma(Adapter):
    name = "chroma"
    modules = ("chromadb",)
    index_desc = f"HNSW (hnswlib) M={HNSW_M} ef_construction={HNSW_EF_CONSTRUCTION}"
    client: Any = None
    collection: Any = None
    _ef: Any = None

    def create(self, path: str, spec: Spec) -> None:
        import chromadb

        self.spec = spec
        self.client = chromadb.PersistentClient(path=path)
        hnsw = {
            "space": "cosine" if spec.metric == "COSINE" else "l2",
            "max_neighbors": HNSW_M,
            "ef_construction": HNSW_EF_CONSTRUCTION,
        }
        self.collection = self.client.create_collection(
            COLLECTION, configuration={"hnsw": hnsw}, embedding_function=None
        )
        self.max_batch = self.client.get_max_batch_size()

    def prepare(self, batch: Batch) -> Any:
        s, n = self.spec.str_field, self.spec.int_field
        ints = batch.ints.tolist()
        return (
            [str(i) for i in batch.ids.tolist()],
            batch.vectors,
            [{s: batch.strings[i], n: ints[i]} for i in range(len(ints))],
        )

    def insert(self, prepared: Any) -> None:
        ids, vectors, metadatas = prepared
        for lo in range(0, len(ids), self.max_batch):
            hi = lo + self.max_batch
            self.collection.add(
                ids=ids[lo:hi], embeddings=vectors[lo:hi], metadatas=metadatas[lo:hi]
            )

    def open(self, path: str, spec: Spec) -> None:
        import chromadb

        self.spec, self.path = spec, path
        self.client = chromadb.PersistentClient(path=path)
        self.collection = self.client.get_collection(COLLECTION, embedding_function=None)
        self._ef = self.collection.configuration["hnsw"]["ef_search"]

    def reopen_param(self) -> Any:
        return self._ef

    def _set_ef(self, ef: int) -> None:
        """``modify`` stores the new ef_search, but the loaded index keeps its old one until
        the collection is opened again: drop the process's cached client and reopen."""
        from chromadb.api.client import SharedSystemClient

        self.collection.modify(configuration={"hnsw": {"ef_search": ef}})
        SharedSystemClient.clear_system_cache()
        self.open(self.path, self.spec)
        self._ef = ef

    def row_count(self) -> int:
        return int(self.collection.count())

    @staticmethod
    def _where(flt: FilterSpec | None) -> Any:
        if flt is None:
            return None
        if flt.op == "eq":
            return {flt.field: flt.value}
        return {"$and": [{flt.field: {"$gte": flt.lo}}, {flt.field: {"$lt": flt.hi}}]}

    def searcher(self, param: Any, flt: FilterSpec | None) -> Search:
        if param != self._ef:
            self._set_ef(int(param))
        collection, where = self.collection, self._where(flt)

        def search(queries: np.ndarray) -> list[list[int]]:
            res = collection.query(
                query_embeddings=queries, n_results=TOP_K, where=where, include=[]
            )
            return [[int(i) for i in ids] for ids in res["ids"]]

        return search

    def close(self) -> None:
        self.collection = None
        self.client = None
