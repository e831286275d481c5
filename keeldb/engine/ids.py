"""Auto-id allocation for ``auto_id`` primary keys.

Ids are int64, strictly increasing within a process and unique across restarts:
each block starts above both the last id handed out and ``now_ms << 18`` (the
clock in the high bits, room for 262,144 ids per millisecond below), so ids
survive a crash without persisting a counter, and the engine seeds the floor
from the largest key it recovered.
"""

from __future__ import annotations

import threading
import time

import numpy as np


class IdAllocator:
    def __init__(self, floor: int = 0) -> None:
        self._next = floor
        self._lock = threading.Lock()

    def observe(self, used: int) -> None:
        """Never hand out ``used`` or anything below it again."""
        with self._lock:
            self._next = max(self._next, used + 1)

    def allocate(self, n: int) -> np.ndarray:
        with self._lock:
            start = max(self._next, time.time_ns() // 1_000_000 << 18)
            self._next = start + n
        return np.arange(start, start + n, dtype=np.int64)
