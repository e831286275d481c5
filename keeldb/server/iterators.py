"""Search iterator sessions for pymilvus's search_iterator (protocol "V2").

pymilvus first probes with ``search_iter_v2=True`` and no token; an answer
without a token would make it fall back to the V1 protocol, which pages with
range searches that keeldb does not serve. So every V2 search without a token
opens a session — the embedded client's ``search_iterator`` over one snapshot —
and answers with its token and the score of its last hit (``last_bound``).
Later calls carry the token and continue that session, so a page sequence sees
one consistent snapshot and never repeats or skips a hit.

Sessions live in memory: idle ones expire after ``ttl_s`` and at most
``max_sessions`` are kept (least recently used first out). A token the server
no longer knows (expired, or the server restarted) is resumed from the client's
``last_bound``: a fresh iterator skips hits until it is strictly past the bound.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keeldb.types import MetricType


@dataclass
class _Session:
    iterator: ResumableIterator
    touched: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class SearchIteratorSessions:
    def __init__(self, *, ttl_s: float = 600.0, max_sessions: int = 256) -> None:
        self._ttl_s = ttl_s
        self._max = max_sessions
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, _Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def next_page(
        self,
        token: str,
        last_bound: float | None,
        open_iterator: Callable[[], ResumableIterator],
        metric: Callable[[], MetricType],
    ) -> tuple[list[Any], str, float]:
        """The next page of hits, the session's token, and the new last bound."""
        session = self._get(token) if token else None
        if session is None:
            session = _Session(open_iterator(), time.monotonic())
            if token and last_bound is not None:
                session.iterator.skip_through(last_bound, metric())
            token = token or uuid.uuid4().hex
            self._put(token, session)
        with session.lock:
            hits = session.iterator.next()
            session.touched = time.monotonic()
        bound = hits[-1].distance if hits else (last_bound if last_bound is not None else 0.0)
        return hits, token, float(bound)

    def _get(self, token: str) -> _Session | None:
        with self._lock:
            self._expire()
            session = self._sessions.get(token)
            if session is not None:
                self._sessions.move_to_end(token)
            return session

    def _put(self, token: str, session: _Session) -> None:
        with self._lock:
            self._sessions[token] = session
            self._expire()
            while len(self._sessions) > self._max:
                _, old = self._sessions.popitem(last=False)
                old.iterator.close()

    def _expire(self) -> None:
        cutoff = time.monotonic() - self._ttl_s
        for token in [t for t, s in self._sessions.items() if s.touched < cutoff]:
            self._sessions.pop(token).iterator.close()

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.iterator.close()
            self._sessions.clear()


class ResumableIterator:
    """An embedded search iterator with a buffer, so it can resume after a score."""

    def __init__(self, inner: Any, batch_size: int) -> None:
        self._inner = inner
        self._batch = batch_size
        self._buffer: list[Any] = []
        self._exhausted = False

    def next(self) -> list[Any]:
        while len(self._buffer) < self._batch and not self._exhausted:
            page = self._inner.next()
            self._exhausted = not page
            self._buffer.extend(page)
        page, self._buffer = self._buffer[: self._batch], self._buffer[self._batch :]
        return page

    def skip_through(self, bound: float, metric: MetricType) -> None:
        """Drop every hit that scores at or before ``bound`` (continue strictly past it)."""

        def beyond(score: float) -> bool:
            return score < bound if metric.higher_is_closer else score > bound

        while not self._exhausted:
            page = self._inner.next()
            self._exhausted = not page
            rest = [hit for hit in page if beyond(hit.distance)]
            if rest:
                self._buffer = rest
                return

    def close(self) -> None:
        self._inner.close()
