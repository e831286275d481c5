"""Scalar reads over a snapshot: ``query``, ``get`` and ``count(*)``.

Per segment the matching rows are alive ∧ partition ∧ primary-key lookup ∧
filter. A filter that is only ``pk in [...]`` / ``pk == v`` is answered by the
segments' key indexes instead of a scan. With ``limit`` or ``offset`` the result
is ordered by primary key (so pages are stable and iterators can resume after a
key); without, rows come in storage order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from keeldb.expr import CompiledFilter
from keeldb.query.filter_results import segment_filter_mask
from keeldb.query.output import OutputSpec, materialize
from keeldb.query.pk_index import key_array
from keeldb.query.snapshot import SegmentView, Snapshot


@dataclass(frozen=True)
class QueryRequest:
    output: OutputSpec
    filter: CompiledFilter | None = None
    pk_values: Sequence[Any] | None = None
    partition_ids: frozenset[int] | None = None
    limit: int | None = None
    offset: int = 0
    #: only keys greater than this (query iterators resume after the last key)
    pk_after: Any = None


def execute_query(snapshot: Snapshot, request: QueryRequest) -> list[dict[str, Any]]:
    matches = _matching_rows(snapshot, request)
    if request.limit is not None or request.offset:
        matches = _page_by_pk(snapshot, matches, request)
    rows: list[dict[str, Any]] = []
    for position, local in matches:
        rows.extend(
            materialize(snapshot.segments[position], local, request.output, query_shapes=True)
        )
    return rows


def execute_count(snapshot: Snapshot, request: QueryRequest) -> int:
    return sum(len(local) for _, local in _matching_rows(snapshot, request))


def matching_keys(snapshot: Snapshot, request: QueryRequest) -> list[Any]:
    """Primary keys of the matching rows (used by delete-by-filter)."""
    pk = snapshot.schema.primary_field.name
    keys: list[Any] = []
    for position, local in _matching_rows(snapshot, request):
        keys.extend(snapshot.segments[position].table.column(pk).take(local).to_pylist())
    return keys


def _matching_rows(snapshot: Snapshot, request: QueryRequest) -> list[tuple[int, np.ndarray]]:
    pk_name = snapshot.schema.primary_field.name
    pk_values = request.pk_values
    row_filter = request.filter
    if pk_values is None and row_filter is not None:
        pk_values = row_filter.primary_key_values(pk_name)
        if pk_values is not None:
            row_filter = None
    keys = key_array(list(pk_values)) if pk_values is not None else None
    out: list[tuple[int, np.ndarray]] = []
    for position, seg in enumerate(snapshot.segments):
        mask = _segment_mask(seg, request, keys, row_filter, pk_name)
        if mask is None:
            continue
        local = np.nonzero(mask)[0]
        if len(local):
            out.append((position, local))
    return out


def explain_query(snapshot: Snapshot, request: QueryRequest) -> str:
    """What a query with this request does, segment by segment (and how many rows match).

    Runs the query's matching step with a trace: index lookups, scans (of all rows
    or of the candidate rows left by earlier steps) and skipped segments.
    """
    pk_name = snapshot.schema.primary_field.name
    row_filter = request.filter
    lines = [row_filter.explain() if row_filter is not None else "filter: (none)"]
    total = 0
    for seg in snapshot.segments:
        kind = "segment" if seg.cache_token else "growing segment"
        indexes = ", ".join(f"{k} {v.index_type}" for k, v in sorted(seg.scalar_indexes.items()))
        head = f"{kind} {seg.segment_id} ({seg.num_rows:,} rows, {seg.live_rows:,} live"
        head += f"; scalar indexes: {indexes})" if indexes else ")"
        trace: list[str] = []
        mask = _segment_mask(seg, request, None, row_filter, pk_name, trace)
        if mask is None:
            lines.append(f"{head}: skipped ({trace[0] if trace else 'no rows'})")
            continue
        matched = int(np.count_nonzero(mask))
        total += matched
        lines.append(head + ":")
        lines.extend("  " + step for step in trace)
        lines.append(f"  = {matched:,} rows")
    lines.append(f"total: {total:,} rows")
    return "\n".join(lines)


def _segment_mask(
    seg: SegmentView,
    request: QueryRequest,
    keys: np.ndarray | None,
    row_filter: CompiledFilter | None,
    pk_name: str,
    trace: list[str] | None = None,
) -> np.ndarray | None:
    if seg.num_rows == 0 or seg.live_rows == 0:
        return None
    if seg.skips_partitions(request.partition_ids):
        if trace is not None:
            trace.append("not in the requested partitions")
        return None
    mask = seg.alive  # new arrays below, never in place: the filter cache keys on this one
    if keys is not None:
        mask = mask & _key_mask(seg, keys, pk_name)
    part = seg.partition_mask(request.partition_ids)
    if part is not None:
        mask = mask & part
    if request.pk_after is not None:
        mask = mask & (key_array(seg.table.column(pk_name)) > request.pk_after)
    if row_filter is not None and mask.any():
        if not row_filter.may_match(seg.stats):
            if trace is not None:
                trace.append("min/max statistics rule out a match")
            return None
        mask = segment_filter_mask(row_filter, seg, mask, trace)
    return mask


def _key_mask(seg: SegmentView, keys: np.ndarray, pk_name: str) -> np.ndarray:
    found = np.zeros(seg.num_rows, dtype=bool)
    if seg.pk_index is not None:
        _, local = seg.pk_index.find(keys)
        found[local] = True
        return found
    column = key_array(seg.table.column(pk_name))
    if column.dtype.kind != keys.dtype.kind:
        return found
    return np.isin(column, keys)


def _page_by_pk(
    snapshot: Snapshot, matches: list[tuple[int, np.ndarray]], request: QueryRequest
) -> list[tuple[int, np.ndarray]]:
    if not matches:
        return matches
    pk_name = snapshot.schema.primary_field.name
    keys = np.concatenate(
        [key_array(snapshot.segments[p].table.column(pk_name).take(local)) for p, local in matches]
    )
    positions = np.concatenate([np.full(len(local), p) for p, local in matches])
    locals_ = np.concatenate([local for _, local in matches])
    order = np.argsort(keys, kind="stable")
    end = None if request.limit is None else request.offset + request.limit
    order = order[request.offset : end]
    # keep pk order across segments: emit runs of consecutive rows from one segment
    out: list[tuple[int, np.ndarray]] = []
    pos_sorted, loc_sorted = positions[order], locals_[order]
    if len(order) == 0:
        return out
    breaks = np.nonzero(np.diff(pos_sorted))[0] + 1
    for run in np.split(np.arange(len(order)), breaks):
        out.append((int(pos_sorted[run[0]]), loc_sorted[run]))
    return out
