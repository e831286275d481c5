"""One benchmark phase of one system, run in a fresh process by :mod:`bench.engine`.

    python -m bench.phase ingest --system keeldb --work W --path P --batch 1000 --result R.json
    python -m bench.phase search --system keeldb --work W --path P --efs 10,16,... --result R.json

``ingest`` creates the collection in ``P`` and loads the corpus; ``search``
reopens ``P`` (timing open + load + the first query), then runs the batch-1
ef sweep and the filtered searches. Each writes one JSON object to ``R``,
including the process's peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Any

import numpy as np

from bench.dataset import FILTERS, load_corpus
from bench.metrics import first_reaching, latency_summary, recall_at_k
from bench.systems import SYSTEMS, TOP_K

TARGET_RECALL = 0.95
WARMUP_QUERIES = 100
WARMUP_PER_POINT = 10
FIRST_QUERY_EF = 64


def peak_rss_bytes() -> int:
    """This process's peak RSS: ``VmHWM`` from /proc/self/status.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries the parent's peak
    across fork + exec into it, so every phase would report the driver's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _import_system(name: str) -> float:
    t = time.perf_counter()
    if name.startswith("keeldb"):
        import keeldb  # noqa: F401
    elif name == "milvus-lite":
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    import faiss  # noqa: F401  (every system here runs FAISS in this process)

    return time.perf_counter() - t


def run_ingest(args: argparse.Namespace) -> dict[str, Any]:
    import_s = _import_system(args.system)
    corpus = load_corpus(os.path.join(args.work, "data"))
    system = SYSTEMS[args.system]()
    rss_before = current_rss_bytes()
    result = system.ingest(corpus, args.path, args.batch)
    result["rows"] = corpus.rows
    result["batch_rows"] = args.batch
    system.close()
    result.update(
        import_s=import_s,
        rss_before_open_bytes=rss_before,
        peak_rss_bytes=peak_rss_bytes(),
    )
    return result


def _timed_loop(
    search: Any, queries: list[np.ndarray]
) -> tuple[list[list[int]], list[float], float]:
    found: list[list[int]] = []
    lat: list[float] = []
    clock = time.perf_counter
    start = clock()
    for q in queries:
        t = clock()
        ids = search(q)
        lat.append(clock() - t)
        found.append(ids)
    return found, lat, clock() - start


def _point(
    system: Any, ef: int, filter_name: str | None, queries: list[np.ndarray], truth: np.ndarray
) -> dict[str, Any]:
    search = system.searcher(ef, filter_name)
    for q in queries[:WARMUP_PER_POINT]:
        search(q)
    found, lat, wall = _timed_loop(search, queries)
    point = {"ef": ef, "recall": recall_at_k(found, truth, TOP_K)}
    point.update(latency_summary(lat, wall))
    point["short_results"] = sum(1 for f, t in zip(found, truth) if len(f) < int((t >= 0).sum()))
    print(
        f"{system.name} ef={ef} filter={filter_name}: recall {point['recall']:.3f}, "
        f"p50 {point['p50_ms']:.3f} ms, {point['qps']:,.0f} QPS",
        file=sys.stderr,
        flush=True,
    )
    return point


def run_search(args: argparse.Namespace) -> dict[str, Any]:
    import_s = _import_system(args.system)
    import faiss

    faiss.omp_set_num_threads(1)  # batch-1, one thread: no OpenMP team for any system
    work = args.work
    queries_arr = np.load(os.path.join(work, "queries.npy"))
    queries = [queries_arr[i] for i in range(len(queries_arr))]
    truth = np.load(os.path.join(work, "gt.npy"))
    filtered_truth = {name: np.load(os.path.join(work, f"gt-{name}.npy")) for name in FILTERS}

    system = SYSTEMS[args.system]()
    if args.system == "faiss":
        corpus = load_corpus(os.path.join(work, "data"))
        system.set_filter_masks({name: corpus.filter_mask(name) for name in FILTERS})
        del corpus
    rss_before = current_rss_bytes()

    # -- reopen and answer the first query ------------------------------------------
    t0 = time.perf_counter()
    opened = system.reopen(args.path)
    t = time.perf_counter()
    first = system.searcher(FIRST_QUERY_EF, None)(queries[0])
    first_search_s = time.perf_counter() - t
    reopen = dict(opened, first_search_s=first_search_s, total_s=time.perf_counter() - t0)
    reopen["first_hits"] = len(first)
    rss_after_open = current_rss_bytes()
    peak_after_open = peak_rss_bytes()
    rows = system.row_count()

    # -- warm-up, then the unfiltered ef sweep ----------------------------------------
    warm = system.searcher(FIRST_QUERY_EF, None)
    for q in queries[:WARMUP_QUERIES]:
        warm(q)
    sweep = [_point(system, ef, None, queries, truth) for ef in args.efs]
    op = first_reaching(sweep, TARGET_RECALL)
    op_ef = op["ef"] if op else max(args.efs)

    # -- filtered search (~1% of rows) at the operating ef and the fixed extra efs -------
    filtered: dict[str, list[dict[str, Any]]] = {}
    for name in FILTERS:
        efs = sorted({op_ef, *args.filter_efs})
        filtered[name] = [_point(system, ef, name, queries, filtered_truth[name]) for ef in efs]

    system.close()
    return {
        "import_s": import_s,
        "rows_seen": rows,
        "reopen": reopen,
        "sweep": sweep,
        "operating_ef": op_ef if op else None,
        "filtered": filtered,
        "faiss_omp_threads": 1,
        "rss_before_open_bytes": rss_before,
        "rss_after_open_bytes": rss_after_open,
        "peak_rss_after_open_bytes": peak_after_open,
        "peak_rss_bytes": peak_rss_bytes(),
    }


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.phase")
    parser.add_argument("phase", choices=["ingest", "search"])
    parser.add_argument("--system", required=True, choices=sorted(SYSTEMS))
    parser.add_argument("--work", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--efs", type=_ints, default=[10, 16, 24, 32, 48, 64, 96, 128, 256])
    parser.add_argument("--filter-efs", type=_ints, default=[64, 256])
    args = parser.parse_args(argv)
    result = run_ingest(args) if args.phase == "ingest" else run_search(args)
    result.update(system=args.system, phase=args.phase, pid=os.getpid())
    with open(args.result, "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
