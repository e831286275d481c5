"""Top-k vector search over a snapshot.

Per segment: alive bitmap ∧ partition mask ∧ filter mask → the segment's index
(or exact search where the segment has none) restricted to that bitmap → top k.
Then the per-segment lists are merged into one top-(offset + limit) list and the
output fields are fetched for the survivors only.

Scores follow Milvus: L2 is a squared distance (ascending), IP and COSINE are
similarities (descending). A hit carries the primary key as ``id``.

Range search (``request.range``): every segment answers its top-k among the rows
inside the range (exact search filters by the bounds before taking the top-k;
indexes widen, see :mod:`keeldb.index.range_search`), so the merge is the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from keeldb.errors import InvalidArgument
from keeldb.expr import CompiledFilter
from keeldb.index import exact_search
from keeldb.index.range_search import RangeBounds
from keeldb.query.filter_results import segment_filter_mask
from keeldb.query.output import OutputSpec, materialize
from keeldb.query.snapshot import SegmentView, Snapshot
from keeldb.types import DataType, MetricType

if TYPE_CHECKING:
    from keeldb.query.grouping import GroupBy

TOPK_LIMIT = 16_384


class Hit(dict):
    """One search hit: ``{<pk name>: pk, "distance": score, "entity": {...}}``.

    A dict, as pymilvus returns, keyed by the primary field's name; ``hit.id``,
    ``hit.distance`` / ``hit.score`` and ``hit.entity`` work too, and a key the
    hit lacks is looked up in its entity (``hit["title"]``). Hits are made by a
    subclass per primary-key name (:func:`hit_class`) so building one is a plain
    dict construction.
    """

    __slots__ = ()
    _pk_name = "id"

    def __missing__(self, key: str) -> Any:
        entity = dict.get(self, "entity") or {}
        if key in entity:
            return entity[key]
        raise KeyError(key)

    @property
    def id(self) -> Any:
        return dict.__getitem__(self, self._pk_name)

    @property
    def distance(self) -> float:
        return dict.__getitem__(self, "distance")

    @property
    def score(self) -> float:
        return dict.__getitem__(self, "distance")

    @property
    def entity(self) -> dict[str, Any]:
        return dict.__getitem__(self, "entity")


@functools.lru_cache(maxsize=256)
def hit_class(pk_name: str) -> type[Hit]:
    return type("Hit", (Hit,), {"__slots__": (), "_pk_name": pk_name})


@dataclass(frozen=True)
class SearchRequest:
    queries: np.ndarray
    field: str
    metric: MetricType
    limit: int
    output: OutputSpec
    offset: int = 0
    filter: CompiledFilter | None = None
    partition_ids: frozenset[int] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    #: range search bounds, parsed from ``params`` (which keep ``radius`` for the indexes)
    range: RangeBounds | None = None
    #: search every segment by brute force, ignoring indexes (ground truth for recall)
    exact: bool = False
    #: group the hits by a scalar field (see keeldb.query.grouping)
    group_by: GroupBy | None = None
    #: the searched field's type: FLOAT_VECTOR queries are float32 (nq, dim); the other
    #: types' forms are in keeldb.schema.vector_values (float32 for FLOAT16 / BFLOAT16 / INT8)
    vector_type: DataType = DataType.FLOAT_VECTOR
    #: the searched field's dimension (what ``queries`` must have)
    dim: int = 0

    def with_queries(self, queries: np.ndarray) -> SearchRequest:
        """This request for other query vectors: a template is derived once and
        reused per call, and copying it beats re-running the frozen constructor."""
        clone = object.__new__(SearchRequest)
        clone.__dict__.update(self.__dict__)
        clone.__dict__["queries"] = queries
        return clone


def execute_search(snapshot: Snapshot, request: SearchRequest) -> list[list[Hit]]:
    nq = len(request.queries)
    k = request.limit + request.offset
    pk_name = snapshot.schema.primary_field.name
    merged = search_candidates(snapshot, request, k)
    if merged is None:
        return [[] for _ in range(nq)]
    seg_pos, scores, ids = merged
    take = slice(request.offset, k)
    if seg_pos.ndim == 0:  # one segment answered: no per-hit segment lookups
        view = snapshot.segments[int(seg_pos)]
        return [
            _hits_from_segment(view, ids[q, take], scores[q, take], request, pk_name)
            for q in range(nq)
        ]
    return [
        hits_for(snapshot, seg_pos[q, take], ids[q, take], scores[q, take], request, pk_name)
        for q in range(nq)
    ]


#: Extra per-segment row restriction (True = may be returned), ANDed into the filter mask.
SegmentMask = Callable[[SegmentView], "np.ndarray | None"]


def search_candidates(
    snapshot: Snapshot, request: SearchRequest, k: int, extra: SegmentMask | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The merged top ``k`` of every segment: (segment position, scores, local ids).

    Each is (nq, k); the segment position is a 0-d array when one segment answered
    (every hit is from it). None when no segment has a qualifying row.
    """
    parts: list[tuple[int, np.ndarray, np.ndarray]] = []
    for position, seg in enumerate(snapshot.segments):
        found = _search_segment(seg, request, k, extra)
        if found is not None:
            parts.append((position, *found))
    if not parts:
        return None
    return _merge(parts, k, request.metric)


def _search_segment(
    seg: SegmentView, request: SearchRequest, k: int, extra: SegmentMask | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    if seg.num_rows == 0 or seg.live_rows == 0:
        return None
    mask = None if seg.live_rows == seg.num_rows else seg.alive
    partition_ids = request.partition_ids
    if partition_ids is not None:  # (tested inline: this runs per segment per search)
        if seg.skips_partitions(partition_ids):
            return None
        part = seg.partition_mask(partition_ids)
        if part is not None:
            mask = part if mask is None else mask & part
    if request.filter is not None:  # min/max pruning included
        mask = segment_filter_mask(request.filter, seg, mask, prune=True)
    if extra is not None:
        more = extra(seg)
        if more is not None:
            mask = more if mask is None else mask & more
    if mask is not None and not mask.any():
        return None
    index = None if request.exact else seg.indexes.get(request.field)
    if index is not None and index.metric == request.metric:
        if mask is None and request.range is None:  # the common case, without re-validation
            hits = index.search_unfiltered(request.queries, k, request.params)
        else:
            hits = index.search(request.queries, k, allowed=mask, params=request.params)
    else:
        hits = exact_search(
            seg.vectors[request.field], request.queries, k, request.metric, mask, request.range
        )
    return hits.scores, hits.ids


def _merge(
    parts: list[tuple[int, np.ndarray, np.ndarray]], k: int, metric: MetricType
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge per-segment top-k lists into (segment position, local id, score)."""
    if len(parts) == 1:
        position, scores, ids = parts[0]
        return np.int32(position), scores, ids  # a scalar: every hit is from one segment
    scores = np.concatenate([p[1] for p in parts], axis=1)
    ids = np.concatenate([p[2] for p in parts], axis=1)
    seg_pos = np.concatenate([np.full(p[2].shape, p[0]) for p in parts], axis=1)
    key = -scores if metric.higher_is_closer else scores
    key = np.where(ids < 0, np.inf, key)
    order = np.argsort(key, axis=1, kind="stable")[:, :k]
    return (
        np.take_along_axis(seg_pos, order, axis=1),
        np.take_along_axis(scores, order, axis=1),
        np.take_along_axis(ids, order, axis=1),
    )


def hits_for(
    snapshot: Snapshot,
    seg_pos: np.ndarray,
    ids: np.ndarray,
    scores: np.ndarray,
    request: SearchRequest,
    pk_name: str,
) -> list[Hit]:
    valid = ids >= 0
    if not valid.all():
        seg_pos, ids, scores = seg_pos[valid], ids[valid], scores[valid]
    n = len(ids)
    make = hit_class(pk_name)
    wants_fields = not request.output.is_empty
    pks: list[Any] = [None] * n
    entities: list[dict[str, Any]] = [{} for _ in range(n)]
    for position in np.unique(seg_pos):
        view = snapshot.segments[int(position)]
        where = np.nonzero(seg_pos == position)[0]
        local = ids[where]
        keys = view.keys(pk_name)[local].tolist()
        rows = materialize(view, local, request.output) if wants_fields else None
        for j, i in enumerate(where.tolist()):
            pks[i] = keys[j]
            if rows is not None:
                entities[i] = rows[j]
    return [
        make({pk_name: pk, "distance": score, "entity": entity})
        for pk, score, entity in zip(pks, scores.tolist(), entities)
    ]


def _hits_from_segment(
    view: SegmentView, ids: np.ndarray, scores: np.ndarray, request: SearchRequest, pk_name: str
) -> list[Hit]:
    """Hits when every one comes from ``view`` (one segment, or one answered)."""
    if ids[-1] < 0:  # padding sits at the end
        valid = ids >= 0
        ids, scores = ids[valid], scores[valid]
    pks = view.keys(pk_name)[ids].tolist()
    make = hit_class(pk_name)
    if request.output.is_empty:
        return [
            make({pk_name: pk, "distance": score, "entity": {}})
            for pk, score in zip(pks, scores.tolist())
        ]
    rows = materialize(view, ids, request.output)
    return [
        make({pk_name: pk, "distance": score, "entity": row})
        for pk, score, row in zip(pks, scores.tolist(), rows)
    ]


def check_limit(limit: int, offset: int) -> None:
    """Milvus's top-k window: limit in [1, 16384], limit + offset at most 16384."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= TOPK_LIMIT:
        raise InvalidArgument(
            f"topk [{limit}] is invalid, it should be in range [1, {TOPK_LIMIT}], but got {limit}"
        )
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidArgument(f"offset [{offset}] is invalid, should be gte than 0")
    if limit + offset > TOPK_LIMIT:
        raise InvalidArgument(
            f"offset+topk [{limit + offset}] is invalid, it should be in range "
            f"[1, {TOPK_LIMIT}], but got {limit + offset}",
            hint="use search_iterator / query_iterator to page further",
        )
