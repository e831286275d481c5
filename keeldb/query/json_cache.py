"""A bounded cache of parsed JSON columns of immutable (sealed) segments.

Filters on JSON fields and dynamic fields spend most of their time parsing
JSON text. A sealed segment's columns never change, so what a filter derives
from them can be kept:

    (segment token, column)        every row's parsed document (a Python list)
    (segment token, column, path)  the :class:`JsonValues` of one path, with the
                                   typed views (numbers, strings...) it builds

Two process-wide LRUs hold them, each bounded by an *estimate* of its entries'
memory: :data:`PATHS` (path values, by the arrays they hold: ~25-50 bytes a row)
and :data:`DOCS` (parsed documents ≈ 6 × their JSON text plus 64 bytes a row,
measured with tracemalloc on typical documents). Apart, because documents are
an order of magnitude larger: in one LRU, a query sweeping ten 100k-row
segments evicted its own path values while caching documents, and every query
missed. An entry larger than a quarter of its budget is not kept.

Tokens come from :func:`new_token`, one per sealed segment object and never
reused, so an entry can never describe other data; entries of a segment that
was compacted away age out (or are dropped by :func:`forget_segment` when the
segment object is collected). The growing segment is never cached.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np
import pyarrow as pa

from keeldb.expr.jsonview import JsonValues, extract_path, parse_json_column

DEFAULT_MAX_BYTES = 256 << 20
DEFAULT_DOCS_MAX_BYTES = 128 << 20
_DOC_TEXT_FACTOR = 6
_DOC_ROW_BYTES = 64
_tokens = itertools.count(1)


def new_token() -> int:
    return next(_tokens)


class JsonCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
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
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, nbytes)
            self._bytes += nbytes
            while self._bytes > self.max_bytes and self._entries:
                _, (_, size) = self._entries.popitem(last=False)
                self._bytes -= size

    def forget(self, token: int) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == token]:  # type: ignore[index]
                self._bytes -= self._entries.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def resize(self, max_bytes: int) -> None:
        with self._lock:
            self.max_bytes = max_bytes
            while self._bytes > max_bytes and self._entries:
                _, (_, size) = self._entries.popitem(last=False)
                self._bytes -= size

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


PATHS = JsonCache(DEFAULT_MAX_BYTES)
DOCS = JsonCache(DEFAULT_DOCS_MAX_BYTES)


def forget_segment(token: int) -> None:
    PATHS.forget(token)
    DOCS.forget(token)


class SegmentJson:
    """The JSON-path source the evaluator asks, for one sealed segment.

    ``rows`` given: the evaluator works on those rows only (a table taken from
    the segment); cached values are sliced, nothing new is cached.
    """

    def __init__(self, token: int, table: pa.Table, rows: np.ndarray | None = None) -> None:
        self.token = token
        self.table = table
        self.rows = rows

    def __call__(self, column: str, path: tuple) -> JsonValues | None:
        key = (self.token, column, path)
        values = PATHS.get(key)
        if self.rows is not None:
            if values is not None:
                return values.take(self.rows)
            docs = DOCS.get((self.token, column))
            if docs is None:
                return None
            return JsonValues(extract_path([docs[i] for i in self.rows.tolist()], path))
        if values is not None:
            return values
        docs = self._docs(column)
        values = JsonValues(extract_path(docs, path))
        # views are built lazily; reserve room for the usual numeric + string ones
        PATHS.put(key, values, values.memory_bytes() + 24 * len(values))
        return values

    def _docs(self, column: str) -> list[Any]:
        key = (self.token, column)
        docs = DOCS.get(key)
        if docs is None:
            arr = self.table.column(column)
            docs = parse_json_column(arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0))
            DOCS.put(key, docs, _DOC_TEXT_FACTOR * arr.nbytes + _DOC_ROW_BYTES * len(docs))
        return docs
