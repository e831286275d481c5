"""Milvus Lite's curves for ``bench.indexes``: the same corpus, queries and truth, same run.

Milvus Lite (pymilvus ``MilvusClient("./x.db")``) accepts every index type name
and parameter at ``create_index`` (docs/milvus-behaviour.md), so the curves
show what it does with them: each spec gets a fresh database file, the corpus
inserted in batches of 5,000 and flushed, the index created, the client closed
(Lite builds the index on a worker that close drains) and reopened, the
collection loaded; then its search parameter is swept like keeldb's. Batch 1:
one ``search`` call per query over the first ``batch1`` queries, median
latency; batch 100: every query in calls of 100, the better of two runs (recall
from this run). Build time is insert + flush + create_index + close + reopen +
load; disk is the database directory's size. There is no raw library
underneath to compare with.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

K = 10
#: (name, index type, build params, swept search param, values)
SPECS: list[tuple[str, str, dict[str, Any], str | None, list[Any]]] = [
    ("FLAT", "FLAT", {}, None, [None]),
    ("IVF_FLAT", "IVF_FLAT", {"nlist": 1024}, "nprobe", [1, 8, 64]),
    ("HNSW", "HNSW", {"M": 16, "efConstruction": 200}, "ef", [16, 64, 256]),
]


def lite_sweeps(
    corpus: np.ndarray,
    queries: np.ndarray,
    recall_of: Callable[[np.ndarray], float],
    metric: str,
    batch1: int,
) -> list[dict[str, Any]]:
    from pymilvus import DataType, MilvusClient

    out = []
    for name, index_type, build, key, values in SPECS:
        folder = Path(tempfile.mkdtemp(prefix="keel-lite-"))
        try:
            client = MilvusClient(str(folder / "bench.db"))
            start = time.perf_counter()
            schema = client.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=corpus.shape[1])
            client.create_collection("bench", schema=schema)
            for lo in range(0, len(corpus), 5000):
                rows = corpus[lo : lo + 5000]
                client.insert("bench", [{"id": lo + i, "vector": v} for i, v in enumerate(rows)])
            client.flush("bench")
            index_params = client.prepare_index_params()
            index_params.add_index("vector", index_type=index_type, metric_type=metric,
                                   params=build)  # fmt: skip
            client.create_index("bench", index_params)
            # Lite reports the index finished at once and builds it on a worker that
            # close drains; searched before that, it scans exactly (recall 1, ~10 s a
            # query here). Reopening is how its own users get the index.
            client.close()
            client = MilvusClient(str(folder / "bench.db"))
            client.load_collection("bench")
            build_s = time.perf_counter() - start
            points = [_measure(client, metric, key, v, queries, recall_of, batch1) for v in values]
            for p in points:
                print(f"  Milvus Lite {name} {key}={p['param']}: recall {p['recall']:.3f}, "
                      f"b1 {p['latency_ms']:.3f} ms, b100 {p['qps_b100']:.0f} qps",
                      flush=True)  # fmt: skip
            client.close()
            disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            out.append({"name": f"Milvus Lite {name}", "index_type": index_type, "build": build,
                        "param": key, "build_s": build_s, "disk_bytes": disk,
                        "points": points})  # fmt: skip
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return out


def _measure(client, metric, key, value, queries, recall_of, batch1) -> dict[str, Any]:
    params = {"metric_type": metric, "params": {} if key is None else {key: value}}

    def search(q: np.ndarray) -> np.ndarray:
        found = client.search("bench", data=q.tolist(), limit=K, search_params=params,
                              anns_field="vector", output_fields=["id"])  # fmt: skip
        ids = np.full((len(q), K), -1, dtype=np.int64)
        for row, hits in enumerate(found):
            got = [hit["id"] for hit in hits]
            ids[row, : len(got)] = got
        return ids

    best, ids = 0.0, None
    for _ in range(2):
        start = time.perf_counter()
        parts = [search(queries[lo : lo + 100]) for lo in range(0, len(queries), 100)]
        best = max(best, len(queries) / (time.perf_counter() - start))
        ids = np.concatenate(parts)
    latencies = []
    for i in range(min(batch1, len(queries))):
        start = time.perf_counter()
        search(queries[i : i + 1])
        latencies.append(time.perf_counter() - start)
    latency_ms = 1000 * float(np.median(latencies))
    return {"param": value, "recall": recall_of(ids), "latency_ms": latency_ms, "qps_b100": best}
