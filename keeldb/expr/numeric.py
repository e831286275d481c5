"""Numeric vectors: exact comparisons and checked arithmetic, vectorised.

A :class:`Num` holds one number per row. Integer rows live in ``ints``
(``int64``, or a NumPy object array of Python ints once a result left the
int64 range), float rows in ``floats`` (``float64``; FLOAT columns are widened
exactly). A JSON path can hold both; ``isf`` then says which array a row uses.

Semantics (the reference evaluator in the tests spells out the same rules):
- comparisons are mathematically exact between any int and any float
  (``int8 col > 300`` is never true, ``2**63 - 1 > 9.223372036854775807e18``
  is false); NaN is unordered: every comparison is false except ``!=``.
- ``+ - *`` on ints are exact (int64 overflow moves to Python ints); ``/`` on
  two ints truncates towards zero and ``%`` takes the sign of the dividend, as
  in C and in Milvus; with a float operand both work on doubles (``fmod``).
- ``x ** e`` is an exact int when both are ints and ``e`` is a constant in
  ``0..MAX_INT_POWER``; otherwise a double.
- a zero divisor, or an integer wider than ``MAX_CONSTANT_BITS`` bits, makes
  the row's value null.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np

from keeldb.expr.limits import MAX_CONSTANT_BITS

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_TWO_63 = 9.223372036854775808e18


@dataclass
class Num:
    ints: np.ndarray | None
    floats: np.ndarray | None
    isf: np.ndarray | None
    valid: np.ndarray

    @classmethod
    def constant(cls, value: int | float, n: int) -> Num:
        valid = np.ones(n, dtype=bool)
        if isinstance(value, float):
            return cls(None, np.full(n, value, dtype=np.float64), None, valid)
        if INT64_MIN <= value <= INT64_MAX:
            return cls(np.full(n, value, dtype=np.int64), None, None, valid)
        ints = np.empty(n, dtype=object)
        ints[:] = value
        return cls(ints, None, None, valid)

    @property
    def shape(self) -> str:
        """'i' (all ints), 'f' (all floats) or 'm' (mixed per row)."""
        if self.isf is not None:
            return "m"
        return "f" if self.floats is not None else "i"

    def as_float(self) -> np.ndarray:
        if self.floats is not None and self.isf is None:
            return self.floats
        assert self.ints is not None
        as_float = _ints_to_float(self.ints)
        if self.isf is None:
            return as_float
        return np.where(self.isf, self.floats, as_float)

    def int_rows(self) -> np.ndarray:
        """Rows whose value is an int (for mixed vectors)."""
        if self.isf is not None:
            return ~self.isf
        return np.full(len(self.valid), self.floats is None)


def _ints_to_float(ints: np.ndarray) -> np.ndarray:
    if ints.dtype != object:
        return ints.astype(np.float64)
    return np.array([_int_to_float(v) for v in ints], dtype=np.float64)


def _int_to_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


# -- comparisons ------------------------------------------------------------------
Scalar = int | float


def compare3(a: Num | Scalar, b: Num | Scalar, n: int) -> tuple[np.ndarray, ...]:
    """Exact three-way comparison: masks (less, equal, greater); NaN is in none."""
    lt, eq, gt = (np.zeros(n, dtype=bool) for _ in range(3))
    with np.errstate(all="ignore"):
        for xa, fa, ma in _parts(a):
            for xb, fb, mb in _parts(b):
                parts = _compare_pair(xa, fa, xb, fb, n)
                mask = ma if mb is None else (mb if ma is None else ma & mb)
                for total, part in zip((lt, eq, gt), parts, strict=False):
                    total |= part if mask is None else part & mask
    return lt, eq, gt


def _parts(x: Num | Scalar) -> list[tuple]:
    if isinstance(x, float):
        return [(x, True, None)]
    if isinstance(x, int):
        return [(x, False, None)]
    if x.isf is None:
        return [(x.floats, True, None)] if x.floats is not None else [(x.ints, False, None)]
    return [(x.ints, False, ~x.isf), (x.floats, True, x.isf)]


def _compare_pair(x, x_float: bool, y, y_float: bool, n: int) -> tuple[np.ndarray, ...]:
    if x_float == y_float:
        parts = (x < y, x == y, x > y)
    elif y_float:
        parts = _compare_int_float(x, y, n)
    else:
        gt, eq, lt = _compare_int_float(y, x, n)
        parts = (lt, eq, gt)
    return tuple(np.broadcast_to(np.asarray(p, dtype=bool), (n,)) for p in parts)


def _compare_int_float(x, y, n: int) -> tuple:
    """Compare ints ``x`` with floats ``y`` exactly (one of them is an array)."""
    none = np.zeros(n, dtype=bool)
    if isinstance(x, np.ndarray) and x.dtype == object:
        return (x < y, x == y, x > y)  # Python compares int and float exactly
    if isinstance(y, float):
        if math.isnan(y):
            return none, none, none
        if math.isinf(y):
            return (~none, none, none) if y > 0 else (none, none, ~none)
        floor = math.floor(y)
        if floor == y:
            return (x < floor, x == floor, x > floor)
        return (x <= floor, none, x > floor)
    if isinstance(x, int):
        return _compare_scalar_int_float(x, y)
    return _compare_int_float_arrays(x, y)


def _compare_scalar_int_float(x: int, y: np.ndarray) -> tuple:
    x_float = _int_to_float(x)
    lt, eq, gt = x_float < y, x_float == y, x_float > y
    if math.isinf(x_float):
        exact = 1 if x_float > 0 else -1  # x is finite: below +inf, above -inf
    else:
        exact = (int(x_float) > x) - (int(x_float) < x)
    if exact > 0:  # ties: y == float(x) > x
        return lt | eq, np.zeros_like(eq), gt
    if exact < 0:
        return lt, np.zeros_like(eq), gt | eq
    return lt, eq, gt


def _compare_int_float_arrays(x: np.ndarray, y: np.ndarray) -> tuple:
    x_float = x.astype(np.float64)
    lt, gt, tie = x_float < y, x_float > y, x_float == y
    if not tie.any():
        return lt, tie, gt
    # at a tie y is integral and within [-2**63, 2**63]: finish in integers
    exact = tie & (y < _TWO_63)
    y_int = np.where(exact, y, 0).astype(np.int64)
    lt = lt | (exact & (x < y_int)) | (tie & ~exact)
    gt = gt | (exact & (x > y_int))
    return lt, exact & (x == y_int), gt


def apply_op(op: str, lt: np.ndarray, eq: np.ndarray, gt: np.ndarray) -> np.ndarray:
    if op == "==":
        return eq
    if op == "!=":
        return ~eq
    if op == "<":
        return lt
    if op == "<=":
        return lt | eq
    if op == ">":
        return gt
    return gt | eq


# -- arithmetic -------------------------------------------------------------------
def arith(op: str, a: Num, b: Num, int_exponent: int | None) -> Num:
    """``a op b`` row by row; ``int_exponent`` is the constant exponent of ``**``."""
    valid = a.valid & b.valid
    if op in ("/", "%"):
        valid = valid & (b.as_float() != 0)
    forced_float = op == "**" and int_exponent is None
    shapes = a.shape + b.shape
    if "f" in shapes or forced_float:
        return Num(None, _float_op(op, a.as_float(), b.as_float()), None, valid)
    if shapes == "ii":
        ints, ok = _int_op(op, a.ints, b.ints, int_exponent)
        return Num(ints, None, None, valid & ok)
    int_rows = a.int_rows() & b.int_rows()
    x = np.where(int_rows, a.ints, 0)
    y = np.where(int_rows, b.ints, 1)
    ints, ok = _int_op(op, x.astype(a.ints.dtype), y.astype(b.ints.dtype), int_exponent)
    floats = _float_op(op, a.as_float(), b.as_float())
    return Num(ints, floats, ~int_rows, valid & (ok | ~int_rows))


def negate(a: Num) -> Num:
    ints = a.ints
    if ints is not None:
        if ints.dtype == object or (ints == INT64_MIN).any():
            ints = _narrow(np.array([-v for v in ints.astype(object)], dtype=object))
        else:
            ints = -ints
    floats = None if a.floats is None else -a.floats
    return Num(ints, floats, a.isf, a.valid)


def _float_op(op: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        safe = np.where(y == 0, 1.0, y)
        if op == "/":
            return x / safe
        if op == "%":
            return np.fmod(x, safe)
        return np.power(x, y)


def _int_op(op: str, x: np.ndarray, y: np.ndarray, exponent: int | None):
    """Integer ``x op y``: (results, ok-mask). int64 when it fits, else Python ints."""
    ones = np.ones(len(x), dtype=bool)
    if x.dtype == object or y.dtype == object:
        return _object_op(op, x, y, exponent)
    with np.errstate(all="ignore"):
        if op == "+":
            r = x + y
            if (((x ^ r) & (y ^ r)) < 0).any():
                return _object_op(op, x, y, exponent)
            return r, ones
        if op == "-":
            r = x - y
            if (((x ^ y) & (x ^ r)) < 0).any():
                return _object_op(op, x, y, exponent)
            return r, ones
        if op == "*":
            if (np.abs(x.astype(np.float64) * y.astype(np.float64)) >= 2.0**62).any():
                return _object_op(op, x, y, exponent)
            return x * y, ones
        if op == "**":
            assert exponent is not None
            if (np.abs(x.astype(np.float64)) ** exponent >= 2.0**62).any():
                return _object_op(op, x, y, exponent)
            return np.power(x, exponent), ones
        safe = np.where(y == 0, 1, y)
        if op == "/" and ((x == INT64_MIN) & (safe == -1)).any():
            return _object_op(op, x, y, exponent)
        remainder = np.fmod(x, safe)
        if op == "%":
            return remainder, ones
        return (x - remainder) // safe, ones


def _object_op(op: str, x: np.ndarray, y: np.ndarray, exponent: int | None):
    xs, ys = x.tolist(), y.tolist()
    func = _OBJECT_OPS[op]
    if op == "**":
        results = [int_power(v, exponent) for v in xs]
    else:
        results = [func(u, v) for u, v in zip(xs, ys, strict=False)]
    ok = np.array([r is not None for r in results], dtype=bool)
    out = np.empty(len(results), dtype=object)
    out[:] = [0 if r is None else r for r in results]
    return _narrow(out), ok


def _narrow(values: np.ndarray) -> np.ndarray:
    """Back to int64 when every value fits."""
    if all(INT64_MIN <= v <= INT64_MAX for v in values):
        return values.astype(np.int64)
    return values


def _bounded(value: int) -> int | None:
    return value if value.bit_length() <= MAX_CONSTANT_BITS else None


def int_multiply(x: int, y: int) -> int | None:
    if x.bit_length() + y.bit_length() > MAX_CONSTANT_BITS + 1:
        return None
    return _bounded(x * y)


def int_power(x: int, exponent: int | None) -> int | None:
    assert exponent is not None
    if exponent and max(x.bit_length() - 1, 0) * exponent > MAX_CONSTANT_BITS:
        return None
    return _bounded(x**exponent)


def int_divide(x: int, y: int) -> int | None:
    """Division truncating towards zero (C, Milvus); None for a zero divisor."""
    if y == 0:
        return None
    quotient = abs(x) // abs(y)
    return quotient if (x >= 0) == (y > 0) else -quotient


def int_remainder(x: int, y: int) -> int | None:
    """Remainder with the sign of the dividend (C ``%``, ``fmod``)."""
    if y == 0:
        return None
    quotient = int_divide(x, y)
    assert quotient is not None
    return x - y * quotient


_OBJECT_OPS = {
    "+": lambda x, y: _bounded(operator.add(x, y)),
    "-": lambda x, y: _bounded(operator.sub(x, y)),
    "*": int_multiply,
    "/": int_divide,
    "%": int_remainder,
    "**": None,
}
