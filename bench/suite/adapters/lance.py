"""LanceDB, embedded (``lancedb.connect(path)``).

Each insert is ``table.add`` of an Arrow table (a new fragment and table version
on disk). The vector index is LanceDB's HNSW form, ``IVF_HNSW_SQ`` with one
partition (so a plain HNSW graph, M=16, ef_construction=200, over 8-bit scalar
quantised vectors: LanceDB has no unquantised single-graph HNSW), built by
``create_index`` after the inserts; the swept parameter is ``ef``. Filters are
SQL predicates applied before the vector search (``prefilter=True``), over the
scalar indexes LanceDB's documentation recommends for filtered columns, built
after the vector index: BITMAP on the low-cardinality string field, BTREE on
the integer one.
"""

from __future__ import annotations

import time
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


class LanceDB(Adapter):
    name = "lancedb"
    modules = ("lancedb", "lancedb.index", "pyarrow")
    index_desc = f"IVF_HNSW_SQ, 1 partition, m={HNSW_M} ef_construction={HNSW_EF_CONSTRUCTION}"
    db: Any = None
    table: Any = None

    def _schema(self, spec: Spec) -> Any:
        import pyarrow as pa

        return pa.schema([
            ("id", pa.int64()),
            ("vector", pa.list_(pa.float32(), spec.dim)),
            (spec.str_field, pa.string()),
            (spec.int_field, pa.int64()),
        ])  # fmt: skip

    def create(self, path: str, spec: Spec) -> None:
        import lancedb

        self.spec = spec
        self.db = lancedb.connect(path)
        self.table = self.db.create_table(COLLECTION, schema=self._schema(spec))

    def prepare(self, batch: Batch) -> Any:
        import pyarrow as pa

        flat = pa.array(batch.vectors.reshape(-1), type=pa.float32())
        return pa.Table.from_arrays(
            [
                pa.array(batch.ids),
                pa.FixedSizeListArray.from_arrays(flat, self.spec.dim),
                pa.array(batch.strings, type=pa.string()),
                pa.array(batch.ints),
            ],
            schema=self._schema(self.spec),
        )

    def insert(self, prepared: Any) -> None:
        self.table.add(prepared)

    def build(self) -> dict[str, float]:
        from lancedb.index import HnswSq

        distance = "cosine" if self.spec.metric == "COSINE" else "l2"
        config = HnswSq(
            distance_type=distance, num_partitions=1, m=HNSW_M,
            ef_construction=HNSW_EF_CONSTRUCTION,
        )  # fmt: skip
        t = time.perf_counter()
        self.table.create_index("vector", config=config)
        vector_s = time.perf_counter() - t
        t = time.perf_counter()
        self.table.create_scalar_index(self.spec.str_field, index_type="BITMAP")
        self.table.create_scalar_index(self.spec.int_field, index_type="BTREE")
        return {"vector_index_s": vector_s, "scalar_index_s": time.perf_counter() - t}

    def open(self, path: str, spec: Spec) -> None:
        import lancedb

        self.spec = spec
        self.db = lancedb.connect(path)
        self.table = self.db.open_table(COLLECTION)

    def row_count(self) -> int:
        return int(self.table.count_rows())

    @staticmethod
    def _sql(flt: FilterSpec) -> str:
        if flt.op == "eq":
            return f"{flt.field} = '{flt.value}'"
        return f"{flt.field} >= {flt.lo} AND {flt.field} < {flt.hi}"

    def searcher(self, param: Any, flt: FilterSpec | None) -> Search:
        table, ef = self.table, int(param)
        distance = "cosine" if self.spec.metric == "COSINE" else "l2"
        where = self._sql(flt) if flt else None

        def search(queries: np.ndarray) -> list[list[int]]:
            q = queries[0] if len(queries) == 1 else queries
            builder = table.search(q, vector_column_name="vector").distance_type(distance)
            builder = builder.limit(TOP_K).ef(ef).select(["id"])
            if where:
                builder = builder.where(where, prefilter=True)
            res = builder.to_arrow()
            if len(queries) == 1:
                return [res["id"].to_pylist()]
            out: list[list[int]] = [[] for _ in range(len(queries))]
            for qi, pk in zip(res["query_index"].to_pylist(), res["id"].to_pylist()):
                out[qi].append(pk)
            return out

        return search

    def close(self) -> None:
        self.table = None
        self.db = None
