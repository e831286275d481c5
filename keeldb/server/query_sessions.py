"""Query iterator sessions: one pinned snapshot per pymilvus ``query_iterator``.

pymilvus's ``query_iterator`` (docs/milvus-behaviour.md §8) pages with
``pk > <last> and (<filter>)`` and ``limit``. Its first Query (``limit=1``,
``guarantee_timestamp=0``) exists to fetch ``QueryResults.session_ts``; every
later page (and every offset "seek" query) carries that value back as the
request's ``guarantee_timestamp``, with an ``iterator`` key in ``query_params``.

So a Query with an ``iterator`` key is served from a pinned snapshot:

- ``guarantee_timestamp == 0``: a new session — pin a snapshot now, answer with
  a fresh hybrid timestamp as ``session_ts`` and keep the snapshot under it;
- a timestamp the server knows for this database and collection name: read the
  snapshot pinned under it;
- a timestamp it does not know (expired, or the server restarted): pin a
  snapshot now under the client's timestamp, so the remaining pages at least
  agree with each other.

Queries without an ``iterator`` key (plain ``query``) always read the current
data. Pinned snapshots live in memory: idle ones expire after ``ttl_s`` and at
most ``max_sessions`` are kept (least recently used first out); a snapshot
holds the segments it names in memory until it goes. A collection dropped and
re-created under the same name is caught by the client (collection id check).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from keeldb.client.data import PinnedSnapshot

#: (database, collection name as the client addressed it, session timestamp)
SessionKey = tuple[str, str, int]


@dataclass
class _Entry:
    pinned: PinnedSnapshot
    touched: float


class QuerySnapshots:
    def __init__(
        self,
        *,
        ttl_s: float = 600.0,
        max_sessions: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._max = max_sessions
        self._lock = threading.Lock()
        self._entries: OrderedDict[SessionKey, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def session(
        self,
        db: str,
        name: str,
        guarantee_ts: int,
        new_ts: Callable[[], int],
        pin: Callable[[], PinnedSnapshot],
    ) -> tuple[PinnedSnapshot, int]:
        """The snapshot an iterator page reads, and the session timestamp to answer with."""
        ts = guarantee_ts or new_ts()
        key = (db, name, ts)
        now = self._clock()
        with self._lock:
            self._expire(now)
            entry = self._entries.get(key)
            if entry is not None:
                entry.touched = now
                self._entries.move_to_end(key)
                return entry.pinned, ts
        pinned = pin()  # outside the lock: taking a snapshot takes the collection's lock
        with self._lock:
            entry = self._entries.setdefault(key, _Entry(pinned, now))
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
            return entry.pinned, ts

    def _expire(self, now: float) -> None:
        cutoff = now - self._ttl_s
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.touched >= cutoff:
                return
            del self._entries[key]

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
