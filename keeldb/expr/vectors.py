"""Column vectors the evaluator works on, and how Arrow columns become them.

- :class:`Num` (see :mod:`numeric`) for INT8..INT64, FLOAT, DOUBLE and numbers;
- :class:`Strs`: an Arrow string array (codepoint order = UTF-8 byte order);
- :class:`Bools`: values and validity as NumPy masks;
- :class:`Lists`: an Arrow list array (ARRAY fields);
- :class:`JsonValues` (see :mod:`jsonview`) for JSON paths and dynamic fields.

Every vector carries ``valid``: False where the row's value is null; the
value slots of null rows hold placeholders (0, "", False) that the evaluator
never lets decide anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from keeldb.expr.numeric import Num
from keeldb.types import DataType


@dataclass
class Strs:
    arr: pa.Array
    valid: np.ndarray


@dataclass
class Bools:
    vals: np.ndarray
    valid: np.ndarray


@dataclass
class Lists:
    arr: pa.ListArray
    valid: np.ndarray
    element_type: DataType

    def lengths(self) -> np.ndarray:
        offsets = self.arr.offsets.to_numpy()
        return np.where(self.valid, np.diff(offsets), 0)

    def flat(self) -> tuple[Num | Strs | Bools, np.ndarray]:
        """Every element of every (non-null) list, and the row each came from."""
        offsets = self.arr.offsets.to_numpy()
        lengths = self.lengths()
        starts = offsets[:-1]
        index = np.repeat(starts, lengths) + _ranks(lengths)
        parents = np.repeat(np.arange(len(lengths)), lengths)
        values = self.arr.values.take(pa.array(index, type=pa.int64()))
        return scalar_vector(values, self.element_type), parents

    def element(self, position: int) -> Num | Strs | Bools:
        offsets = self.arr.offsets.to_numpy()
        has = self.valid & (np.diff(offsets) > position)
        values = self.arr.values
        if len(values) == 0:
            index = np.zeros(len(has), dtype=np.int64)
            values = pa.array([None], type=values.type)
        else:
            index = np.where(has, offsets[:-1] + position, 0)
        vector = scalar_vector(values.take(pa.array(index, type=pa.int64())), self.element_type)
        vector.valid = vector.valid & has
        return vector


def _ranks(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., len-1 for each list, concatenated."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    return np.arange(total) - np.repeat(starts, lengths)


def validity(arr: pa.Array) -> np.ndarray:
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return arr.is_valid().to_numpy(zero_copy_only=False)


def scalar_vector(arr: pa.Array, dtype: DataType) -> Num | Strs | Bools:
    """A plain Arrow column of a scalar field type as an evaluator vector."""
    valid = validity(arr)
    if dtype.is_integer:
        ints = pc.cast(arr, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        return Num(ints.astype(np.int64, copy=False), None, None, valid)
    if dtype.is_float:
        floats = pc.cast(arr, pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        return Num(None, floats.astype(np.float64, copy=False), None, valid)
    if dtype == DataType.BOOL:
        vals = arr.fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)
        return Bools(vals, valid)
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return Strs(arr, valid)
