"""Constant folding with exactly the evaluator's semantics.

Folding runs the vectorised arithmetic of :mod:`numeric` on one-row vectors,
so ``price > 2 * 5`` and a row where ``2 * 5`` came from columns agree to the
last bit, overflow and division rules included.
"""

from __future__ import annotations

from keeldb.expr import ast
from keeldb.expr.limits import MAX_CONSTANT_BITS, MAX_INT_POWER
from keeldb.expr.numeric import Num, apply_op, arith, compare3, negate


def int_power_exponent(node: ast.Node) -> int | None:
    """The exponent when ``x ** node`` stays an integer power, else None."""
    if isinstance(node, ast.Literal):
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT_POWER:
            return value
    return None


def fold_arith(op: str, left: int | float, right: int | float) -> int | float:
    exponent = int_power_exponent(ast.Literal(0, right))
    result = arith(op, Num.constant(left, 1), Num.constant(right, 1), exponent)
    return _scalar(result)


def fold_neg(value: int | float) -> int | float:
    return _scalar(negate(Num.constant(value, 1)))


def fold_compare(op: str, left: object, right: object) -> bool:
    if isinstance(left, (str, bool)) or isinstance(right, (str, bool)):
        return {
            "==": left == right, "!=": left != right, "<": left < right,  # type: ignore[operator]
            "<=": left <= right, ">": left > right, ">=": left >= right,  # type: ignore[operator]
        }[op]  # fmt: skip
    lt, eq, gt = compare3(left, Num.constant(right, 1), 1)  # type: ignore[arg-type]
    return bool(apply_op(op, lt, eq, gt)[0])


def _scalar(num: Num) -> int | float:
    if not num.valid[0]:
        raise OverflowError(f"integer constant is wider than {MAX_CONSTANT_BITS} bits")
    if num.floats is not None:
        return float(num.floats[0])
    assert num.ints is not None
    return int(num.ints[0])
