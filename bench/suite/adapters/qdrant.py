"""Qdrant's local mode (``QdrantClient(path=...)``): the embedded form of qdrant-client.

Local mode keeps the points in memory and persists them to a SQLite file on every
upsert; it builds no HNSW graph (search is exact, a numpy scan), so it has no
search parameter and no index build: it is the "exact, embedded" reference of
this suite. Filters are Qdrant ``Filter`` objects (MatchValue / Range).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.suite.adapters.base import COLLECTION, TOP_K, Adapter, Search, Spec
from bench.suite.datasets import Batch, FilterSpec


class Qdrant(Adapter):
    name = "qdrant"
    modules = ("qdrant_client",)
    param_name = None
    params = (None,)
    index_desc = "none: local mode scans exactly"
    client: Any = None

    def _client(self, path: str) -> Any:
        from qdrant_client import QdrantClient

        return QdrantClient(path=path)

    def create(self, path: str, spec: Spec) -> None:
        from qdrant_client import models

        self.spec = spec
        self.client = self._client(path)
        distance = models.Distance.COSINE if spec.metric == "COSINE" else models.Distance.EUCLID
        self.client.create_collection(
            COLLECTION, vectors_config=models.VectorParams(size=spec.dim, distance=distance)
        )

    def prepare(self, batch: Batch) -> Any:
        from qdrant_client import models

        s, n = self.spec.str_field, self.spec.int_field
        ints = batch.ints.tolist()
        return models.Batch(
            ids=batch.ids.tolist(),
            vectors=batch.vectors.tolist(),
            payloads=[{s: batch.strings[i], n: ints[i]} for i in range(len(ints))],
        )

    def insert(self, prepared: Any) -> None:
        self.client.upsert(COLLECTION, points=prepared, wait=True)

    def open(self, path: str, spec: Spec) -> None:
        self.spec = spec
        self.client = self._client(path)

    def row_count(self) -> int:
        return int(self.client.count(COLLECTION, exact=True).count)

    def _filter(self, flt: FilterSpec | None) -> Any:
        from qdrant_client import models

        if flt is None:
            return None
        if flt.op == "eq":
            cond = models.FieldCondition(key=flt.field, match=models.MatchValue(value=flt.value))
        else:
            cond = models.FieldCondition(key=flt.field, range=models.Range(gte=flt.lo, lt=flt.hi))
        return models.Filter(must=[cond])

    def searcher(self, param: Any, flt: FilterSpec | None) -> Search:
        from qdrant_client import models

        client, query_filter = self.client, self._filter(flt)

        def search(queries: np.ndarray) -> list[list[int]]:
            if len(queries) == 1:
                res = client.query_points(
                    COLLECTION, query=queries[0], limit=TOP_K, query_filter=query_filter,
                    with_payload=False,
                )  # fmt: skip
                return [[int(p.id) for p in res.points]]
            requests = [
                models.QueryRequest(query=q.tolist(), limit=TOP_K, filter=query_filter)
                for q in queries
            ]
            out = client.query_batch_points(COLLECTION, requests=requests)
            return [[int(p.id) for p in r.points] for r in out]

        return search

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
