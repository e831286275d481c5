"""Byte-bounded, process-wide LRUs of what reads derive from immutable data.

A sealed segment's columns and vectors never change (deletes replace its
``alive`` bitmap, never mutate one), so what a read derives from them can be
kept: parsed JSON (``query/json_cache.py``), filter results
(``query/filter_results.py``) and the rows an exact search gathers
(``index/exact.py``). Each cache is bounded by an *estimate* of its
entries' memory; an entry larger than a quarter of its budget is not kept.

Keys start with the segment's token from :func:`new_token`: one per sealed
segment object and never reused, so an entry can never describe other data.
Entries of a segment that was compacted away age out, or are dropped by
:func:`forget_segment` when the segment object is collected. The growing
segment (token 0) is never cached.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

_tokens = itertools.count(1)
_registered: list[SegmentCache] = []


def new_token() -> int:
    return next(_tokens)


class SegmentCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        # reentrant: a weak-reference callback that discards an entry may run while
        # this thread is inside the cache (a value freed by an eviction)
        self._lock = threading.RLock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: Any, nbytes: int) -> None:
        if nbytes > self.max_bytes // 4:
            return
        with self._lock:
            self.discard(key)
            self._entries[key] = (value, nbytes)
            self._bytes += nbytes
            self._evict(self.max_bytes)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]

    def forget(self, token: int) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == token]:  # type: ignore[index]
                self.discard(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def resize(self, max_bytes: int) -> None:
        with self._lock:
            self.max_bytes = max_bytes
            self._evict(max_bytes)

    def _evict(self, max_bytes: int) -> None:
        while self._bytes > max_bytes and self._entries:
            _, (_, size) = self._entries.popitem(last=False)
            self._bytes -= size

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


def registered(cache: SegmentCache) -> SegmentCache:
    """Have :func:`forget_segment` drop ``cache``'s entries of collected segments."""
    _registered.append(cache)
    return cache


def forget_segment(token: int) -> None:
    for cache in _registered:
        cache.forget(token)
