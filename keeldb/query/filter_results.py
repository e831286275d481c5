"""Filter results of sealed segments, cached: a repeated filter is evaluated once.

Applications send the same few filters again and again (a tenant, a category, a
price band), and evaluating one over every row of every segment costs more
than the vector search it restricts: 5 ms a query over 1M rows of strings. The
rows of a sealed segment where a compiled filter is true never change, so they
are kept, per (segment token, compiled filter), in :data:`MASKS`:

- the value is a read-only bool mask over the segment's rows. Read-only is what
  lets later stages key their own caches on the array's identity (the rows an
  exact search gathers, ``index/exact.py``);
- a segment the min/max statistics rule out (``prune``) caches an empty mask,
  so a search stops asking them (~13 µs a segment);
- it also memoises ``mask ∧ alive`` for the segment's current ``alive`` bitmap:
  deletes replace that array, never mutate it, so its identity is its version;
- the key holds the compiled filter's ``id``; the entry keeps a weak reference
  and answers only that very object. Compiled filters are cached per schema
  (``client/filter_cache.py``), so a repeated expression is the same object,
  and one compiled for a changed schema is another key.

A search restricted to a few candidate rows (a partition, primary keys) that
misses the cache evaluates the filter on those rows only, as before, and keeps
nothing: evaluating the whole segment to fill the cache could cost it far more.
The growing segment is never cached; nor is a run with a ``trace`` (``explain``
shows how a filter is evaluated, not that it was remembered).
"""

from __future__ import annotations

import weakref

import numpy as np

from keeldb.caches import SegmentCache, registered
from keeldb.expr import CompiledFilter
from keeldb.query.filter_plan import filter_rows
from keeldb.query.snapshot import SegmentView

DEFAULT_MAX_BYTES = 128 << 20

MASKS = registered(SegmentCache(DEFAULT_MAX_BYTES))


class _Entry:
    __slots__ = ("compiled", "mask", "memo")

    def __init__(self, compiled: CompiledFilter, mask: np.ndarray) -> None:
        self.compiled = weakref.ref(compiled)
        self.mask = mask
        #: (alive bitmap, mask ∧ alive), replaced as one tuple so threads never mix them
        self.memo: tuple[np.ndarray, np.ndarray] | None = None


def segment_filter_mask(
    compiled: CompiledFilter,
    seg: SegmentView,
    candidates: np.ndarray | None = None,
    trace: list[str] | None = None,
    prune: bool = False,
) -> np.ndarray:
    """``filter_rows(compiled, seg, candidates)``, answered from the cache when it can be.

    ``prune``: first ask the segment's min/max statistics (``may_match``), and
    answer no rows when they rule a match out; a cached answer skips asking.
    The result may be read-only and shared: callers combine it into new arrays
    and never write to it.
    """
    if not seg.cache_token or trace is not None:
        if prune and not compiled.may_match(seg.stats):
            return np.zeros(seg.num_rows, dtype=bool)
        return filter_rows(compiled, seg, candidates, trace)
    key = (seg.cache_token, id(compiled))
    entry: _Entry | None = MASKS.get(key)
    if entry is None or entry.compiled() is not compiled:
        if prune and not compiled.may_match(seg.stats):
            mask = np.zeros(seg.num_rows, dtype=bool)
        elif candidates is not None and candidates is not seg.alive:
            return filter_rows(compiled, seg, candidates)
        else:  # ours alone: freeze it
            mask = np.array(filter_rows(compiled, seg, None), dtype=bool)
        mask.flags.writeable = False
        entry = _Entry(compiled, mask)
        MASKS.put(key, entry, 2 * mask.nbytes)  # room for the memo
    if candidates is None:
        return entry.mask
    if candidates is seg.alive:
        memo = entry.memo
        if memo is None or memo[0] is not candidates:
            combined = entry.mask & candidates
            combined.flags.writeable = False
            memo = entry.memo = (candidates, combined)
        return memo[1]
    return entry.mask & candidates
