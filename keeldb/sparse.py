"""Sparse float vectors: :class:`SparseRows`, rows in compressed sparse row (CSR) form.

The value type of SPARSE_FLOAT_VECTOR columns in every layer (validated data,
WAL records, segments, indexes, results). It is not a scipy matrix because a
sparse dimension may be any index below 2**32 - 1: scipy sizes some of its
buffers by the column count, which would allocate gigabytes.

Invariants (``from_parts`` checks them; everything else keeps them):

- ``indptr`` is int64 of length ``n + 1``, starting at 0, non-decreasing;
- ``indices`` is uint32 (dimension ids below ``MAX_SPARSE_INDEX``), strictly
  increasing within each row (no duplicates);
- ``values`` is float32, finite, one per index; a row may be empty;
- arrays are never mutated once a ``SparseRows`` holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Milvus's bound: a sparse dimension id is in [0, 2**32 - 1).
MAX_SPARSE_INDEX = 2**32 - 1


@dataclass(frozen=True, eq=False)
class SparseRows:
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls, rows: int = 0) -> SparseRows:
        return cls(np.zeros(rows + 1, np.int64), np.empty(0, np.uint32), np.empty(0, np.float32))

    @classmethod
    def from_parts(cls, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray) -> SparseRows:
        """Rows from raw CSR arrays, checked against the invariants (ValueError if broken)."""
        indptr = np.asarray(indptr, dtype=np.int64)
        indices = np.asarray(indices)
        values = np.asarray(values, dtype=np.float32)
        if indptr.ndim != 1 or len(indptr) < 1 or indptr[0] != 0:
            raise ValueError("indptr must be a 1-D array starting at 0")
        if np.any(np.diff(indptr) < 0) or indptr[-1] != len(indices):
            raise ValueError("indptr must be non-decreasing and end at the number of entries")
        if len(indices) != len(values):
            raise ValueError("indices and values must have the same length")
        if len(indices) and (indices.min() < 0 or indices.max() >= MAX_SPARSE_INDEX):
            raise ValueError(f"sparse indices must be in [0, {MAX_SPARSE_INDEX})")
        indices = indices.astype(np.uint32)
        step = np.diff(indices.astype(np.int64))
        row_start = np.zeros(len(indices), dtype=bool)  # entry i opens a row
        row_start[indptr[:-1][indptr[:-1] < len(indices)]] = True
        if len(step) and np.any((step <= 0) & ~row_start[1:]):
            raise ValueError("indices within a row must be strictly increasing")
        return cls(indptr, indices, values)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def num_rows(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.indices.nbytes + self.values.nbytes)

    def row_lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def row_of_entries(self) -> np.ndarray:
        """The row id of each stored entry (int64, length ``nnz``)."""
        return np.repeat(np.arange(self.num_rows, dtype=np.int64), self.row_lengths())

    def __getitem__(self, rows: np.ndarray | slice | Sequence[int]) -> SparseRows:
        """Rows by a boolean mask, integer ids (any order, repeats allowed) or a slice."""
        if isinstance(rows, slice):
            rows = np.arange(self.num_rows)[rows]
        rows = np.asarray(rows)
        if rows.dtype == np.bool_:
            rows = np.flatnonzero(rows)
        return self.take(rows.astype(np.int64, copy=False))

    def take(self, rows: np.ndarray) -> SparseRows:
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # entry j of output row r comes from starts[r] + j: one vectorised gather
        source = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return SparseRows(indptr, self.indices[source], self.values[source])

    def row(self, i: int) -> dict[int, float]:
        """Row ``i`` as pymilvus returns it: ``{index: value}``."""
        start, end = int(self.indptr[i]), int(self.indptr[i + 1])
        return dict(zip(self.indices[start:end].tolist(), self.values[start:end].tolist()))

    def to_dicts(self) -> list[dict[int, float]]:
        indices, values = self.indices.tolist(), self.values.tolist()
        bounds = self.indptr.tolist()
        return [dict(zip(indices[a:b], values[a:b])) for a, b in zip(bounds[:-1], bounds[1:])]

    @staticmethod
    def concat(parts: Sequence[SparseRows]) -> SparseRows:
        if not parts:
            return SparseRows.empty()
        if len(parts) == 1:
            return parts[0]
        offsets = np.cumsum([0] + [p.nnz for p in parts[:-1]])
        indptr = np.concatenate(
            [np.zeros(1, np.int64)] + [p.indptr[1:] + off for p, off in zip(parts, offsets)]
        )
        return SparseRows(
            indptr,
            np.concatenate([p.indices for p in parts]),
            np.concatenate([p.values for p in parts]),
        )
