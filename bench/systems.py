"""The systems under test, behind one small adapter interface.

Each adapter runs inside a phase subprocess (see :mod:`bench.phase`):

- ``ingest(corpus, path, batch)``: create the collection, insert the corpus in
  batches (timing only the insert calls; building the batch objects is not
  counted), then flush and wait until the vector index is built;
- ``reopen(path)``: open the stored data in a fresh process so it can answer;
- ``searcher(ef, filter_name)``: a function ``vector -> list of ids`` doing one
  batch-1 top-10 search;
- ``close()``.

Every system gets the same vectors, the same HNSW build parameters (M=16,
efConstruction=200, metric L2) and is asked for ids and distances only: keeldb
with ``output_fields=None`` (its hits then carry no entity fields), Milvus Lite
with ``output_fields=["id"]`` (with None it returns every field, vectors too).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.dataset import FILTERS, Corpus

COLLECTION = "bench"
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
METRIC = "L2"
TOP_K = 10
SECTION_MAX_LENGTH = 16

Searcher = Callable[[np.ndarray], list[int]]


def _milvus_schema(client: Any, data_type: Any, dim: int) -> tuple[Any, Any]:
    """Schema and index params, built through the MilvusClient-shaped API both clients share."""
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", data_type.INT64, is_primary=True)
    schema.add_field("vector", data_type.FLOAT_VECTOR, dim=dim)
    schema.add_field("size", data_type.INT64)
    schema.add_field("section", data_type.VARCHAR, max_length=SECTION_MAX_LENGTH)
    schema.add_field("score", data_type.DOUBLE)
    index = client.prepare_index_params()
    index.add_index(
        field_name="vector",
        index_type="HNSW",
        metric_type=METRIC,
        params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION},
    )
    return schema, index


class _MilvusShaped:
    """keeldb and Milvus Lite share the MilvusClient surface, so they share this code."""

    name = ""
    client: Any = None

    def _make_client(self, path: str) -> Any:
        raise NotImplementedError

    def _data_type(self) -> Any:
        raise NotImplementedError

    def _wait_index(self) -> None:
        raise NotImplementedError

    def _batch(self, corpus: Corpus, lo: int, hi: int) -> Any:
        return corpus.rows_dicts(lo, hi)

    def ingest(self, corpus: Corpus, path: str, batch: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        self.client = self._make_client(path)
        schema, index = _milvus_schema(self.client, self._data_type(), corpus.vectors.shape[1])
        self.client.create_collection(COLLECTION, schema=schema, index_params=index)
        setup_s = time.perf_counter() - t0

        insert_s = 0.0
        batch_times = []
        loop_start = time.perf_counter()
        for lo in range(0, corpus.rows, batch):
            data = self._batch(corpus, lo, min(lo + batch, corpus.rows))
            t = time.perf_counter()
            self.client.insert(COLLECTION, data)
            dt = time.perf_counter() - t
            insert_s += dt
            batch_times.append(dt)
        loop_wall_s = time.perf_counter() - loop_start

        t = time.perf_counter()
        self.client.flush(COLLECTION)
        flush_s = time.perf_counter() - t
        t = time.perf_counter()
        self._wait_index()
        index_s = time.perf_counter() - t
        # Milvus Lite reports its index "Finished" at once and builds it on a background
        # worker that close() drains, so closing is part of "data and index on disk".
        t = time.perf_counter()
        self.close()
        close_s = time.perf_counter() - t
        bt = np.asarray(batch_times) * 1e3
        return {
            "setup_s": setup_s,
            "insert_s": insert_s,
            "insert_loop_wall_s": loop_wall_s,
            "rows_per_s": corpus.rows / insert_s,
            # the first call of a fresh process pays one-time costs (lazy imports, file creation)
            "first_batch_ms": float(bt[0]),
            "rows_per_s_after_first": (
                (corpus.rows - min(batch, corpus.rows)) / (insert_s - batch_times[0])
                if len(batch_times) > 1
                else None
            ),
            "batch_ms_p50": float(np.percentile(bt, 50)),
            "batch_ms_p99": float(np.percentile(bt, 99)),
            "batch_ms_max": float(bt.max()),
            "flush_s": flush_s,
            "index_wait_s": index_s,
            "close_s": close_s,
            "flush_and_index_s": flush_s + index_s + close_s,
        }

    def reopen(self, path: str) -> dict[str, float]:
        t = time.perf_counter()
        self.client = self._make_client(path)
        open_s = time.perf_counter() - t
        t = time.perf_counter()
        self.client.load_collection(COLLECTION)
        load_s = time.perf_counter() - t
        return {"open_s": open_s, "load_s": load_s}

    def row_count(self) -> int:
        res = self.client.query(COLLECTION, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    #: what to ask for so hits carry ids and distances only (each system's cheapest form)
    output_fields: list[str] | None = None

    def searcher(self, ef: int, filter_name: str | None) -> Searcher:
        client = self.client
        params = {"metric_type": METRIC, "params": {"ef": ef}}
        expression = FILTERS[filter_name] if filter_name else ""
        output = self.output_fields

        def search(vector: np.ndarray) -> list[int]:
            res = client.search(
                COLLECTION,
                data=[vector],
                limit=TOP_K,
                filter=expression,
                output_fields=output,
                search_params=params,
            )
            return [hit["id"] for hit in res[0]]

        return search

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


class KeelDB(_MilvusShaped):
    """keeldb embedded, default settings (sync_mode="fsync": each insert acked after fsync)."""

    name = "keeldb"

    def _make_client(self, path: str) -> Any:
        import keeldb

        return keeldb.Client(path)

    def _data_type(self) -> Any:
        import keeldb

        return keeldb.DataType

    def _wait_index(self) -> None:
        if not self.client.wait_for_index(COLLECTION):
            raise RuntimeError("keeldb: wait_for_index returned False")
        info = self.client.describe_index(COLLECTION, "vector")
        if info.get("pending_index_rows", 0):
            raise RuntimeError(f"keeldb: index not complete after wait_for_index: {info}")


class KeelDBColumnar(KeelDB):
    """The same engine fed a dict of numpy arrays per batch (the columnar insert path)."""

    name = "keeldb-columnar"

    def _batch(self, corpus: Corpus, lo: int, hi: int) -> Any:
        return corpus.columns(lo, hi)


class MilvusLite(_MilvusShaped):
    """Milvus Lite through pymilvus: ``MilvusClient("<dir>/milvus.db")``, its default settings."""

    name = "milvus-lite"
    _db_path = ""
    # With output_fields=None Milvus Lite 3.x returns every field, the vector included
    # (about half its per-query time at 20k rows); ["id"] returns the key alone.
    output_fields = ["id"]

    def _make_client(self, path: str) -> Any:
        from pymilvus import MilvusClient

        os.makedirs(path, exist_ok=True)  # pymilvus wants the .db's parent to exist
        self._db_path = os.path.join(path, "milvus.db")
        return MilvusClient(self._db_path)

    def close(self) -> None:
        """Close the client *and* stop the in-process server, draining its background work.

        ``MilvusClient.close()`` only drops the gRPC channel; the Milvus Lite server
        (a thread in this process) keeps running until ``atexit``, where it finishes
        the compaction / HNSW build its ``flush`` queued. Stopping it here, as the
        process would at exit, puts that work inside the timed close.
        """
        super().close()
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(self._db_path)

    def _data_type(self) -> Any:
        from pymilvus import DataType

        return DataType

    def _wait_index(self) -> None:
        deadline = time.monotonic() + 3600
        while True:
            info = self.client.describe_index(COLLECTION, "vector")
            if info.get("state") == "Finished" and not info.get("pending_index_rows", 0):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"milvus-lite: index not finished: {info}")
            time.sleep(0.05)


class Faiss:
    """Raw FAISS ``IndexHNSWFlat`` — the floor: no storage engine, no durability, no API layer.

    "Ingest" is ``index.add`` of the whole corpus (in memory, not durable) and the
    index is written with ``faiss.write_index`` so it can be reopened. Filtered
    search uses an ``IDSelectorBitmap`` in ``SearchParametersHNSW`` with no
    fallback, the reference point for what a plain filtered HNSW walk gives.
    """

    name = "faiss"
    FILE = "hnsw.faiss"

    def __init__(self) -> None:
        self.index: Any = None
        self._masks: dict[str, np.ndarray] = {}

    def ingest(self, corpus: Corpus, path: str, batch: int) -> dict[str, Any]:
        import faiss

        dim = corpus.vectors.shape[1]
        vectors = np.ascontiguousarray(corpus.vectors, dtype=np.float32)
        t = time.perf_counter()
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_L2)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.add(vectors)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        os.makedirs(path, exist_ok=True)
        faiss.write_index(index, os.path.join(path, self.FILE))
        write_s = time.perf_counter() - t
        self.index = index
        return {
            "index_build_s": build_s,
            "write_s": write_s,
            "flush_and_index_s": build_s + write_s,
        }

    def reopen(self, path: str) -> dict[str, float]:
        import faiss

        t = time.perf_counter()
        self.index = faiss.read_index(os.path.join(path, self.FILE))
        return {"open_s": time.perf_counter() - t, "load_s": 0.0}

    def row_count(self) -> int:
        return int(self.index.ntotal)

    def set_filter_masks(self, masks: dict[str, np.ndarray]) -> None:
        self._masks = masks

    def searcher(self, ef: int, filter_name: str | None) -> Searcher:
        import faiss

        index = self.index
        if filter_name is None:
            params = faiss.SearchParametersHNSW(efSearch=ef)
            keep: tuple[Any, ...] = ()
        else:
            bits = np.packbits(self._masks[filter_name], bitorder="little")
            selector = faiss.IDSelectorBitmap(len(self._masks[filter_name]), faiss.swig_ptr(bits))
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)
            keep = (bits, selector)  # the selector points into bits; keep both alive

        def search(vector: np.ndarray, _keep: tuple[Any, ...] = keep) -> list[int]:
            _, ids = index.search(vector.reshape(1, -1), TOP_K, params=params)
            return [int(i) for i in ids[0] if i >= 0]

        return search

    def close(self) -> None:
        self.index = None


SYSTEMS: dict[str, type] = {
    "keeldb": KeelDB,
    "keeldb-columnar": KeelDBColumnar,
    "faiss": Faiss,
    "milvus-lite": MilvusLite,
}


def disk_bytes(path: str, *, allocated: bool = False) -> int:
    """Size of every file under ``path``: apparent, or with ``allocated`` the blocks
    the files occupy (what ``du`` counts; less for sparse, preallocated files)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(os.path.join(root, name))
                total += st.st_blocks * 512 if allocated else st.st_size
    return total


def remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
