"""Limits on filter expressions, checked before and while parsing.

Every limit is enforced with a :class:`FilterError` that points at the place
the limit was crossed, so a hostile or runaway expression (a million opening
parentheses, a gigabyte of text, ``2 ** 10 ** 10``) is refused quickly and in
bounded memory, never with ``RecursionError`` or ``MemoryError``.

    MAX_EXPRESSION_LENGTH   65,536 characters of expression text
    MAX_NESTING_DEPTH       128 levels of syntax tree (brackets, operators,
                            ``not not ...``); the evaluator recurses this deep
    MAX_LIST_LENGTH         100,000 values in one list (``pk in {ids}`` with a
                            large template parameter is the usual way to get there)
    MAX_INT_DIGITS          400 digits in an integer literal
    MAX_CONSTANT_BITS       4,096 bits in a folded integer constant
    MAX_INT_POWER           128: ``int ** e`` stays an exact integer for constant
                            exponents 0..128, and becomes a float otherwise
"""

from __future__ import annotations

from keeldb.errors import FilterError
from keeldb.expr.report import filter_error

MAX_EXPRESSION_LENGTH = 65_536
MAX_NESTING_DEPTH = 128
MAX_LIST_LENGTH = 100_000
MAX_INT_DIGITS = 400
MAX_CONSTANT_BITS = 4_096
MAX_INT_POWER = 128

_OPENERS = "(["
_CLOSERS = ")]"


def check_text(expression: str) -> None:
    """Refuse text that is too long, not encodable, or nested too deeply."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise FilterError(
            f"filter expression is too long: {len(expression):,} characters",
            hint=f"the limit is {MAX_EXPRESSION_LENGTH:,}; pass long value lists "
            "as template parameters, e.g. 'id in {ids}'",
        )
    try:
        expression.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise filter_error(
            "filter expression contains a lone surrogate character", expression, exc.start
        ) from exc
    brackets = sum(expression.count(c) for c in _OPENERS)
    if brackets > MAX_NESTING_DEPTH:
        _check_bracket_depth(expression)


def _check_bracket_depth(expression: str) -> None:
    """Scan brackets outside string literals; only run when there are many."""
    depth = 0
    quote = ""
    escaped = False
    for i, char in enumerate(expression):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in _OPENERS:
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                raise nesting_error(expression, i)
        elif char in _CLOSERS:
            depth -= 1


def nesting_error(expression: str, position: int) -> FilterError:
    return filter_error(
        f"filter expression is nested too deeply (more than {MAX_NESTING_DEPTH} levels)",
        expression,
        position,
    )
