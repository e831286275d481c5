"""Vectorised building blocks of conditions: presence, typed views, comparisons,
list membership and LIKE. See :mod:`jsonview` for how JSON values of another
type than the literal compare (never equal, never ordered).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from keeldb.expr.jsonview import JsonValues
from keeldb.expr.numeric import Num, apply_op, compare3
from keeldb.expr.vectors import Bools, Lists, Strs

Value = Any

_STRING_OPS = {
    "==": pc.equal, "!=": pc.not_equal, "<": pc.less,
    "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal,
}  # fmt: skip


def presence(value: Value, n: int) -> np.ndarray:
    if isinstance(value, JsonValues):
        return value.present
    if isinstance(value, (Num, Strs, Bools, Lists)):
        return value.valid
    return np.ones(n, dtype=bool)


def view(value: Value, family: str) -> Value | None:
    """``value`` as a vector (or scalar) of one type family, or None."""
    if isinstance(value, JsonValues):
        return {"number": value.numbers, "string": value.strings, "bool": value.booleans}[family]
    if isinstance(value, (bool, Bools)):
        return value if family == "bool" else None
    if isinstance(value, (int, float, Num)):
        return value if family == "number" else None
    if isinstance(value, (str, Strs)):
        return value if family == "string" else None
    return None


def compare_same(op: str, left: Value, right: Value, n: int) -> np.ndarray:
    """``left op right`` for two values of one type family (validity ignored)."""
    if isinstance(left, (Strs, str)):
        a = left.arr if isinstance(left, Strs) else pa.scalar(left, pa.string())
        b = right.arr if isinstance(right, Strs) else pa.scalar(right, pa.string())
        result = _STRING_OPS[op](a, b)
        return _to_mask(result, n)
    if isinstance(left, (Bools, bool)):
        a = left.vals if isinstance(left, Bools) else left
        b = right.vals if isinstance(right, Bools) else right
        equal = np.broadcast_to(np.asarray(a == b, dtype=bool), (n,))
        if op not in ("==", "!="):  # booleans are not ordered (JSON true <= true)
            return np.zeros(n, dtype=bool)
        return equal.copy() if op == "==" else ~equal
    lt, eq, gt = compare3(left, right, n)
    return apply_op(op, lt, eq, gt)


def _to_mask(result: Any, n: int) -> np.ndarray:
    if isinstance(result, pa.Scalar):
        return np.full(n, bool(result.as_py()))
    return result.fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def in_hit(value: Value, items: list, n: int) -> np.ndarray:
    """Rows whose value equals one of the scalar ``items`` (validity applied)."""
    hit = np.zeros(n, dtype=bool)
    numbers = [i for i in items if isinstance(i, (int, float)) and not isinstance(i, bool)]
    strings = [i for i in items if isinstance(i, str)]
    booleans = {i for i in items if isinstance(i, bool)}
    nums = view(value, "number")
    if numbers and isinstance(nums, Num):
        hit |= _numbers_in(nums, numbers) & nums.valid
    strs = view(value, "string")
    if strings and isinstance(strs, Strs):
        found = pc.is_in(strs.arr, value_set=pa.array(strings, type=pa.string()))
        hit |= _to_mask(found, n) & strs.valid
    bools = view(value, "bool")
    if booleans and isinstance(bools, Bools):
        hit |= np.isin(bools.vals, list(booleans)) & bools.valid
    return hit


def _numbers_in(nums: Num, items: list) -> np.ndarray:
    exact_ints = {i for i in items if isinstance(i, int)}
    exact_ints |= {int(i) for i in items if isinstance(i, float) and i.is_integer()}
    as_floats = [float(i) for i in items if isinstance(i, float)]
    as_floats += [float(i) for i in exact_ints if abs(i) <= 2**1023 and float(i) == i]
    hit = np.zeros(len(nums.valid), dtype=bool)
    int_rows = nums.int_rows()
    if nums.ints is not None:
        if nums.ints.dtype == object:
            found = np.array([v in exact_ints for v in nums.ints], dtype=bool)
        else:
            in_range = [i for i in exact_ints if -(2**63) <= i < 2**63]
            found = np.isin(nums.ints, np.array(in_range, dtype=np.int64))
        hit |= found & int_rows
    if nums.floats is not None:
        hit |= np.isin(nums.floats, np.array(as_floats, dtype=np.float64)) & ~int_rows
    return hit


def match_like(arr: pa.Array, pattern: str) -> np.ndarray:
    """SQL LIKE: ``%`` any run, ``_`` one character, ``\\`` escapes the next one."""
    parts: list[str] = []
    literal: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            literal.append(pattern[i + 1])
            i += 2
            continue
        if char in "%_":
            parts.append(_re2_literal("".join(literal)))
            literal = []
            parts.append(".*" if char == "%" else ".")
        else:
            literal.append(char)
        i += 1
    parts.append(_re2_literal("".join(literal)))
    result = pc.match_substring_regex(arr, pattern="(?s)^" + "".join(parts) + "$")
    return _to_mask(result, len(arr))


def _re2_literal(text: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in text)
