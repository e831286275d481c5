"""Qdrant Edge (``qdrant-edge-py``): the Qdrant engine itself (Rust, HNSW) embedded in-process.

Unlike qdrant-client's local mode (``qdrant``, an exact scan in Python) this is
the server's storage and search code, one shard, no server. Driven as Qdrant's
Edge documentation shows:

- ``create``: ``EdgeShard.create(dir, EdgeConfig(vectors={"vector":
  EdgeVectorParams(size, Distance.Cosine | Distance.Euclid)}, hnsw_config=
  HnswIndexConfig(m=16, ef_construct=200, full_scan_threshold=10_000)))``, then
  a keyword payload index on the VARCHAR field and an integer one on the INT64
  field (``UpdateOperation.create_field_index``), created before the data, so
  filters use them and the HNSW build sees them (its payload-aware links).
- ``insert``: ``shard.update(UpdateOperation.upsert_points([Point(id, {"vector":
  v}, payload), ...]))``; building the ``Point`` objects is the untimed
  ``prepare``.
- ``build``: ``flush()``, ``optimize()`` (Edge has no background optimizer:
  this call runs the optimizers, the HNSW build included, and returns when none
  is left to run), ``close()``. ``open``: ``EdgeShard.load(dir)``.
- search: ``shard.query(QueryRequest(query=Query.Nearest(v, using="vector"),
  limit=10, filter=..., params=SearchParams(hnsw_ef=ef)))``; batches go through
  ``shard.query_batch``. Filters: ``FieldCondition(match=MatchValue)`` and
  ``FieldCondition(range=RangeFloat(gte, lt))``.

Thresholds, left at Qdrant's defaults on purpose. Qdrant builds HNSW only for a
segment whose vectors exceed ``indexing_threshold`` (optimizers; Edge's
default 10,000 KB), and its query planner scans exactly, HNSW or not, when the vectors
a search would visit are under ``full_scan_threshold`` (HNSW config, default
10,000 KB; ``HnswIndexConfig`` in Python has no default, so the adapter passes
Qdrant's). A user following Qdrant's documentation leaves both as they are; so
does the adapter. What that gives (``build_detail`` records ``segments`` and
``indexed_vectors`` after ``optimize``, so every result says which happened):

- ``smoke`` (2,000 x 32 float32 = 250 KB): no graph is built; every search is
  an exact scan and ``ef`` changes nothing. Fine for a functional check, no
  figure of Qdrant's HNSW.
- ``debian`` (63,666 x 384 = 98 MB) and ``synthetic-1m`` (512 MB): above both
  thresholds, so ``optimize`` builds HNSW (checked on 8,000 random 384-d
  vectors, 12 MB: all 8,000 indexed, plus an empty appendable segment; recall
  0.36 at ef=10, 0.99 at ef=512), and unfiltered search walks it with ``hnsw_ef``.
- filtered search: where the filter's estimated matches hold fewer vectors than
  ``full_scan_threshold`` (about 6,600 rows at 384-d, 20,000 at 128-d) the
  planner answers exactly from the payload index; above that it walks the graph
  with the filter. That is Qdrant's default behaviour, so it is measured as is.
"""

from __future__ import annotations

import time
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

VECTOR = "vector"
#: Qdrant's default full_scan_threshold (KB), which the Python HnswIndexConfig makes one pass
FULL_SCAN_THRESHOLD_KB = 10_000


class QdrantEdge(Adapter):
    name = "qdrant-edge"
    modules = ("qdrant_edge",)
    param_name = "ef"
    index_desc = (
        f"HNSW m={HNSW_M} ef_construct={HNSW_EF_CONSTRUCTION}, built by optimize() for "
        "segments above Qdrant's default indexing threshold (10,000 KB; below it: exact scan)"
    )
    shard: Any = None

    def create(self, path: str, spec: Spec) -> None:
        from qdrant_edge import (
            Distance,
            EdgeConfig,
            EdgeShard,
            EdgeVectorParams,
            HnswIndexConfig,
            PayloadSchemaType,
            UpdateOperation,
        )

        self.spec = spec
        distance = Distance.Cosine if spec.metric == "COSINE" else Distance.Euclid
        config = EdgeConfig(
            vectors={VECTOR: EdgeVectorParams(size=spec.dim, distance=distance)},
            hnsw_config=HnswIndexConfig(
                m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCTION,
                full_scan_threshold=FULL_SCAN_THRESHOLD_KB,
            ),
        )  # fmt: skip
        self.shard = EdgeShard.create(path, config)
        self.shard.update(
            UpdateOperation.create_field_index(spec.str_field, PayloadSchemaType.Keyword)
        )
        self.shard.update(
            UpdateOperation.create_field_index(spec.int_field, PayloadSchemaType.Integer)
        )

    def prepare(self, batch: Batch) -> Any:
        from qdrant_edge import Point

        s, n = self.spec.str_field, self.spec.int_field
        ints = batch.ints.tolist()
        return [
            Point(pk, {VECTOR: batch.vectors[i]}, {s: batch.strings[i], n: ints[i]})
            for i, pk in enumerate(batch.ids.tolist())
        ]

    def insert(self, prepared: Any) -> None:
        from qdrant_edge import UpdateOperation

        self.shard.update(UpdateOperation.upsert_points(prepared))

    def build(self) -> dict[str, float]:
        t = time.perf_counter()
        self.shard.flush()
        flush_s = time.perf_counter() - t
        t = time.perf_counter()
        self.shard.optimize()
        optimize_s = time.perf_counter() - t
        info = self.shard.info()
        t = time.perf_counter()
        self.close()
        close_s = time.perf_counter() - t
        return {
            "flush_s": flush_s, "optimize_s": optimize_s, "close_s": close_s,
            "segments": info.segments_count, "indexed_vectors": info.indexed_vectors_count,
        }  # fmt: skip

    def open(self, path: str, spec: Spec) -> None:
        from qdrant_edge import EdgeShard

        self.spec = spec
        self.shard = EdgeShard.load(path)

    def row_count(self) -> int:
        from qdrant_edge import CountRequest

        return int(self.shard.count(CountRequest(exact=True)))

    @staticmethod
    def _filter(flt: FilterSpec | None) -> Any:
        from qdrant_edge import FieldCondition, Filter, MatchValue, RangeFloat

        if flt is None:
            return None
        if flt.op == "eq":
            cond = FieldCondition(flt.field, match=MatchValue(flt.value))
        else:
            cond = FieldCondition(flt.field, range=RangeFloat(gte=flt.lo, lt=flt.hi))
        return Filter(must=[cond])

    def searcher(self, param: Any, flt: FilterSpec | None) -> Search:
        from qdrant_edge import Query, QueryBatchRequest, QueryRequest, SearchParams

        shard, query_filter = self.shard, self._filter(flt)
        params = SearchParams(hnsw_ef=param)

        def request(q: np.ndarray) -> Any:
            return QueryRequest(
                query=Query.Nearest(q, using=VECTOR), limit=TOP_K, filter=query_filter,
                params=params,
            )  # fmt: skip

        def search(queries: np.ndarray) -> list[list[int]]:
            if len(queries) == 1:
                return [[int(p.id) for p in shard.query(request(queries[0]))]]
            out = shard.query_batch(QueryBatchRequest([request(q) for q in queries]))
            return [[int(p.id) for p in r] for r in out]

        return search

    def close(self) -> None:
        if self.shard is not None:
            self.shard.close()
            self.shard = None
