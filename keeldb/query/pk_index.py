"""Primary-key lookup inside one immutable segment.

A sealed segment's keys are sorted once (``np.argsort``) so a batch of keys is
found with two ``searchsorted`` calls, no per-row Python. A key may occur more
than once in a segment (deleted, then inserted again before the flush); the
caller keeps only rows whose ``alive`` bit is set, and the engine guarantees at
most one live row per key across the whole collection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa


def key_array(values: Sequence[Any] | pa.Array | np.ndarray) -> np.ndarray:
    """Keys as a numpy array that sorts and compares like the key type."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if pa.types.is_integer(values.type):
            return values.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        return np.asarray(values.to_pylist(), dtype=str)
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    return arr.astype(str)


class PkIndex:
    __slots__ = ("keys", "sorted_keys", "order")

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys
        self.order = np.argsort(keys, kind="stable")
        self.sorted_keys = keys[self.order]

    @classmethod
    def from_column(cls, column: pa.Array | pa.ChunkedArray) -> PkIndex:
        return cls(key_array(column))

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (position in ``keys``, local row id) for every stored match."""
        if len(self.sorted_keys) == 0 or len(keys) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        if keys.dtype.kind != self.sorted_keys.dtype.kind:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        left = np.searchsorted(self.sorted_keys, keys, side="left")
        right = np.searchsorted(self.sorted_keys, keys, side="right")
        counts = right - left
        key_pos = np.repeat(np.arange(len(keys)), counts)
        # positions left[i], left[i]+1, ..., right[i]-1 for every key, vectorised
        starts = np.repeat(left - np.cumsum(counts) + counts, counts)
        sorted_pos = starts + np.arange(counts.sum())
        return key_pos, self.order[sorted_pos]

    def memory_bytes(self) -> int:
        return int(self.keys.nbytes + self.order.nbytes + self.sorted_keys.nbytes)
