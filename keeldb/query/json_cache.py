"""A bounded cache of parsed JSON columns of immutable (sealed) segments.

Filters on JSON fields and dynamic fields spend most of their time parsing
JSON text. A sealed segment's columns never change, so what a filter derives
from them can be kept:

    (segment token, column)        every row's parsed document (a Python list)
    (segment token, column, path)  the :class:`JsonValues` of one path, with the
                                   typed views (numbers, strings...) it builds

Two process-wide LRUs (:class:`SegmentCache`) hold them, each bounded by an
*estimate* of its entries' memory: :data:`PATHS` (path values, by the arrays
they hold: ~25-50 bytes a row) and :data:`DOCS` (parsed documents ≈ 6 × their
JSON text plus 64 bytes a row, measured with tracemalloc on typical documents).
Apart, because documents are an order of magnitude larger: in one LRU, a query
sweeping ten 100k-row segments evicted its own path values while caching
documents, and every query missed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from keeldb.caches import SegmentCache, registered
from keeldb.expr.jsonview import JsonValues, extract_path, parse_json_column

DEFAULT_MAX_BYTES = 256 << 20
DEFAULT_DOCS_MAX_BYTES = 128 << 20
_DOC_TEXT_FACTOR = 6
_DOC_ROW_BYTES = 64

PATHS = registered(SegmentCache(DEFAULT_MAX_BYTES))
DOCS = registered(SegmentCache(DEFAULT_DOCS_MAX_BYTES))


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
