"""Range search: Milvus's ``radius`` / ``range_filter`` search parameters.

Semantics (Milvus's): with L2 a hit's squared distance ``d`` must satisfy
``range_filter <= d < radius``; with IP and COSINE its similarity ``s`` must
satisfy ``radius < s <= range_filter``. ``range_filter`` is optional (no inner
bound). Results are still the top-``k`` by score, taken among the rows inside
the range, best first, padded like any other search.

Validation (:func:`parse_range`): both values must be real numbers (numeric
strings are accepted, as the wire protocol carries strings; booleans, NaN and
infinities are not), ``range_filter`` needs ``radius``, and the two must be
ordered for the metric (L2: ``range_filter < radius``; IP/COSINE:
``range_filter > radius``). Errors are :class:`IndexParamError` (code 1100).

Two ways to search a range:

- **exact** (:func:`exact_range_topk`): every allowed row is scored, rows
  outside the range are dropped, then the top ``k`` are taken. Used for growing
  data, small segments, FLAT and untrained IVF segments.
- **widening** (:func:`search_widening`), for approximate indexes: search the
  top ``k' = k, 2k, 4k, ...`` (raising the index's effort with ``k'``: HNSW
  ``ef >= k'``, IVF ``nprobe`` doubled, Annoy ``search_k``) and keep the
  candidates inside the range, until a query has ``k`` of them, its candidate
  list ran out, or its worst candidate already lies beyond ``radius`` (ranked
  candidates only get worse from there). Recall trade-off: the index only sees
  what its effort reaches, so a row in range that the walk or the probed lists
  miss stays missed, exactly as in a top-k search at that effort; rows *closer*
  than ``range_filter`` cost widening rounds (they rank first but are dropped),
  so a narrow annulus far from the query is the expensive case.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from keeldb.errors import IndexParamError
from keeldb.index.hits import SearchHits, empty_hits, pad_score
from keeldb.types import MetricType

RANGE_KEYS = ("radius", "range_filter")

#: Score-matrix entries one exact block may hold (64 MiB of float32).
_BLOCK_ENTRIES = 1 << 24


@dataclass(frozen=True)
class RangeBounds:
    """The range of scores a hit may have; see the module docstring."""

    metric: MetricType
    radius: float
    range_filter: float | None = None

    def contains(self, scores: np.ndarray) -> np.ndarray:
        """True where a score lies inside the range (padding scores never do)."""
        if self.metric.higher_is_closer:
            inside = scores > self.radius
            if self.range_filter is not None:
                inside &= scores <= self.range_filter
        else:
            inside = scores < self.radius
            if self.range_filter is not None:
                inside &= scores >= self.range_filter
        return inside & np.isfinite(scores)

    def beyond(self, scores: np.ndarray) -> np.ndarray:
        """True where a score lies past the outer bound (``radius``) of the range."""
        if self.metric.higher_is_closer:
            return scores <= self.radius
        return scores >= self.radius


def parse_range(params: Mapping[str, Any] | None, metric: MetricType) -> RangeBounds | None:
    """The range bounds in ``params`` (None when it asks for no range search), validated."""
    if not params or ("radius" not in params and "range_filter" not in params):
        return None
    radius = _number(params.get("radius"), "radius")
    range_filter = _number(params.get("range_filter"), "range_filter")
    if radius is None:
        raise IndexParamError(
            f"range_filter ({range_filter}) needs a radius: range search is bounded by radius",
            hint="pass radius as well, e.g. {'radius': ..., 'range_filter': ...}",
        )
    if range_filter is not None:
        if metric.higher_is_closer and not range_filter > radius:
            raise IndexParamError(
                f"range_filter ({range_filter}) must be greater than radius ({radius}) "
                f"for metric {metric.value}",
                hint=f"{metric.value} keeps scores s with radius < s <= range_filter",
            )
        if not metric.higher_is_closer and not range_filter < radius:
            raise IndexParamError(
                f"range_filter ({range_filter}) must be less than radius ({radius}) "
                f"for metric {metric.value}",
                hint="L2 keeps distances d with range_filter <= d < radius",
            )
    return RangeBounds(metric, radius, range_filter)


def without_range(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` less the range keys (what the index's own search params are)."""
    return {k: v for k, v in params.items() if k not in RANGE_KEYS}


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    ):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise IndexParamError(
            f"invalid value for range search parameter '{name}': {value!r} is not a finite number",
            hint="radius and range_filter are numbers in the metric's units",
        )
    return number


# --- exact ------------------------------------------------------------------------


def exact_range_topk(
    base: np.ndarray, queries: np.ndarray, k: int, metric: MetricType, bounds: RangeBounds
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows of ``base`` inside ``bounds`` per query: (scores, ids into base).

    Inputs are prepared float32 (normalised for COSINE). Empty slots hold id -1
    and the padding score. Scores come from FAISS's pairwise kernels, blockwise.
    """
    nq, n = len(queries), len(base)
    scores_out = np.full((nq, k), pad_score(metric), dtype=np.float32)
    ids_out = np.full((nq, k), -1, dtype=np.int64)
    if nq == 0 or n == 0:
        return scores_out, ids_out
    fmetric = faiss.METRIC_L2 if metric is MetricType.L2 else faiss.METRIC_INNER_PRODUCT
    block = max(1, _BLOCK_ENTRIES // n)
    width = min(k, n)
    for start in range(0, nq, block):
        stop = min(nq, start + block)
        scores = faiss.pairwise_distances(queries[start:stop], base, metric=fmetric)
        scores = scores.astype(np.float32, copy=False)
        inside = bounds.contains(scores)
        key = -scores if metric.higher_is_closer else scores.copy()
        key[~inside] = np.inf
        if width < n:
            part = np.argpartition(key, width - 1, axis=1)[:, :width]
        else:
            part = np.broadcast_to(np.arange(n), key.shape).copy()
        order = np.argsort(np.take_along_axis(key, part, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1)
        ok = np.take_along_axis(inside, top, axis=1)
        scores_out[start:stop, :width] = np.where(
            ok, np.take_along_axis(scores, top, axis=1), pad_score(metric)
        )
        ids_out[start:stop, :width] = np.where(ok, top, -1)
    return scores_out, ids_out


# --- widening, for approximate indexes --------------------------------------------

#: One widening round: (query rows, k') -> hits for those rows, and whether a list
#: shorter than k' means the index has no further candidates for that query.
RoundSearch = Callable[[np.ndarray, int, int], tuple[SearchHits, bool]]


def search_widening(
    search_round: RoundSearch, nq: int, k: int, count: int, bounds: RangeBounds
) -> SearchHits:
    """Range search by widening top-k' searches (module docstring).

    ``search_round(rows, k_prime, round_no)`` searches the queries ``rows`` for
    their top ``k_prime`` candidates at the effort for that round.
    """
    metric = bounds.metric
    hits = empty_hits(nq, k, metric)
    todo = np.arange(nq)
    k_prime, round_no = k, 0
    rounds: dict[str, int] = {}
    while len(todo):
        width = min(k_prime, count)
        got, short_is_final = search_round(todo, width, round_no)
        inside = bounds.contains(got.scores) & (got.ids >= 0)
        found = inside.sum(axis=1)
        valid = (got.ids >= 0).sum(axis=1)
        last = np.take_along_axis(got.scores, np.maximum(valid - 1, 0)[:, None], axis=1)[:, 0]
        done = (found >= k) | (width >= count) | ((valid > 0) & bounds.beyond(last))
        if short_is_final or got.plan.get("exact", 0) == len(todo):  # exact: nothing left
            done |= valid < width
        _keep_inside(hits, todo[done], got.scores[done], got.ids[done], inside[done], metric)
        for route, n in got.plan.items():
            rounds[route] = rounds.get(route, 0) + n
        todo = todo[~done]
        k_prime, round_no = k_prime * 2, round_no + 1
    hits.plan = {"range_rounds": round_no, **rounds}
    return hits


def _keep_inside(
    hits: SearchHits,
    rows: np.ndarray,
    scores: np.ndarray,
    ids: np.ndarray,
    inside: np.ndarray,
    metric: MetricType,
) -> None:
    """Write the first ``k`` in-range candidates (already ranked) of each row into ``hits``."""
    if len(rows) == 0:
        return
    order = np.argsort(~inside, axis=1, kind="stable")[:, : hits.k]
    ok = np.take_along_axis(inside, order, axis=1)
    width = order.shape[1]
    hits.scores[rows, :width] = np.where(
        ok, np.take_along_axis(scores, order, axis=1), pad_score(metric)
    )
    hits.ids[rows, :width] = np.where(ok, np.take_along_axis(ids, order, axis=1), -1)
