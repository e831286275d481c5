"""Hybrid timestamps as Milvus hands them out: physical milliseconds << 18 | logical.

``AllocTimestamp``, ``session_ts`` and mutation timestamps use them. keeldb reads
are always strongly consistent, so the timestamps only have to be unique and
increasing, which :class:`HybridClock` guarantees within one server process.
"""

from __future__ import annotations

import threading
import time

LOGICAL_BITS = 18


class HybridClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def now(self) -> int:
        """A timestamp larger than every one returned before."""
        with self._lock:
            ts = max(int(time.time() * 1000) << LOGICAL_BITS, self._last + 1)
            self._last = ts
            return ts
