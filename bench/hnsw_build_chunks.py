"""Does the size of FAISS's ``add`` calls change the HNSW graph it builds?

keeldb builds each segment's HNSW graph with ``add`` calls of
``HNSW_ADD_CHUNK_ROWS`` rows (keeldb/index/faiss_indexes.py). This measures why:
recall@10 at several ``ef`` and the build's CPU seconds, for one bulk ``add``
against chunked ``add`` calls, on the Debian corpus in its stored order
(alphabetical by package) and on synthetic clustered vectors in random and in
sorted order. Raw FAISS only (M=16, efConstruction=200), one process.

    python -m bench.hnsw_build_chunks --out bench/results/hnsw-build-chunks.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Iterator

import faiss
import numpy as np

from bench.dataset import make_queries, sample_vectors
from bench.metrics import exact_topk
from bench.suite.datasets import default_directory, load, prepare

EFS = (32, 64, 128)
M, EF_CONSTRUCTION, K = 16, 200, 10


def datasets(
    synthetic_rows: int, queries: int
) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray, int]]:
    """(name, vectors, queries, exact top-k, FAISS metric) per case."""
    prepare("debian")
    debian = load(default_directory("debian", None, None))
    yield (
        "debian (63,666 x 384, cosine, stored order)",
        np.ascontiguousarray(debian.vectors, dtype=np.float32),
        np.ascontiguousarray(debian.queries[:queries], dtype=np.float32),
        np.asarray(debian.truth[:queries, :K]),
        faiss.METRIC_INNER_PRODUCT,
    )
    x = sample_vectors(synthetic_rows, 128, 1)
    q = make_queries(queries, 128)
    for name, data in (("random order", x), ("sorted by first coordinate", x[np.argsort(x[:, 0])])):
        data = np.ascontiguousarray(data)
        yield (
            f"synthetic ({synthetic_rows:,} x 128, L2, {name})",
            data,
            q,
            exact_topk(data, q, K),
            faiss.METRIC_L2,
        )


def measure(
    vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, metric: int, chunk: int
) -> dict:
    index = faiss.IndexHNSWFlat(vectors.shape[1], M, metric)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    cpu = time.process_time()
    for start in range(0, len(vectors), chunk):
        index.add(vectors[start : start + chunk])
    build_cpu_s = time.process_time() - cpu
    recall = {}
    for ef in EFS:
        _, ids = index.search(queries, K, params=faiss.SearchParametersHNSW(efSearch=ef))
        recall[ef] = float(
            np.mean([len(set(a) & set(b)) / K for a, b in zip(ids.tolist(), truth.tolist())])
        )
    return {"chunk_rows": chunk, "build_cpu_s": build_cpu_s, "recall": recall}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.hnsw_build_chunks")
    p.add_argument("--synthetic-rows", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--chunks", default="0,2048,8192", help="rows per add call; 0 = one bulk call")
    p.add_argument("--out", default="bench/results/hnsw-build-chunks.md")
    args = p.parse_args(argv)
    chunks = [int(c) for c in args.chunks.split(",")]
    started = time.time()
    cases = []
    for name, vectors, queries, truth, metric in datasets(args.synthetic_rows, args.queries):
        runs = [measure(vectors, queries, truth, metric, c or len(vectors)) for c in chunks]
        cases.append({"dataset": name, "runs": runs})
        print(name, json.dumps(runs), flush=True)
    lines = [
        "# HNSW build: one bulk FAISS `add` vs chunked `add` calls",
        "",
        f"- command: `python -m bench.hnsw_build_chunks --synthetic-rows {args.synthetic_rows} "
        f"--queries {args.queries} --chunks {args.chunks} --out {args.out}`",
        f"- date (UTC): {time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(started))}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"faiss {faiss.__version__}; "
        f"load average at start {os.getloadavg()[0]:.1f} (build CPU seconds are process time)",
        f"- raw FAISS IndexHNSWFlat M={M} efConstruction={EF_CONSTRUCTION}; "
        f"recall@{K} against exact top-{K} over the first queries of each set",
        "",
        "| dataset | rows per add | build CPU s | "
        + " | ".join(f"recall@10 ef={ef}" for ef in EFS)
        + " |",
        "|---|---:|---:|" + "---:|" * len(EFS),
    ]
    for case in cases:
        for run in case["runs"]:
            rows = "bulk" if run["chunk_rows"] >= 50_000 else f"{run['chunk_rows']:,}"
            recalls = " | ".join(f"{run['recall'][ef]:.3f}" for ef in EFS)
            lines.append(f"| {case['dataset']} | {rows} | {run['build_cpu_s']:.1f} | {recalls} |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"started_utc": started, "cases": cases}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
