"""Code shared by the four systems spoken to through the MilvusClient API.

keeldb embedded (``keeldb.Client``), keeldb behind ``keel serve`` (pymilvus),
Milvus Lite embedded (``pymilvus.MilvusClient("<dir>/milvus.db")``) and Milvus
Lite's gRPC server (pymilvus) all take the same schema, index params, row-dict
inserts and search calls; subclasses only say how a client is made, how the
index is awaited and how the system is shut down.

The filter fields get an INVERTED scalar index, as Milvus's documentation
recommends for filtered fields (Milvus Lite implements only INVERTED); Qdrant
Edge and LanceDB get their own payload / scalar indexes likewise.

Rows go in as row dicts with the vector as a float32 numpy row (pymilvus and
keeldb both accept it), batches of ``--batch`` rows; search asks for ids only.
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

STR_MAX_LENGTH = 64
INDEX_WAIT_S = 3600


class MilvusShaped(Adapter):
    index_desc = f"HNSW M={HNSW_M} efConstruction={HNSW_EF_CONSTRUCTION}"
    client: Any = None
    spec: Spec | None = None
    #: hits carry ids only: keeldb with None; Milvus Lite returns every field with None
    output_fields: list[str] | None = None

    # -- what subclasses provide ---------------------------------------------------------

    def make_client(self, path: str, fresh: bool) -> Any:
        raise NotImplementedError

    def data_types(self) -> Any:
        raise NotImplementedError

    def wait_index(self) -> None:
        """Poll describe_index until no row waits for the index (both systems report it)."""
        deadline = time.monotonic() + INDEX_WAIT_S
        while True:
            info = self.client.describe_index(COLLECTION, "vector")
            if info.get("state", "Finished") == "Finished" and not info.get(
                "pending_index_rows", 0
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: index not finished: {info}")
            time.sleep(0.05)

    def shutdown(self) -> None:
        """Close the client (and whatever runs the system)."""
        if self.client is not None:
            self.client.close()
            self.client = None

    # -- the adapter interface -------------------------------------------------------------

    def create(self, path: str, spec: Spec) -> None:
        self.spec = spec
        self.client = self.make_client(path, fresh=True)
        dt = self.data_types()
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", dt.INT64, is_primary=True)
        schema.add_field("vector", dt.FLOAT_VECTOR, dim=spec.dim)
        schema.add_field(spec.str_field, dt.VARCHAR, max_length=STR_MAX_LENGTH)
        schema.add_field(spec.int_field, dt.INT64)
        index = self.client.prepare_index_params()
        index.add_index(
            field_name="vector",
            index_type="HNSW",
            metric_type=spec.metric,
            params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION},
        )
        for name in (spec.str_field, spec.int_field):
            index.add_index(field_name=name, index_type="INVERTED")
        self.client.create_collection(COLLECTION, schema=schema, index_params=index)

    def prepare(self, batch: Batch) -> Any:
        assert self.spec is not None
        s, n = self.spec.str_field, self.spec.int_field
        ints = batch.ints.tolist()
        return [
            {"id": int(pk), "vector": batch.vectors[i], s: batch.strings[i], n: ints[i]}
            for i, pk in enumerate(batch.ids.tolist())
        ]

    def insert(self, prepared: Any) -> None:
        self.client.insert(COLLECTION, prepared)

    def build(self) -> dict[str, float]:
        t = time.perf_counter()
        self.client.flush(COLLECTION)
        flush_s = time.perf_counter() - t
        t = time.perf_counter()
        self.wait_index()
        index_s = time.perf_counter() - t
        # Milvus Lite says "Finished" at once and builds on a background worker that its
        # shutdown drains; shutting down is part of "durable, indexed, on disk" for everyone.
        t = time.perf_counter()
        self.shutdown()
        close_s = time.perf_counter() - t
        return {"flush_s": flush_s, "index_wait_s": index_s, "close_s": close_s}

    def open(self, path: str, spec: Spec) -> None:
        self.spec = spec
        self.client = self.make_client(path, fresh=False)
        self.client.load_collection(COLLECTION)

    def row_count(self) -> int:
        res = self.client.query(COLLECTION, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def searcher(self, param: Any, flt: FilterSpec | None, client: Any = None) -> Search:
        assert self.spec is not None
        client = client or self.client
        params = {"metric_type": self.spec.metric, "params": {"ef": int(param)}}
        expr = flt.milvus_expr() if flt else ""
        output = self.output_fields

        def search(queries: np.ndarray) -> list[list[int]]:
            res = client.search(
                COLLECTION,
                data=list(queries),
                limit=TOP_K,
                filter=expr,
                output_fields=output,
                search_params=params,
            )
            return [[hit["id"] for hit in hits] for hits in res]

        return search

    def close(self) -> None:
        self.shutdown()
