"""A sample of the query vectors a collection is searched with, to tune its index on.

Recall depends on the queries: AUTOINDEX tuned on queries sampled from the data
(stored rows plus noise) may meet its target with a wide margin on the users'
real queries, and so run slower than it needs to, or miss the target on queries
unlike the data. So each collection keeps, per dense vector field, the most
recent :data:`CAPACITY` query vectors of every :data:`EVERY`-th search. Once
:data:`MIN_FOR_TUNING` are held, tuning (automatic and ``tune_index``) measures
recall on them instead of sampled ones, and an index tuned on sampled queries
is tuned again (``keeldb.engine.index_tuning``).

The sample lives in memory only: it refills after a restart. Recording costs one
counter increment per search, and a row copy on every :data:`EVERY`-th.
"""

from __future__ import annotations

import threading

import numpy as np

#: query vectors kept per field (the most recent ones)
CAPACITY = 1024
#: one search in this many is recorded
EVERY = 8
#: recorded queries needed before tuning uses them
MIN_FOR_TUNING = 200


class QuerySample:
    """A ring of the most recent recorded query vectors of one field."""

    def __init__(self, dim: int, capacity: int = CAPACITY, every: int = EVERY) -> None:
        self._rows = np.empty((capacity, dim), dtype=np.float32)
        self._every = every
        self._searches = 0
        self._next = 0  # total rows recorded; the ring position is this modulo capacity
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        """Query vectors held (at most the capacity)."""
        return min(self._next, len(self._rows))

    def offer(self, queries: np.ndarray) -> bool:
        """Count one search of ``queries`` ((nq, dim) float32), recording every
        ``every``-th; True exactly when this call brings the sample to
        :data:`MIN_FOR_TUNING` queries."""
        self._searches += 1  # a lost increment under threads only shifts which is recorded
        if self._searches % self._every:
            return False
        capacity = len(self._rows)
        with self._lock:
            before = self._next
            if len(queries) == 1:  # batch 1, the common case: one row copy
                self._rows[before % capacity] = queries[0]
                self._next = before + 1
            else:
                taken = queries[-capacity:]
                self._rows[(before + np.arange(len(taken))) % capacity] = taken
                self._next = before + len(taken)
        return before < MIN_FOR_TUNING <= self._next

    def vectors(self) -> np.ndarray:
        """A copy of the recorded query vectors, oldest first."""
        with self._lock:
            capacity = len(self._rows)
            if self._next <= capacity:
                return self._rows[: self._next].copy()
            start = self._next % capacity
            return np.concatenate([self._rows[start:], self._rows[:start]])
