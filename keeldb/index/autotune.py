"""Tuning an index to a recall target: the fastest configuration that meets it.

Input: one segment's vectors (the engine passes its largest sealed segment),
the metric, the spec's index type and params (with the ``recall`` target), and
optionally the index already built for the spec (reused, not rebuilt).

1. **Queries and truth.** The caller's query vectors when it has them (the
   engine passes the collection's recorded recent queries,
   :mod:`keeldb.engine.query_sample`), else
   :func:`~keeldb.index.recall.sample_queries` draws ``queries`` held-in
   queries (seeded); exact search over all the vectors gives the true top
   ``k``. Recall is tie-aware (:func:`~keeldb.index.recall.recall_by_score`,
   on true float64 scores, so quantised indexes are judged by what they
   return, not what they estimate).
2. **Candidates** (build configurations). A spec of a fixed type (HNSW,
   IVF_FLAT, ...) keeps the user's build; only its search parameters are tuned.
   AUTOINDEX tries HNSW with Milvus's autoIndex params (M=18,
   efConstruction=240), IVF_FLAT with ``nlist = 4·√n``, and FLAT up to
   :data:`FLAT_MAX_ROWS` rows; up to :data:`SWEEP_MAX_ROWS` rows it also sweeps
   the graph degree (:data:`HNSW_SWEEP`: sparser graphs are faster at modest
   targets, denser ones at high targets) and tries HNSW_SQ re-ranked with the
   raw vectors and SCANN (:data:`QUANTIZED_CANDIDATES`). When none meets the
   target it goes on to denser graphs (:data:`HNSW_ESCALATION`) until one does.
   Only core (FAISS) backends are candidates: a data directory tuned here must
   open where the optional ones (hnswlib, annoy) are not installed.
3. **Sweep.** Each candidate's search parameter climbs a fine ladder (HNSW
   ``ef`` in steps of about 1.2x, IVF/SCANN ``nprobe``, Annoy ``search_k``)
   until the lower end of the recall's 95% interval reaches the target, i.e.
   the target is met with confidence, not just on average; recall grows with
   the effort, so the first such rung is that build's cheapest. 500 queries by
   default keep that interval about ±0.01 wide, so the margin above the target
   is small.
4. **Pick.** Each candidate's latency at batch 1 is timed at its rung (median
   of three timed passes); the fastest candidate meeting the target wins. If
   none meets it, the one with the highest recall wins and its measured recall
   says how far off it is.

Costs: building the extra candidates (three HNSW graphs, HNSW_SQ, IVF_FLAT
and SCANN k-means, a FLAT copy; on 63,666 × 384 about a minute on 2 cores) and
about ``queries × rungs`` searches. Timing runs on the machine that tunes, so
the choice between types reflects that machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keeldb.index.base import VectorIndex, as_matrix
from keeldb.index.exact import exact_search
from keeldb.index.recall import recall_by_score, recall_interval, sample_queries, true_scores
from keeldb.index.registry import AUTOINDEX_PARAMS, create_index, normalize_index_params
from keeldb.index.tuning_params import is_autoindex, parse_target, resolve_build
from keeldb.types import MetricType

FLAT_MAX_ROWS = 50_000
#: Up to this many rows AUTOINDEX sweeps build parameters too (each build costs seconds).
SWEEP_MAX_ROWS = 200_000
HNSW_SWEEP: tuple[dict[str, int], ...] = (
    {"M": 12, "efConstruction": 160},
    {"M": 32, "efConstruction": 400},
)
HNSW_ESCALATION: tuple[dict[str, int], ...] = (
    {"M": 32, "efConstruction": 400},
    {"M": 48, "efConstruction": 600},
)
QUANTIZED_CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("HNSW_SQ", {"M": 18, "efConstruction": 240, "sq_type": "SQ8", "refine": True}),
)
#: Candidates re-ranked with raw vectors re-score this many times k.
RERANK_FACTOR = 4
EF_LADDER = (
    12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    448, 512, 640, 768, 1024, 1536, 2048, 4096,
)  # fmt: skip
NPROBE_LADDER = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160,
                 192, 256, 320, 384, 512, 1024)  # fmt: skip
SEARCH_K_FACTORS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
TIMED_QUERIES = 100


@dataclass
class Measurement:
    """One configuration and what it scored on the tuning queries."""

    index_type: str
    build: dict[str, Any]
    search: dict[str, Any]
    recall: float
    ci: tuple[float, float]
    latency_ms: float = math.nan

    def meets(self, target: float) -> bool:
        return self.ci[0] >= target

    def config(self) -> dict[str, Any]:
        return {"index_type": self.index_type, "build": self.build, "search": self.search}


@dataclass
class TuningResult:
    chosen: Measurement
    target: float
    rows: int
    queries: int
    k: int
    tried: list[Measurement] = field(default_factory=list)
    #: which queries recall was measured on: "sampled", "recorded" or "given"
    query_source: str = "sampled"

    @property
    def met(self) -> bool:
        return self.chosen.meets(self.target)

    def params(self) -> dict[str, Any]:
        """The tuning-result keys stored in the index spec's params."""
        return {
            "tuned_params": self.chosen.config(),
            "measured_recall": round(self.chosen.recall, 4),
            "recall_ci": [round(self.chosen.ci[0], 4), round(self.chosen.ci[1], 4)],
            "tuned_rows": self.rows,
            "tuned_queries": self.queries,
            "tuned_on": self.query_source,
            "tuned_k": self.k,
            "tuned_latency_ms": round(self.chosen.latency_ms, 4),
        }


def tune(
    vectors: np.ndarray,
    metric: MetricType | str,
    index_type: str,
    params: Mapping[str, Any],
    target: float,
    *,
    current: VectorIndex | None = None,
    k: int = 10,
    queries: int = 500,
    seed: int = 0,
    built: dict[str, VectorIndex] | None = None,
    query_vectors: np.ndarray | None = None,
    query_source: str = "given",
) -> TuningResult:
    """Tune to ``target`` recall@``k`` on ``vectors`` (module docstring).

    ``built`` (optional) keeps the candidate indexes built here, keyed by
    configuration, so several tunings of the same vectors (other targets) reuse them.
    ``query_vectors`` (optional) replaces the held-in queries: real queries, when
    the caller has them, make the measured recall the users' recall;
    ``query_source`` says where they came from (``given``, ``recorded``).
    """
    target = parse_target(target)
    metric = MetricType(str(getattr(metric, "value", metric)).upper())
    if query_vectors is not None:
        sample = as_matrix(query_vectors, vectors.shape[1], "tuning query vectors")
    else:
        sample, query_source = sample_queries(vectors, queries, seed=seed), "sampled"
    truth = _found_scores(vectors, sample, exact_search(vectors, sample, k, metric).ids, metric)
    probe = _Probe(vectors, metric, sample, truth, k, target, seed, {} if built is None else built)
    if not is_autoindex(index_type):
        built_type, build = resolve_build(index_type, params)
        tried = [probe.try_build(built_type, build, current)]
    else:
        tried = _tune_autoindex(probe, current)
    best = _pick(tried, target)
    return TuningResult(best, target, len(vectors), len(sample), k, tried, query_source)


def autoindex_candidates(n: int) -> list[tuple[str, dict[str, Any]]]:
    """The build configurations AUTOINDEX measures on ``n`` rows (module docstring)."""
    nlist = min(65_536, max(1, round(4 * math.sqrt(n))))
    candidates: list[tuple[str, dict[str, Any]]] = [("HNSW", dict(AUTOINDEX_PARAMS))]
    if n <= SWEEP_MAX_ROWS:
        candidates += [("HNSW", dict(build)) for build in HNSW_SWEEP]
        candidates += [(kind, dict(build)) for kind, build in QUANTIZED_CANDIDATES]
        candidates.append(("SCANN", {"nlist": nlist, "with_raw_data": True}))
    candidates.append(("IVF_FLAT", {"nlist": nlist}))
    if n <= FLAT_MAX_ROWS:
        candidates.append(("FLAT", {}))
    return candidates


def _tune_autoindex(probe: _Probe, current: VectorIndex | None) -> list[Measurement]:
    candidates = autoindex_candidates(len(probe.vectors))
    tried = [probe.try_build(kind, build, current) for kind, build in candidates]
    for build in HNSW_ESCALATION:
        if any(m.meets(probe.target) for m in tried):
            break
        if ("HNSW", build) not in candidates:
            tried.append(probe.try_build("HNSW", dict(build), current))
    return tried


def _pick(tried: list[Measurement], target: float) -> Measurement:
    meeting = [m for m in tried if m.meets(target)]
    if meeting:
        return min(meeting, key=lambda m: m.latency_ms)
    return max(tried, key=lambda m: (m.recall, -m.latency_ms))


@dataclass
class _Probe:
    """The fixed inputs of one tuning run, and how a build configuration is measured."""

    vectors: np.ndarray
    metric: MetricType
    queries: np.ndarray
    truth: np.ndarray
    k: int
    target: float
    seed: int
    built: dict[str, VectorIndex]

    def try_build(
        self, index_type: str, build: dict[str, Any], current: VectorIndex | None
    ) -> Measurement:
        dim = self.vectors.shape[1]
        resolved, normalized = normalize_index_params(index_type, dim, build)
        key = built_key(resolved, normalized)
        if current is not None and current.index_type == resolved and current.params == normalized:
            self.built.setdefault(key, current)
        index = self.built.get(key)
        if index is None:
            index = create_index(resolved, self.metric, dim, normalized)
            index.build(self.vectors)
            self.built[key] = index
        found = self.sweep(index, resolved, normalized)
        found.latency_ms = self.latency_ms(index, found.search)
        return found

    def sweep(self, index: VectorIndex, resolved: str, build: dict[str, Any]) -> Measurement:
        last = None
        for search in search_ladder(index, self.k):
            got = index.search(self.queries, self.k, params=search).ids
            found = _found_scores(self.vectors, self.queries, got, self.metric)
            per_query = recall_by_score(found, self.truth, self.metric)
            ci = recall_interval(per_query, self.k, seed=self.seed)
            last = Measurement(resolved, build, search, float(per_query.mean()), ci)
            if last.meets(self.target):
                break
        assert last is not None
        return last

    def latency_ms(self, index: VectorIndex, search: dict[str, Any]) -> float:
        timed = self.queries[:TIMED_QUERIES]
        passes = []
        for _ in range(3):  # the median pass shrugs off one burst of other work
            start = time.perf_counter()
            for row in range(len(timed)):
                index.search(timed[row : row + 1], self.k, params=search)
            passes.append(time.perf_counter() - start)
        return 1000.0 * float(np.median(passes)) / max(1, len(timed))


def _found_scores(
    vectors: np.ndarray, queries: np.ndarray, ids: np.ndarray, metric: MetricType
) -> np.ndarray:
    """True scores (float64) of the rows ``ids`` names per query; NaN in empty slots."""
    rows = np.where((ids >= 0)[..., None], vectors[np.maximum(ids, 0)], np.nan)
    return true_scores(queries, rows, metric)


def built_key(index_type: str, build: Mapping[str, Any]) -> str:
    """The key of a built candidate in ``tune(built=...)``: type and normalised build."""
    return f"{index_type}:{sorted(build.items())}"


def search_ladder(index: VectorIndex, k: int) -> list[dict[str, Any]]:
    """The search settings to try on ``index``, cheapest first."""
    kind = index.index_type
    # quantised candidates re-scored with raw vectors: a few times k, cheap flat scoring
    rerank: dict[str, Any] = {}
    if kind in ("HNSW_SQ", "HNSW_PQ") and index.params.get("refine"):
        rerank = {"refine_k": float(RERANK_FACTOR)}
    if kind == "SCANN" and index.params.get("with_raw_data", True):
        rerank = {"reorder_k": RERANK_FACTOR * k}
    if kind.startswith("HNSW"):
        top = max(k, min(index.count, EF_LADDER[-1]))
        efs = sorted({k, *(e for e in EF_LADDER if k < e < top), top})
        return [{"ef": e, **rerank} for e in efs]
    if kind.startswith("IVF") or kind == "SCANN":
        nlist = int(getattr(index, "nlist", 0))
        if nlist <= 0:
            return [{}]  # untrained (too few rows): searched exactly
        probes = sorted({*(p for p in NPROBE_LADDER if p < nlist), nlist})
        return [{"nprobe": p, **rerank} for p in probes]
    if kind == "ANNOY":
        trees = int(index.params["n_trees"])
        return [{"search_k": k * trees * f} for f in SEARCH_K_FACTORS]
    return [{}]
