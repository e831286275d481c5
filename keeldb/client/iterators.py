"""``query_iterator`` and ``search_iterator``: paging through large results.

Both read one snapshot taken when the iterator is created, so a page sequence
is consistent even while writers run. The query iterator pages in primary-key
order and resumes after the last key it returned; the search iterator widens its
top-k window page by page (so it is not bound by the 16,384 top-k limit of one
search) and returns hits in score order.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from keeldb.errors import InvalidArgument
from keeldb.query.retrieve import QueryRequest, execute_query
from keeldb.query.search import Hit, SearchRequest, execute_search
from keeldb.query.snapshot import Snapshot


class QueryIterator:
    def __init__(
        self, snapshot: Snapshot, request: QueryRequest, batch_size: int, limit: int
    ) -> None:
        _check_batch(batch_size)
        self._snapshot = snapshot
        self._request = request
        self._batch = batch_size
        self._remaining = limit if limit is not None and limit >= 0 else None
        self._pk = snapshot.schema.primary_field.name
        self._last: Any = None
        self._done = False

    def next(self) -> list[dict[str, Any]]:
        if self._done:
            return []
        size = self._batch if self._remaining is None else min(self._batch, self._remaining)
        if size <= 0:
            self._done = True
            return []
        page = replace(self._request, limit=size, offset=0, pk_after=self._last)
        rows = execute_query(self._snapshot, page)
        if len(rows) < size:
            self._done = True
        if rows:
            self._last = rows[-1][self._pk]
            if self._remaining is not None:
                self._remaining -= len(rows)
        return rows

    def close(self) -> None:
        self._done = True

    def __iter__(self):
        while page := self.next():
            yield from page


class SearchIterator:
    def __init__(
        self, snapshot: Snapshot, request: SearchRequest, batch_size: int, limit: int
    ) -> None:
        _check_batch(batch_size)
        if len(request.queries) != 1:
            raise InvalidArgument("search_iterator takes exactly one query vector")
        self._snapshot = snapshot
        self._request = request
        self._batch = batch_size
        self._limit = limit if limit is not None and limit >= 0 else None
        self._returned = 0
        self._done = False

    def next(self) -> list[Hit]:
        if self._done:
            return []
        size = self._batch
        if self._limit is not None:
            size = min(size, self._limit - self._returned)
        if size <= 0:
            self._done = True
            return []
        page = replace(self._request, limit=size, offset=self._returned)
        hits = execute_search(self._snapshot, page)[0]
        self._returned += len(hits)
        if len(hits) < size:
            self._done = True
        return hits

    def close(self) -> None:
        self._done = True

    def __iter__(self):
        while page := self.next():
            yield from page


def _check_batch(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise InvalidArgument(f"batch_size must be a positive integer, got {batch_size!r}")
