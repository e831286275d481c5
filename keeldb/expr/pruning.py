"""Segment pruning from min/max statistics.

:func:`may_match` runs the filter over intervals instead of rows. Each
condition gets a pair ``(may_be_true, may_be_false)`` for some row of a segment
whose column values all lie in ``[min, max]``; ``not`` swaps the pair, ``and``
and ``or`` combine it as three-valued logic does. Only comparisons and ``in``
between a plain column and a literal are judged; everything else is "maybe".
The answer is conservative: False means no row can match.

Statistics are ``{column: (min, max)}`` over the non-null values; a column
missing from the mapping, a ``None`` bound, a NaN bound or a bound whose type
does not fit the literal leaves the condition unconstrained. Float columns may
hold NaN, which min/max do not see, so ``!=`` on them is always "maybe true".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from keeldb.expr import ast

_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_MAYBE = (True, True)


def may_match(root: ast.Node, stats: Mapping[str, tuple[Any, Any]]) -> bool:
    return _judge(root, stats)[0]


def _judge(node: ast.Node, stats: Mapping[str, tuple[Any, Any]]) -> tuple[bool, bool]:
    if isinstance(node, ast.And):
        parts = [_judge(item, stats) for item in node.items]
        return all(p[0] for p in parts), any(p[1] for p in parts)
    if isinstance(node, ast.Or):
        parts = [_judge(item, stats) for item in node.items]
        return any(p[0] for p in parts), all(p[1] for p in parts)
    if isinstance(node, ast.Not):
        true, false = _judge(node.item, stats)
        return false, true
    if isinstance(node, ast.Literal):
        return bool(node.value), not node.value
    if isinstance(node, ast.Compare):
        return _judge_compare(node, stats)
    if isinstance(node, ast.InList):
        return _judge_in(node, stats)
    return _MAYBE


def _bounds(node: ast.Node, stats: Mapping[str, tuple[Any, Any]]) -> tuple[Any, Any] | None:
    if not isinstance(node, ast.Ref) or node.path or node.dtype is None:
        return None
    if not (node.dtype.is_numeric or node.dtype.is_string or node.dtype.name == "BOOL"):
        return None
    bounds = stats.get(node.column)
    if bounds is None or len(bounds) != 2:
        return None
    low, high = bounds
    if low is None or high is None:
        return None
    if any(isinstance(b, float) and math.isnan(b) for b in (low, high)):
        return None
    return low, high


def _fits(value: Any, low: Any, high: Any) -> bool:
    def family(v: Any) -> str:
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, (int, float)):
            return "number"
        return "string" if isinstance(v, str) else "other"

    return family(value) == family(low) == family(high) != "other"


def _judge_compare(node: ast.Compare, stats: Mapping[str, tuple[Any, Any]]) -> tuple[bool, bool]:
    op, ref, literal = node.op, node.left, node.right
    if isinstance(ref, ast.Literal):
        op, ref, literal = _FLIP[op], node.right, node.left
    bounds = _bounds(ref, stats)
    if bounds is None or not isinstance(literal, ast.Literal):
        return _MAYBE
    low, high = bounds
    c = literal.value
    if not _fits(c, low, high):
        return _MAYBE
    inside = low <= c <= high
    single = low == high == c
    judged = {
        "==": (inside, not single),
        "!=": (not single, inside),
        "<": (low < c, high >= c),
        "<=": (low <= c, high > c),
        ">": (high > c, low <= c),
        ">=": (high >= c, low < c),
    }[op]
    assert isinstance(ref, ast.Ref) and ref.dtype is not None
    if ref.dtype.is_float:  # NaN rows: != is true, the rest false
        return (judged[0] or op == "!=", True)
    return judged


def _judge_in(node: ast.InList, stats: Mapping[str, tuple[Any, Any]]) -> tuple[bool, bool]:
    bounds = _bounds(node.operand, stats)
    if bounds is None:
        return _MAYBE
    low, high = bounds
    values = [item.value for item in node.items if isinstance(item, ast.Literal)]
    if not all(_fits(v, low, high) for v in values):
        return _MAYBE
    some_inside = any(low <= v <= high for v in values)
    all_members = low == high and any(v == low for v in values)
    assert isinstance(node.operand, ast.Ref) and node.operand.dtype is not None
    if node.operand.dtype.is_float:  # NaN rows are in no list
        all_members = False
    judged = (some_inside, not all_members)
    return (judged[1], judged[0]) if node.negated else judged
