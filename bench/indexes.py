"""The index-catalogue benchmark of issue #4: recall@10 vs QPS for every index type.

    python -m bench.indexes --out bench/results/indexes-debian.json        # full corpus
    python -m bench.indexes --rows 8000 --queries 300 --out /tmp/idx.json  # development
    python -m bench.indexes --dataset synthetic --rows 1000000 --quick --targets "" \
        --out bench/results/indexes-synthetic-1m.json                      # 1M x 128
    python -m bench.indexes --only none --milvus-lite --quick --targets "" \
        --out /tmp/lite.json                                               # Milvus Lite only

**Corpus**: ``/work/shared/data/debian/minilm-f16.npy`` (63,666 Debian package
descriptions embedded with all-MiniLM-L6-v2, 384-d, float16), cast to float32
and re-normalised; metric COSINE. ``--rows`` takes the first rows only.

**Queries** (``--query-source``): ``text`` (default) embeds the synopses of
``queries-dev.jsonl`` with the same model (held-out: never rows of the corpus;
cached under ``~/.cache/keeldb-bench``) and takes them in a seeded random order
(the file is sorted by corpus region); ``self`` uses corpus rows (seeded) and
removes each query's own row from the ground truth and from every answer.

**Ground truth**: exact top-10 by cosine in float64 with numpy
(``bench.metrics.exact_topk`` on unit vectors, where L2 order = cosine order).
**Recall** is tie-aware (``keeldb.index.recall.recall_by_score``: a returned row
counts when its true cosine is at least the 10th true neighbour's, as
ann-benchmarks counts): the corpus holds 5.5% duplicate vectors (packages sharing
one long description), and which of two equal rows comes back is arbitrary.
``recall_ids`` (plain id overlap) is in the JSON too.

**Synthetic** (``--dataset synthetic``): ``bench.dataset.sample_vectors`` (100
clusters in a 64-d latent space mapped to ``--dim``, plus noise; data seed 1,
queries seed 2, never rows of the data), metric L2, exact truth in float64. Above
200,000 rows the sweep is scaled for 2 cores: IVF types use ``nlist = 1024``,
graphs ``efConstruction = 100``, the builds run quickest first, and the
re-ranked HNSW_SQ / HNSW_PQ variants, hnswlib and Annoy are left out.

**Each index type** is built once through keeldb (``keeldb.index.create_index``;
build time, ``memory_bytes()``, serialised size = disk) and swept over its search
parameter. Every point is measured twice in the same run: through keeldb's
``VectorIndex.search`` and through the raw library on the very same built
structure (FAISS ``index.search`` with ``SearchParameters*``, hnswlib
``set_ef`` + ``knn_query``, Annoy ``get_nns_by_vector``; FLAT: a
``faiss.IndexFlatIP`` (``IndexFlatL2`` for L2); HNSW_SQ / HNSW_PQ / SCANN with
a refine copy: FAISS's ``IndexRefineSearchParameters`` with the same ``k_factor``). Search params
held fixed through a sweep (``refine_k``, ``reorder_k``) are in its name's row.
Batch 1: single-thread FAISS, ``--batch1-queries`` queries searched one after
another in passes, three per side, the sides alternating pass by pass
(``batch1_latencies``); a query's latency is its median over its passes, the
figure the median over queries (the machine is shared: medians shrug off other
jobs' bursts); overhead % = (keeldb - raw) / raw median latency. Batch 100: all
cores, every query, the better of two runs; recall comes from this run.

**AUTOINDEX** at each ``--targets`` recall: ``keeldb.index.autotune.tune`` on
the corpus, twice: on held-in queries (500 corpus rows plus noise: what it does
before a collection has seen searches) and, for text queries, on 500 other dev
queries, none of the measured ones (``recorded``: what it does once a collection
has recorded its users' queries, ``keeldb.engine.query_sample``); then each
chosen configuration is measured on the held-out queries like any sweep point and
set against the best hand-picked sweep point reaching at least the same
held-out recall (highest batch-1 QPS in the sweep), which is measured again
right after it, so both numbers come from the same conditions.

**Milvus Lite** (``--milvus-lite``, :mod:`bench.indexes_milvus_lite`): the same
queries and truth through pymilvus ``MilvusClient("./x.db")`` for the index
types it accepts (FLAT, IVF_FLAT, HNSW), in the same run.

Writes JSON (``--out``), Markdown and a PNG of the curves next to it
(``bench/indexes_report.py``) after every index type, so a run cut short keeps
what it measured (marked ``"complete": false``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.dataset import DATA_SEED, QUERY_SEED, sample_vectors
from bench.metrics import exact_topk, recall_at_k
from keeldb.index import backend_available, create_index
from keeldb.index.autotune import built_key, tune
from keeldb.index.base import VectorIndex
from keeldb.index.recall import recall_by_score, true_scores
from keeldb.types import MetricType

DATA = Path(os.environ.get("KEEL_SHARED_DATA", "/work/shared/data")) / "debian"
CACHE = Path.home() / ".cache" / "keeldb-bench"
K = 10
METRIC = "COSINE"
RawSearch = Callable[[np.ndarray, int, Any], np.ndarray]
#: batch-1 passes over the queries per side (``batch1_latencies``)
BATCH1_PASSES = 3
#: real queries AUTOINDEX is also tuned on (``recorded_queries``)
RECORDED_QUERIES = 500
#: the seed of the text queries' order (``shuffled_text_queries``)
TEXT_QUERY_ORDER_SEED = 11


@dataclass
class Config:
    name: str
    index_type: str
    build: dict[str, Any]
    key: str | None  # the swept search parameter
    values: list[Any]
    backend: str = "faiss"
    fixed: dict[str, Any] = field(default_factory=dict)  # search params held fixed


def configs(rows: int, dim: int, quick: bool, big: bool = False) -> list[Config]:
    """The sweeps; ``big`` (the 1M synthetic set on 2 cores) drops the slow builds."""
    nlist = max(1, round(4 * math.sqrt(rows)))  # Milvus's guidance, and AUTOINDEX's choice
    if big:
        nlist = 1024  # k-means on 1M rows x 4000 lists takes too long on 2 cores
    efs = [10, 16, 32, 64, 128, 256] if quick else [10, 16, 24, 32, 48, 64, 96, 128, 256]
    probes = [p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256) if p <= nlist]
    if quick:
        probes = [p for p in probes if p in (1, 4, 16, 64, 256)]
    trees = 50
    graph = {"M": 16, "efConstruction": 100 if big else 200}
    out = [
        Config("FLAT", "FLAT", {}, None, [None]),
        Config("HNSW", "HNSW", graph, "ef", efs),
        Config("HNSW_SQ", "HNSW_SQ", {**graph, "sq_type": "SQ8"}, "ef", efs),
        Config(
            "HNSW_SQ+refine",
            "HNSW_SQ",
            {**graph, "sq_type": "SQ8", "refine": True, "refine_type": "FP32"},
            "ef",
            efs,
            fixed={"refine_k": 2},
        ),  # fmt: skip
        Config(
            "HNSW_PQ+refine",
            "HNSW_PQ",
            {**graph, "m": dim // 4, "nbits": 8, "refine": True, "refine_type": "FP32"},
            "ef",
            efs,
            fixed={"refine_k": 2},
        ),  # fmt: skip
        Config("IVF_FLAT", "IVF_FLAT", {"nlist": nlist}, "nprobe", probes),
        Config("IVF_SQ8", "IVF_SQ8", {"nlist": nlist}, "nprobe", probes),
        Config("IVF_PQ", "IVF_PQ", {"nlist": nlist, "m": dim // 8, "nbits": 8}, "nprobe", probes),
        Config(
            "SCANN",
            "SCANN",
            {"nlist": nlist, "with_raw_data": True},
            "nprobe",
            probes,
            fixed={"reorder_k": 100},
        ),  # fmt: skip
    ]
    if big:  # the quick builds first: a run cut short still covers the most types
        order = ("FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "SCANN", "HNSW_SQ", "HNSW")
        by_name = {c.name: c for c in out}
        return [by_name[name] for name in order]
    if backend_available("hnswlib"):
        build = {"M": 16, "efConstruction": 200, "backend": "hnswlib"}
        out.insert(2, Config("HNSW/hnswlib", "HNSW", build, "ef", efs, "hnswlib"))
    if backend_available("annoy"):
        factors = (1, 2, 4, 8, 16, 32) if not quick else (1, 4, 16, 32)
        out.append(Config("ANNOY", "ANNOY", {"n_trees": trees}, "search_k",
                          [K * trees * f for f in factors], "annoy"))  # fmt: skip
    return out


# -- data ---------------------------------------------------------------------------------


def load_corpus(rows: int | None) -> np.ndarray:
    vectors = np.load(DATA / "minilm-f16.npy", mmap_mode="r")
    vectors = np.asarray(vectors[: rows or len(vectors)], dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def load_text_queries(limit: int | None) -> np.ndarray:
    cache = CACHE / "debian-queries-dev-minilm.npy"
    if cache.exists():
        return np.load(cache)[:limit]
    from keeldb.lifecycle.sentence_transformers import (
        SentenceTransformerEncoder,
        bundled_minilm_path,
    )

    texts = [json.loads(line)["text"] for line in (DATA / "queries-dev.jsonl").open()]
    encoder = SentenceTransformerEncoder(bundled_minilm_path(), dim=384, max_seq_length=256)
    embedded = encoder.encode(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(cache, embedded)
    return embedded[:limit]


def shuffled_text_queries() -> np.ndarray:
    """Every embedded dev query in a seeded random order: the file is sorted by the
    relevant package, i.e. by corpus region, so its head and tail are different
    populations of queries."""
    queries = load_text_queries(None)
    order = np.random.default_rng(TEXT_QUERY_ORDER_SEED).permutation(len(queries))
    return np.ascontiguousarray(queries[order], dtype=np.float32)


def load_queries(source: str, corpus: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(queries, own corpus row per query or -1)."""
    if source == "text":
        queries = shuffled_text_queries()[:count]
        return queries, np.full(len(queries), -1)
    rows = np.sort(np.random.default_rng(7).choice(len(corpus), count, replace=False))
    return np.ascontiguousarray(corpus[rows]), rows


def recorded_queries(args: argparse.Namespace) -> np.ndarray | None:
    """Real queries to tune AUTOINDEX on, as a collection records its users' queries:
    the ``RECORDED_QUERIES`` shuffled text queries after the measured ones (None when
    the queries are not text or too few are left)."""
    if args.dataset != "debian" or args.query_source != "text":
        return None
    texts = shuffled_text_queries()[args.queries : args.queries + RECORDED_QUERIES]
    return texts if len(texts) == RECORDED_QUERIES else None


@dataclass
class Truth:
    """Exact top-K ids per query and tie-aware recall against them."""

    corpus: np.ndarray
    queries: np.ndarray
    ids: np.ndarray

    def scores(self, ids: np.ndarray) -> np.ndarray:
        rows = np.where((ids >= 0)[..., None], self.corpus[np.maximum(ids, 0)], np.nan)
        return true_scores(self.queries, rows, MetricType(METRIC))

    def recall(self, found: np.ndarray) -> float:
        metric = MetricType(METRIC)
        per_query = recall_by_score(self.scores(found), self.scores(self.ids), metric)
        return float(per_query.mean())


def ground_truth(corpus: np.ndarray, queries: np.ndarray, own: np.ndarray) -> Truth:
    truth = exact_topk(corpus, queries, K + 1)
    out = np.empty((len(queries), K), dtype=np.int64)
    for i, row in enumerate(truth):
        out[i] = row[row != own[i]][:K]
    return Truth(corpus, queries, out)


def strip_own(ids: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Drop each query's own row (``self`` queries) and keep the first K ids."""
    if (own < 0).all():
        return ids[:, :K]
    return np.stack([row[row != o][:K] for row, o in zip(ids, own)])


# -- the raw libraries on keeldb's built structures ------------------------------------


def raw_search(cfg: Config, index: VectorIndex, corpus: np.ndarray) -> RawSearch:
    inner: Any = getattr(index, "_index", None)
    if cfg.index_type == "FLAT":
        # unit vectors under COSINE: inner product; the synthetic corpus: L2
        flat = (faiss.IndexFlatL2 if METRIC == "L2" else faiss.IndexFlatIP)(corpus.shape[1])
        flat.add(corpus)
        return lambda q, k, _: flat.search(q, k)[1]
    if cfg.backend == "hnswlib":

        def hnswlib_search(q: np.ndarray, k: int, ef: int) -> np.ndarray:
            inner.set_ef(max(ef, k))
            return inner.knn_query(q, k=k)[0].astype(np.int64)

        return hnswlib_search
    if cfg.backend == "annoy":

        def annoy_search(q: np.ndarray, k: int, search_k: int) -> np.ndarray:
            out = np.full((len(q), k), -1, dtype=np.int64)
            for row, vector in enumerate(q):
                found = inner.get_nns_by_vector(vector, k, search_k=search_k)
                out[row, : len(found)] = found
            return out

        return annoy_search
    refine_k = cfg.fixed.get("refine_k", 1.0)
    if cfg.index_type.startswith("HNSW"):

        def hnsw_search(q: np.ndarray, k: int, ef: int) -> np.ndarray:
            params = faiss.SearchParametersHNSW(efSearch=max(ef, k))
            if isinstance(inner, faiss.IndexRefine):
                params = faiss.IndexRefineSearchParameters(
                    k_factor=refine_k, base_index_params=params
                )
            return inner.search(q, k, params=params)[1]

        return hnsw_search
    reorder_k = cfg.fixed.get("reorder_k", K)

    def ivf_search(q: np.ndarray, k: int, nprobe: int) -> np.ndarray:
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        if isinstance(inner, faiss.IndexRefine):  # SCANN with raw data
            params = faiss.IndexRefineSearchParameters(
                k_factor=max(reorder_k, k) / k, base_index_params=params
            )
        return inner.search(q, k, params=params)[1]

    return ivf_search


# -- measuring ----------------------------------------------------------------------------


@dataclass
class Point:
    param: Any
    recall: float
    recall_raw: float | None
    recall_ids: float
    latency_ms: float
    latency_raw_ms: float | None
    qps_b100: float
    qps_b100_raw: float | None

    @property
    def overhead_pct(self) -> float | None:
        if not self.latency_raw_ms:
            return None
        return 100.0 * (self.latency_ms - self.latency_raw_ms) / self.latency_raw_ms


def measure(
    index: VectorIndex,
    raw: RawSearch | None,
    key: str | None,
    value: Any,
    queries: np.ndarray,
    truth: Truth,
    own: np.ndarray,
    batch1: int,
    fixed: dict[str, Any] | None = None,
) -> Point:
    k = K if (own < 0).all() else K + 1
    params = dict(fixed or {})
    if key is not None:
        params[key] = max(value, k) if key == "ef" else value
    ours = lambda q: index.search(q, k, params=params).ids  # noqa: E731
    theirs = (lambda q: raw(q, k, params.get(key))) if raw else None  # noqa: E731
    cores = os.cpu_count() or 1
    faiss.omp_set_num_threads(cores)
    qps, ids = batched(ours, queries)
    qps_raw, ids_raw = batched(theirs, queries) if theirs else (None, None)
    qps = max(qps, batched(ours, queries)[0])
    qps_raw = max(qps_raw, batched(theirs, queries)[0]) if theirs else None
    faiss.omp_set_num_threads(1)
    lat = batch1_latencies(ours, theirs, queries[: min(batch1, len(queries))])
    faiss.omp_set_num_threads(cores)
    return Point(
        param=value,
        recall=truth.recall(strip_own(ids, own)),
        recall_raw=truth.recall(strip_own(ids_raw, own)) if theirs else None,
        recall_ids=recall_at_k(strip_own(ids, own), truth.ids, K),
        latency_ms=1000 * lat[0],
        latency_raw_ms=1000 * lat[1] if theirs else None,
        qps_b100=qps,
        qps_b100_raw=qps_raw,
    )


def batch1_latencies(
    ours: Callable[[np.ndarray], Any],
    theirs: Callable[[np.ndarray], Any] | None,
    queries: np.ndarray,
    passes: int = BATCH1_PASSES,
) -> tuple[float, float | None]:
    """Median batch-1 latency (s) of ``ours`` and ``theirs`` over ``queries``.

    Each side runs whole passes over the queries, one query after another, as a
    stream of distinct queries arrives; the passes alternate sides (ours, theirs,
    theirs, ours, ...), so drifts in machine load fall on both. A query's latency is
    its median over its passes; the figure is the median over queries. (Interleaving
    the two sides query by query does not work: whichever runs second finds the
    query's graph region in cache, and the median of that two-mode mix is unstable.)
    """
    n = len(queries)
    lat = {0: np.zeros((passes, n)), 1: np.zeros((passes, n))}
    sides = [(0, ours), (1, theirs)]
    for rep in range(2 * passes):
        side, search = sides[(rep + rep // 2) % 2]  # ours, theirs, theirs, ours, ...
        if search is None:
            continue
        row = lat[side][rep // 2]
        for i in range(n):
            q = queries[i : i + 1]
            start = time.perf_counter()
            search(q)
            row[i] = time.perf_counter() - start
    per_query = {side: np.median(samples, axis=0) for side, samples in lat.items()}
    return float(np.median(per_query[0])), (
        float(np.median(per_query[1])) if theirs is not None else None
    )


def batched(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[float, Any]:
    parts = []
    start = time.perf_counter()
    for lo in range(0, len(queries), 100):
        parts.append(np.asarray(search(queries[lo : lo + 100])))
    elapsed = time.perf_counter() - start
    return len(queries) / elapsed, np.concatenate(parts)


def run_config(cfg, corpus, queries, truth, own, batch1, built, kept) -> dict[str, Any]:
    start = time.perf_counter()
    index = create_index(cfg.index_type, METRIC, corpus.shape[1], cfg.build)
    index.build(corpus)
    build_s = time.perf_counter() - start
    if cfg.index_type in ("FLAT", "IVF_FLAT"):  # AUTOINDEX candidates: tuning reuses them
        built[built_key(index.index_type, index.params)] = index
    disk = len(index.to_bytes())
    raw = raw_search(cfg, index, corpus)
    kept[cfg.name] = index  # AUTOINDEX re-measures its best hand-picked rival on it
    points = []
    for value in cfg.values:
        points.append(measure(index, raw, cfg.key, value, queries, truth, own, batch1, cfg.fixed))
        p = points[-1]
        print(f"  {cfg.name} {cfg.key}={value}: recall {p.recall:.3f}, "
              f"b1 {p.latency_ms:.3f} ms (raw {p.latency_raw_ms or 0:.3f}), "
              f"b100 {p.qps_b100:.0f} qps", flush=True)  # fmt: skip
    return {
        "name": cfg.name,
        "index_type": cfg.index_type,
        "build": cfg.build,
        "param": cfg.key,
        "fixed": cfg.fixed,
        "build_s": build_s,
        "memory_bytes": index.memory_bytes(),
        "disk_bytes": disk,
        "points": [{**asdict(p), "overhead_pct": p.overhead_pct} for p in points],
    }


def run_autoindex(
    corpus, queries, truth, own, batch1, targets, sweeps, built, kept, recorded=None
) -> list[dict[str, Any]]:
    """AUTOINDEX at each target, tuned on sampled held-in queries and, with
    ``recorded`` (real queries other than the measured ones), on those as well:
    what it does once a collection has recorded its users' queries."""
    out = []
    sources = [("sampled", None)] + ([("recorded", recorded)] if recorded is not None else [])
    for target, (source, tuning_queries) in [(t, src) for t in targets for src in sources]:
        start = time.perf_counter()
        faiss.omp_set_num_threads(1)  # tuning times batch-1 searches, as measured here
        result = tune(corpus, METRIC, "AUTOINDEX", {"recall": target}, target, built=built,
                      query_vectors=tuning_queries, query_source=source)  # fmt: skip
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        tune_s = time.perf_counter() - start
        chosen = result.chosen
        index = built[built_key(chosen.index_type, chosen.build)]
        held = measure(index, None, None, None, queries, truth, own, batch1, chosen.search)
        candidates = [
            (sweep["name"], sweep["param"], p, sweep.get("fixed") or {})
            for sweep in sweeps
            for p in sweep["points"]
            if p["recall"] >= held.recall
        ]
        best = min(candidates, key=lambda c: c[2]["latency_ms"], default=None)
        rival = None
        if best is not None:  # measured again now, in the same conditions as the chosen one
            rival = measure(kept[best[0]], None, best[1], best[2]["param"], queries, truth,
                            own, batch1, best[3])  # fmt: skip
        out.append({
            "target": target,
            "tuned_on": result.query_source,
            "tune_s": tune_s,
            "chosen": chosen.config(),
            "measured_recall": chosen.recall,
            "recall_ci": list(chosen.ci),
            "met": result.met,
            "tried": [{**m.config(), "recall": m.recall, "latency_ms": m.latency_ms}
                      for m in result.tried],
            "held_out": asdict(held),
            "best_hand_picked": None if best is None or rival is None else {
                "name": best[0], "param": best[1], "value": best[2]["param"],
                "recall": rival.recall, "latency_ms": rival.latency_ms,
                "qps_b100": rival.qps_b100, "sweep_latency_ms": best[2]["latency_ms"],
            },
        })  # fmt: skip
        print(f"  AUTOINDEX {target} ({source}): {chosen.config()} measured {chosen.recall:.3f}, "
              f"held-out {held.recall:.3f}, b1 {held.latency_ms:.3f} ms", flush=True)  # fmt: skip
    return out


# -- main ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    with open("/proc/cpuinfo") as info:
        names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    model = names[0] if names else platform.processor()
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            n: ver(n) for n in ("faiss-cpu", "hnswlib", "annoy", "numpy", "pymilvus", "milvus-lite")
        },
        "loadavg_start": list(os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="first N corpus rows (all)")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--batch1-queries", type=int, default=300)
    parser.add_argument("--query-source", choices=("text", "self"), default="text")
    parser.add_argument("--targets", default="0.90,0.95,0.99")
    parser.add_argument("--only", default="", help="comma-separated config names")
    parser.add_argument("--quick", action="store_true", help="fewer sweep points")
    parser.add_argument("--out", default="bench/results/indexes-debian.json")
    parser.add_argument("--dataset", choices=("debian", "synthetic"), default="debian")
    parser.add_argument("--dim", type=int, default=128, help="synthetic only")
    parser.add_argument("--milvus-lite", action="store_true", help="add Milvus Lite curves")
    args = parser.parse_args(argv)

    global METRIC  # the corpus decides the metric for every measurement of the run
    started = time.time()
    if args.dataset == "synthetic":
        METRIC = "L2"
        corpus = sample_vectors(args.rows or 1_000_000, args.dim, DATA_SEED)
        queries, own = sample_vectors(args.queries, args.dim, QUERY_SEED), np.full(args.queries, -1)
        source, path = "synthetic", f"bench.dataset.sample_vectors(seed={DATA_SEED})"
    else:
        corpus = load_corpus(args.rows)
        queries, own = load_queries(args.query_source, corpus, args.queries)
        source, path = args.query_source, str(DATA / "minilm-f16.npy")
    truth = ground_truth(corpus, queries, own)
    print(f"corpus {corpus.shape}, {len(queries)} {source} queries", flush=True)
    wanted = {n for n in args.only.split(",") if n}
    sweeps = []
    built: dict[str, VectorIndex] = {}
    kept: dict[str, VectorIndex] = {}
    batch1 = args.batch1_queries
    big = len(corpus) > 200_000
    lite: list[dict[str, Any]] = []
    auto: list[dict[str, Any]] = []
    host = machine()  # load average as the run starts

    def save(complete: bool) -> None:
        """Write what is measured so far (a long run on a shared machine may be cut short)."""
        result = {
            "command": "python -m bench.indexes "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "machine": {**host, "loadavg_end": list(os.getloadavg())},
            "complete": complete,
            "batch1_method": "passes",  # bench.indexes_report.BATCH1_METHODS
            "corpus": {
                "path": path,
                "rows": len(corpus),
                "dim": corpus.shape[1],
                "metric": METRIC,
            },  # fmt: skip
            "queries": {
                "source": source,
                "count": len(queries),
                "batch1_count": min(args.batch1_queries, len(queries)),
                "k": K,
            },  # fmt: skip
            "sweeps": sweeps,
            "milvus_lite": lite,
            "autoindex": auto,
            "elapsed_s": time.time() - started,
        }
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        from bench.indexes_report import write_markdown, write_plot

        write_markdown(result, out.with_suffix(".md"))
        write_plot(result, out.with_suffix(".png"))
        print(f"wrote {out} (+ .md, .png) in {result['elapsed_s']:.0f} s", flush=True)

    for cfg in configs(len(corpus), corpus.shape[1], args.quick, big):
        if not wanted or cfg.name in wanted:
            sweeps.append(run_config(cfg, corpus, queries, truth, own, batch1, built, kept))
            save(complete=False)
    if args.milvus_lite:
        from bench.indexes_milvus_lite import lite_sweeps

        lite += lite_sweeps(corpus, queries, truth.recall, METRIC, batch1)
    targets = [float(t) for t in args.targets.split(",") if t]
    auto += run_autoindex(corpus, queries, truth, own, batch1, targets, sweeps, built, kept,
                          recorded_queries(args))  # fmt: skip
    save(complete=True)


if __name__ == "__main__":
    main()
