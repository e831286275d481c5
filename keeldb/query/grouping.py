"""Grouping search: Milvus's ``group_by_field`` / ``group_size`` / ``strict_group_size``.

The hits of each query are grouped by the value of one scalar field. A query
answers at most ``limit`` groups (after skipping ``offset`` groups), ranked by
their best hit, and at most ``group_size`` hits per group, best first; the hits
come back flattened, group after group. Each hit's entity carries the group
field's value (as pymilvus shows it for grouping searches). A null value is a
group of its own.

How (per batch of queries):

1. **Find the groups.** Take the merged top ``K`` candidates over all segments
   (``K = max(16, (offset + limit) * group_size)``), walk them best first and
   open a group for each new value. Queries with fewer than ``offset + limit``
   groups search again with ``K`` four times larger, until they have enough,
   their candidates ran out, or ``K`` reached :data:`MAX_CANDIDATES` (then a
   rare value past that many rows is not seen; the same bound applies to an
   approximate index's own candidate list).
2. **Fill the groups.** A group holds the candidates of its value seen in
   step 1, in rank order (a prefix of the group's own ranking). With
   ``strict_group_size=False`` (Milvus's default, which favours the number of
   groups over their size) that is the answer. With ``strict_group_size=True``
   every group still short of ``group_size`` is searched again restricted to
   its own rows (value == group value, through the usual filter bitmap and the
   index's filtered-search cost model), so it is filled whenever the data has
   enough rows.

Grouping refuses range search and iterators, as Milvus does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from keeldb.query.search import (
    Hit,
    SearchRequest,
    SegmentMask,
    hits_for,
    search_candidates,
)
from keeldb.query.snapshot import SegmentView, Snapshot

#: The most candidates one grouping search ranks per query while finding groups.
MAX_CANDIDATES = 65_536


@dataclass(frozen=True)
class GroupBy:
    """A grouping request: the field, hits per group, and whether groups must be full."""

    field: str
    size: int = 1
    strict: bool = False


@dataclass
class _Group:
    value: Any
    seg_pos: list[int]
    ids: list[int]
    scores: list[float]


def execute_grouped_search(snapshot: Snapshot, request: SearchRequest) -> list[list[Hit]]:
    """Grouped hits per query (module docstring)."""
    group = request.group_by
    assert group is not None
    wanted = request.offset + request.limit
    nq = len(request.queries)
    groups: list[list[_Group]] = [[] for _ in range(nq)]
    todo = np.arange(nq)
    k = max(16, wanted * group.size)
    while len(todo):
        sub = replace(request, queries=request.queries[todo])
        merged = search_candidates(snapshot, sub, min(k, MAX_CANDIDATES))
        if merged is None:
            break
        seg_pos, scores, ids = _expand(*merged)
        done = np.zeros(len(todo), dtype=bool)
        for j, q in enumerate(todo.tolist()):
            found = _group_candidates(snapshot, group, seg_pos[j], ids[j], scores[j])
            short = int((ids[j] >= 0).sum()) < ids.shape[1]
            if len(found) >= wanted or short or k >= MAX_CANDIDATES:
                groups[q] = found[request.offset : wanted]
                done[j] = True
        todo = todo[~done]
        k *= 4
    if group.strict:
        for q in range(nq):
            _fill(snapshot, request, q, groups[q])
    return [_hits(snapshot, request, found) for found in groups]


def _expand(
    seg_pos: np.ndarray, scores: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if seg_pos.ndim == 0:
        seg_pos = np.full(ids.shape, int(seg_pos), dtype=np.int64)
    return seg_pos, scores, ids


def _group_candidates(
    snapshot: Snapshot,
    group: GroupBy,
    seg_pos: np.ndarray,
    ids: np.ndarray,
    scores: np.ndarray,
) -> list[_Group]:
    """Walk ranked candidates best first into groups of at most ``group.size`` hits."""
    valid = ids >= 0
    seg_pos, ids, scores = seg_pos[valid], ids[valid], scores[valid]
    values = _field_values(snapshot, group.field, seg_pos, ids)
    by_value: dict[Any, _Group] = {}
    for value, pos, local, score in zip(values, seg_pos.tolist(), ids.tolist(), scores.tolist()):
        found = by_value.get(value)
        if found is None:
            found = by_value[value] = _Group(value, [], [], [])
        if len(found.ids) < group.size:
            found.seg_pos.append(pos)
            found.ids.append(local)
            found.scores.append(score)
    return list(by_value.values())  # dicts keep insertion order: best hit first


def _field_values(
    snapshot: Snapshot, field: str, seg_pos: np.ndarray, ids: np.ndarray
) -> list[Any]:
    values: list[Any] = [None] * len(ids)
    for position in np.unique(seg_pos).tolist():
        where = np.flatnonzero(seg_pos == position)
        column = snapshot.segments[position].table.column(field)
        taken = column.take(pa.array(ids[where])).to_pylist()
        for i, value in zip(where.tolist(), taken):
            values[i] = value
    return values


def _fill(snapshot: Snapshot, request: SearchRequest, q: int, groups: list[_Group]) -> None:
    """Strict group size: search each short group again, restricted to its own rows."""
    group = request.group_by
    assert group is not None
    single = replace(request, queries=request.queries[q : q + 1])
    for found in groups:
        if len(found.ids) >= group.size:
            continue
        merged = search_candidates(
            snapshot, single, group.size, _value_mask(group.field, found.value)
        )
        if merged is None:
            continue
        seg_pos, scores, ids = _expand(*merged)
        valid = ids[0] >= 0
        if valid.sum() > len(found.ids):
            found.seg_pos = seg_pos[0][valid].tolist()
            found.ids = ids[0][valid].tolist()
            found.scores = scores[0][valid].tolist()


def _value_mask(field: str, value: Any) -> SegmentMask:
    def mask(seg: SegmentView) -> np.ndarray:
        column = seg.table.column(field)
        hit = pc.is_null(column) if value is None else pc.equal(column, value)
        return hit.fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)

    return mask


def _hits(snapshot: Snapshot, request: SearchRequest, groups: list[_Group]) -> list[Hit]:
    group = request.group_by
    assert group is not None
    if not groups:
        return []
    seg_pos = np.asarray([p for g in groups for p in g.seg_pos], dtype=np.int64)
    ids = np.asarray([i for g in groups for i in g.ids], dtype=np.int64)
    scores = np.asarray([s for g in groups for s in g.scores], dtype=np.float32)
    pk_name = snapshot.schema.primary_field.name
    hits = hits_for(snapshot, seg_pos, ids, scores, request, pk_name)
    values = [g.value for g in groups for _ in g.ids]
    for hit, value in zip(hits, values):
        entity = hit.entity
        if group.field not in entity:
            entity[group.field] = value
    return hits
