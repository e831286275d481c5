"""In-memory scalar indexes of sealed segments: sorted distinct values + postings.

One structure serves every scalar index type ``create_index`` accepts
(INVERTED, STL_SORT, TRIE, BITMAP, AUTOINDEX) on INT8..INT64, FLOAT, DOUBLE,
VARCHAR and BOOL fields; it is derived data, built from a segment's column when
the segment is sealed, merged or loaded, and never written to disk:

    distinct   the column's distinct non-null values, ascending (NaN excluded);
               numpy for numbers and booleans, an Arrow string array for text
    starts     int64[d + 1]: rows of value ``distinct[i]`` are
               ``order[starts[i]:starts[i + 1]]``
    order      int32 local ids, grouped by value, ascending within a group
               (so it is an inverted index: value -> sorted local ids)
    valid      bool per row, False where the value is null (None: no nulls)
    nan_ids    float columns: the rows holding NaN (in no group)

A lookup answers with a :class:`RowSet`: ranges of ``order`` (plus, maybe, the
NaN rows), whose exact row count is known before any row id is produced, so
the planner can price a lookup against a scan first.

Semantics are the evaluator's, exactly: comparisons between any integer and any
float are mathematically exact (bounds are found by bisection with Python's
exact int/float comparison), NaN is unordered (only ``!=`` and ``not in`` hold),
strings compare by code point (= UTF-8 byte order, Arrow's order), and null
rows are in no set: a comparison with a null is unknown, so both a condition
and its negation leave the row out.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

INDEXABLE = ("int", "float", "string", "bool")
_INT64 = (-(2**63), 2**63 - 1)


def value_family(arrow_type: pa.DataType) -> str | None:
    """Which index family an Arrow column type belongs to, None if not indexable."""
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    return None


@dataclass(frozen=True)
class RowSet:
    """Rows ``order[lo[i]:hi[i]]`` for every i, plus the NaN rows if ``nan``."""

    index: ScalarIndex
    lo: np.ndarray
    hi: np.ndarray
    nan: bool = False

    @property
    def count(self) -> int:
        nan = len(self.index.nan_ids) if self.nan else 0
        return int((self.hi - self.lo).sum()) + nan

    def ids(self) -> np.ndarray:
        lengths = self.hi - self.lo
        total = int(lengths.sum())
        if len(lengths) == 1:
            picked = self.index.order[int(self.lo[0]) : int(self.hi[0])]
        elif total == 0:
            picked = np.empty(0, dtype=np.int32)
        else:
            starts = np.repeat(self.lo - (np.cumsum(lengths) - lengths), lengths)
            picked = self.index.order[starts + np.arange(total)]
        if self.nan and len(self.index.nan_ids):
            picked = np.concatenate([picked, self.index.nan_ids])
        return picked

    def mask(self) -> np.ndarray:
        out = np.zeros(self.index.num_rows, dtype=bool)
        out[self.ids()] = True
        return out


class ScalarIndex:
    __slots__ = ("family", "index_type", "num_rows", "distinct", "starts", "order", "valid",
                 "nan_ids", "_valid_count")  # fmt: skip

    def __init__(
        self,
        family: str,
        index_type: str,
        num_rows: int,
        distinct: Any,
        starts: np.ndarray,
        order: np.ndarray,
        valid: np.ndarray | None,
        nan_ids: np.ndarray,
    ) -> None:
        self.family = family
        self.index_type = index_type
        self.num_rows = num_rows
        self.distinct = distinct
        self.starts = starts
        self.order = order
        self.valid = valid
        self.nan_ids = nan_ids
        self._valid_count = num_rows if valid is None else int(valid.sum())

    # -- building -------------------------------------------------------------------
    @classmethod
    def build(cls, column: pa.Array | pa.ChunkedArray, index_type: str = "INVERTED") -> ScalarIndex:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        family = value_family(column.type)
        if family is None:
            raise TypeError(f"no scalar index for a column of type {column.type}")
        n = len(column)
        valid = None
        if column.null_count:
            valid = column.is_valid().to_numpy(zero_copy_only=False)
        if family == "string":
            order = pc.array_sort_indices(column, null_placement="at_end")
            order = order.slice(0, n - column.null_count)
            ordered = column.take(order)
            order_np = order.to_numpy().astype(np.int32)
            nan_ids = np.empty(0, dtype=np.int32)
            if len(ordered) > 1:
                changed = pc.not_equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))
                bounds = np.nonzero(changed.to_numpy(zero_copy_only=False))[0] + 1
            else:
                bounds = np.empty(0, dtype=np.int64)
            starts = _starts(bounds, len(ordered))
            distinct = ordered.take(pa.array(starts[:-1]))
            return cls(family, index_type, n, distinct, starts, order_np, valid, nan_ids)
        values = column.fill_null(False if family == "bool" else 0).to_numpy(zero_copy_only=False)
        if family == "int":
            values = values.astype(np.int64, copy=False)
        elif family == "float":
            values = values.astype(np.float64, copy=False)
        keep = np.ones(n, dtype=bool) if valid is None else valid.copy()
        nan_ids = np.empty(0, dtype=np.int32)
        if family == "float":
            nan = np.isnan(values) & keep
            if nan.any():
                nan_ids = np.nonzero(nan)[0].astype(np.int32)
                keep &= ~nan
        ids = np.nonzero(keep)[0] if not keep.all() else np.arange(n)
        order = ids[np.argsort(values[ids], kind="stable")].astype(np.int32)
        ordered = values[order]
        bounds = np.nonzero(ordered[1:] != ordered[:-1])[0] + 1
        starts = _starts(bounds, len(ordered))
        distinct = ordered[starts[:-1]]
        return cls(family, index_type, n, distinct, starts, order, valid, nan_ids)

    # -- facts ----------------------------------------------------------------------
    @property
    def distinct_count(self) -> int:
        return len(self.starts) - 1

    @property
    def valid_count(self) -> int:
        return self._valid_count

    def valid_mask(self) -> np.ndarray:
        return np.ones(self.num_rows, dtype=bool) if self.valid is None else self.valid

    def memory_bytes(self) -> int:
        distinct = self.distinct.nbytes
        valid = 0 if self.valid is None else self.valid.nbytes
        return int(distinct + self.starts.nbytes + self.order.nbytes + valid + self.nan_ids.nbytes)

    def _value(self, position: int) -> Any:
        value = self.distinct[position]
        return value.as_py() if isinstance(value, pa.Scalar) else value.item()

    def _fits(self, literal: Any) -> bool:
        if self.family == "bool":
            return isinstance(literal, bool)
        if self.family == "string":
            return isinstance(literal, str)
        if isinstance(literal, bool) or not isinstance(literal, (int, float)):
            return False
        return not (isinstance(literal, float) and math.isnan(literal))

    def _bounds(self, literal: Any) -> tuple[int, int]:
        """Positions in ``distinct``: first value >= literal, first value > literal."""
        d = self.distinct_count
        key = self._value
        lo = bisect.bisect_left(range(d), literal, key=key)
        hi = bisect.bisect_right(range(lo, d), literal, key=key) + lo
        return lo, hi

    def _rows(self, positions: Sequence[tuple[int, int]], nan: bool = False) -> RowSet:
        spans = [(a, b) for a, b in positions if b > a]
        lo = np.array([self.starts[a] for a, _ in spans], dtype=np.int64)
        hi = np.array([self.starts[b] for _, b in spans], dtype=np.int64)
        return RowSet(self, lo, hi, nan)

    # -- lookups (None: this index cannot answer; scan instead) -------------------------
    def compare(self, op: str, literal: Any) -> RowSet | None:
        """Rows where ``value op literal`` is true."""
        if not self._fits(literal):
            return None
        if self.family == "bool" and op not in ("==", "!="):
            return None
        d = self.distinct_count
        lo, hi = self._bounds(literal)
        spans = {
            "==": [(lo, hi)],
            "!=": [(0, lo), (hi, d)],
            "<": [(0, lo)],
            "<=": [(0, hi)],
            ">": [(hi, d)],
            ">=": [(lo, d)],
        }[op]
        return self._rows(spans, nan=op == "!=")

    def isin(self, items: Sequence[Any], negated: bool = False) -> RowSet:
        """Rows whose value is (``negated``: is not) one of ``items``."""
        hit = self._member_positions(items)
        if not negated:
            lo, hi = self.starts[hit], self.starts[hit + 1]
            return RowSet(self, lo, hi)
        keep = np.ones(self.distinct_count, dtype=bool)
        keep[hit] = False
        rest = np.nonzero(keep)[0]
        return RowSet(self, self.starts[rest], self.starts[rest + 1], nan=True)

    def _member_positions(self, items: Sequence[Any]) -> np.ndarray:
        if self.distinct_count == 0:
            return np.empty(0, dtype=np.int64)
        if self.family == "string":
            strings = [i for i in items if isinstance(i, str)]
            if not strings:
                return np.empty(0, dtype=np.int64)
            found = pc.index_in(pa.array(strings, pa.string()), value_set=self.distinct)
            positions = found.drop_null().to_numpy(zero_copy_only=False).astype(np.int64)
            return np.unique(positions)
        if self.family == "bool":
            wanted = np.array(sorted({i for i in items if isinstance(i, bool)}), dtype=bool)
        elif self.family == "int":
            wanted = np.array(sorted(_exact_ints(items)), dtype=np.int64)
        else:
            wanted = np.array(sorted(_exact_floats(items)), dtype=np.float64)
        if len(wanted) == 0:
            return np.empty(0, dtype=np.int64)
        positions = np.searchsorted(self.distinct, wanted)
        inside = positions < self.distinct_count
        positions = positions[inside]
        found = self.distinct[positions] == wanted[inside]
        return np.unique(positions[found]).astype(np.int64)

    def prefix(self, text: str) -> RowSet | None:
        """Rows whose string value starts with ``text`` (``like 'text%'``)."""
        if self.family != "string":
            return None
        d = self.distinct_count
        lo = bisect.bisect_left(range(d), text, key=self._value)
        cut = len(text)
        hi = bisect.bisect_right(range(lo, d), text, key=lambda i: self._value(i)[:cut]) + lo
        return self._rows([(lo, hi)])

    def not_prefix(self, text: str) -> RowSet | None:
        rows = self.prefix(text)
        if rows is None:
            return None
        lo, hi = (int(rows.lo[0]), int(rows.hi[0])) if len(rows.lo) else (0, 0)
        total = int(self.starts[-1])
        spans_lo = np.array([0, hi], dtype=np.int64)
        spans_hi = np.array([lo, total], dtype=np.int64)
        keep = spans_hi > spans_lo
        return RowSet(self, spans_lo[keep], spans_hi[keep])


def _starts(bounds: np.ndarray, total: int) -> np.ndarray:
    """Group offsets ``[0, *bounds, total]`` (just ``[0]`` when there are no values)."""
    if total == 0:
        return np.zeros(1, dtype=np.int64)
    return np.concatenate([[0], bounds, [total]]).astype(np.int64)


def complement(rows: RowSet) -> RowSet:
    """The valid rows not in ``rows`` (for ``==`` → ``!=`` style negations)."""
    index = rows.index
    total = int(index.starts[-1])
    order = np.argsort(rows.lo, kind="stable")
    lo, hi = rows.lo[order], rows.hi[order]
    gaps_lo = np.concatenate([[0], hi]).astype(np.int64)
    gaps_hi = np.concatenate([lo, [total]]).astype(np.int64)
    keep = gaps_hi > gaps_lo
    return RowSet(index, gaps_lo[keep], gaps_hi[keep], nan=not rows.nan)


def _exact_ints(items: Sequence[Any]) -> set[int]:
    out: set[int] = set()
    for item in items:
        if isinstance(item, bool):
            continue
        if isinstance(item, float):
            if not item.is_integer():
                continue
            item = int(item)
        if isinstance(item, int) and _INT64[0] <= item <= _INT64[1]:
            out.add(item)
    return out


def _exact_floats(items: Sequence[Any]) -> set[float]:
    out: set[float] = set()
    for item in items:
        if isinstance(item, bool):
            continue
        if isinstance(item, float):
            if not math.isnan(item):
                out.add(item)
        elif isinstance(item, int):
            try:
                as_float = float(item)
            except OverflowError:
                continue
            if as_float == item:
                out.add(as_float)
    return out
