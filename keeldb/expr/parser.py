"""Text → syntax tree: lark parsing, literal decoding, template parameters.

:func:`parse_expression` is the only way in. It checks the limits first, runs
the LALR parser, measures the depth of lark's tree without recursion, and only
then converts it (recursively, now known to be shallow) to :mod:`ast` nodes.
Every lark error leaves as a :class:`FilterError` with a caret.

Literals:
- integers: decimal, ``0x1F``, ``0b101``, ``0o17``; a leading zero means octal
  (``017`` is 15), as in Milvus; unbounded size up to ``MAX_INT_DIGITS`` digits.
- floats: ``1.5``, ``.5``, ``1.``, ``1e-3``; out of double range is an error.
- strings: single or double quotes; escapes ``\\n \\t \\r \\b \\f \\v \\0 \\\\ \\'
  \\" \\/ \\xHH \\uXXXX \\UXXXXXXXX`` (a surrogate pair of ``\\u`` escapes makes one
  character); any other backslash is kept, so ``like "50\\%"`` reaches the
  pattern as ``50\\%``.
- ``{name}`` is replaced by ``params[name]``: a bool, int, float, str, or a
  list / tuple / numpy array of them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import lark

from keeldb.errors import FilterError, did_you_mean
from keeldb.expr import ast
from keeldb.expr.grammar import TERMINAL_NAMES, get_parser
from keeldb.expr.limits import (
    MAX_INT_DIGITS,
    MAX_LIST_LENGTH,
    MAX_NESTING_DEPTH,
    check_text,
    nesting_error,
)
from keeldb.expr.report import filter_error

_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)", re.S)
_SIMPLE_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0",
    "\\": "\\", "'": "'", '"': '"', "/": "/",
}  # fmt: skip
_COMPARE_DIRECTION = {"<": 1, "<=": 1, ">": -1, ">=": -1}


def parse_expression(expression: str, params: Mapping[str, Any] | None = None) -> ast.Node:
    """Parse ``expression`` into an untyped syntax tree, substituting ``params``."""
    check_text(expression)
    try:
        tree = get_parser().parse(expression)
    except lark.exceptions.UnexpectedInput as exc:
        raise _syntax_error(expression, exc) from exc
    except lark.exceptions.LarkError as exc:  # pragma: no cover - defensive
        raise FilterError(f"cannot parse filter expression: {exc}") from exc
    _check_tree_depth(expression, tree)
    node = _Builder(expression, params or {}).build(tree)
    _check_ast_depth(expression, node)
    return node


def _syntax_error(expression: str, exc: lark.exceptions.UnexpectedInput) -> FilterError:
    position = getattr(exc, "pos_in_stream", None)
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        char = expression[exc.pos_in_stream]
        if char in "'\"":
            return filter_error("unterminated string literal", expression, position)
        return filter_error(f"unexpected character {char!r}", expression, position)
    if isinstance(exc, lark.exceptions.UnexpectedToken):
        token = exc.token
        hint = _expected_hint(set(exc.expected))
        if token.type == "$END":
            return filter_error(
                "unexpected end of expression", expression, len(expression), hint=hint
            )
        position = token.start_pos
        return filter_error(f"unexpected {token.value!r}", expression, position, hint=hint)
    return filter_error("cannot parse filter expression", expression, position)


def _expected_hint(expected: set[str]) -> str:
    if {"NAME", "INT", "STRING"} <= expected:
        return "expected a field, a value, a function call or '('"
    names = sorted({TERMINAL_NAMES.get(t, t) for t in expected})
    return "expected " + ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")


def _check_tree_depth(expression: str, tree: lark.Tree) -> None:
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING_DEPTH:
            raise nesting_error(expression, _pos(node))
        if isinstance(node, lark.Tree):
            stack.extend((child, depth + 1) for child in node.children)


def _check_ast_depth(expression: str, node: ast.Node) -> None:
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_NESTING_DEPTH:
            raise nesting_error(expression, current.pos)
        stack.extend((child, depth + 1) for child in ast.children(current))


def _pos(item: Any) -> int:
    if isinstance(item, lark.Token):
        return item.start_pos or 0
    meta = item.meta
    return meta.start_pos if not meta.empty else 0


class _Builder:
    """Converts lark's tree to :mod:`ast` nodes, one method per grammar rule."""

    def __init__(self, expression: str, params: Mapping[str, Any]) -> None:
        self.expression = expression
        self.params = params

    def error(self, message: str, position: int, hint: str | None = None) -> FilterError:
        return filter_error(message, self.expression, position, hint=hint)

    def build(self, item: Any) -> ast.Node:
        method = getattr(self, "rule_" + str(item.data), None)
        if method is None:  # pragma: no cover - grammar and builder out of step
            raise FilterError(f"internal error: no builder for rule {item.data!r}")
        return method(item, item.children)

    # -- logic ------------------------------------------------------------------
    def rule_or_expr(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.Or(_pos(tree), tuple(self.build(k) for k in kids))

    def rule_and_expr(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.And(_pos(tree), tuple(self.build(k) for k in kids))

    def rule_not_op(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.Not(_pos(kids[0]), self.build(kids[1]))

    # -- predicates ---------------------------------------------------------------
    def rule_compare(self, tree: lark.Tree, kids: list) -> ast.Node:
        left, op, right = kids
        return ast.Compare(_pos(op), str(op), self.build(left), self.build(right))

    def rule_chain(self, tree: lark.Tree, kids: list) -> ast.Node:
        low, op1, middle, op2, high = kids
        if _COMPARE_DIRECTION.get(str(op1), 0) * _COMPARE_DIRECTION.get(str(op2), 0) != 1:
            raise self.error(
                f"cannot chain {op1!s} and {op2!s}",
                _pos(op2),
                hint="only ranges chain, both ways up ('1 < x <= 5') or down ('5 > x >= 1')",
            )
        mid = self.build(middle)
        return ast.And(
            _pos(op1),
            (
                ast.Compare(_pos(op1), str(op1), self.build(low), mid),
                ast.Compare(_pos(op2), str(op2), mid, self.build(high)),
            ),
        )

    def rule_in_op(self, tree: lark.Tree, kids: list, negated: bool = False) -> ast.Node:
        operand, op, values = kids[0], kids[1], kids[-1]
        items = self.build(values)
        if not isinstance(items, ast.ListLit):
            word = "not in" if negated else "in"
            raise self.error(f"expected a list after '{word}'", _pos(values))
        return ast.InList(_pos(op), self.build(operand), items.items, negated)

    def rule_not_in_op(self, tree: lark.Tree, kids: list) -> ast.Node:
        return self.rule_in_op(tree, kids, negated=True)

    def rule_like_op(self, tree: lark.Tree, kids: list) -> ast.Node:
        operand, op, pattern = kids
        node = self.build(pattern)
        if not (isinstance(node, ast.Literal) and isinstance(node.value, str)):
            raise self.error("'like' needs a string pattern", _pos(pattern))
        return ast.Like(_pos(op), self.build(operand), node.value)

    def rule_is_null(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.IsNull(_pos(kids[1]), self.build(kids[0]), negated=False)

    def rule_is_not_null(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.IsNull(_pos(kids[1]), self.build(kids[0]), negated=True)

    def rule_exists_op(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.Exists(_pos(kids[0]), self.build(kids[1]))

    # -- arithmetic ---------------------------------------------------------------
    def rule_sum(self, tree: lark.Tree, kids: list) -> ast.Node:
        node = self.build(kids[0])
        for op, operand in zip(kids[1::2], kids[2::2], strict=False):
            node = ast.Arith(_pos(op), str(op), node, self.build(operand))
        return node

    rule_product = rule_sum

    def rule_power(self, tree: lark.Tree, kids: list) -> ast.Node:
        base, op, exponent = kids
        return ast.Arith(_pos(op), "**", self.build(base), self.build(exponent))

    def rule_unary_op(self, tree: lark.Tree, kids: list) -> ast.Node:
        op, operand = kids
        node = self.build(operand)
        return ast.Neg(_pos(op), node) if str(op) == "-" else node

    # -- atoms --------------------------------------------------------------------
    def rule_int_lit(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.Literal(_pos(kids[0]), self.parse_int(kids[0]))

    def rule_float_lit(self, tree: lark.Tree, kids: list) -> ast.Node:
        token = kids[0]
        value = float(str(token))
        if not math.isfinite(value):
            raise self.error(f"float literal {token!s} is out of range", _pos(token))
        return ast.Literal(_pos(token), value)

    def rule_str_lit(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.Literal(_pos(kids[0]), self.parse_string(kids[0]))

    def rule_true_lit(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.Literal(_pos(kids[0]), True)

    def rule_false_lit(self, tree: lark.Tree, kids: list) -> ast.Node:
        return ast.Literal(_pos(kids[0]), False)

    def rule_list_lit(self, tree: lark.Tree, kids: list) -> ast.Node:
        if len(kids) - 1 > MAX_LIST_LENGTH:
            raise self.error(f"list has more than {MAX_LIST_LENGTH:,} values", _pos(kids[0]))
        return ast.ListLit(_pos(kids[0]), tuple(self.build(k) for k in kids[1:]))

    def rule_call(self, tree: lark.Tree, kids: list) -> ast.Node:
        name = kids[0]
        return ast.Call(_pos(name), str(name).lower(), tuple(self.build(k) for k in kids[1:]))

    def rule_ref(self, tree: lark.Tree, kids: list) -> ast.Node:
        head = kids[0]
        path: list[str | int] = []
        for sub in kids[1:]:
            token = sub.children[1]
            if token.type == "STRING":
                path.append(self.parse_string(token))
            else:
                path.append(self.parse_int(token))
        return ast.Ref(_pos(head), str(head), tuple(path))

    def rule_template(self, tree: lark.Tree, kids: list) -> ast.Node:
        token = kids[0]
        name = str(token)[1:-1].strip()
        if name not in self.params:
            known = sorted(str(k) for k in self.params)
            hint = did_you_mean(name, known) or (
                f"pass params={{'{name}': ...}}" if not known else f"given: {', '.join(known)}"
            )
            raise self.error(f"template parameter '{name}' has no value", _pos(token), hint=hint)
        return self.param_node(name, self.params[name], _pos(token), depth=0)

    # -- literal decoding ---------------------------------------------------------
    def parse_int(self, token: lark.Token) -> int:
        text = str(token)
        if len(text) > MAX_INT_DIGITS:
            raise self.error(
                f"integer literal is too long ({len(text)} digits)",
                _pos(token),
                hint=f"the limit is {MAX_INT_DIGITS} digits",
            )
        prefix = text[:2].lower()
        if prefix in ("0x", "0b", "0o"):
            return int(text[2:], {"0x": 16, "0b": 2, "0o": 8}[prefix])
        if len(text) > 1 and text[0] == "0":
            if not set(text) <= set("01234567"):
                raise self.error(
                    f"invalid octal literal {text}",
                    _pos(token),
                    hint="a leading 0 means octal, as in Milvus; drop it for decimal",
                )
            return int(text, 8)
        return int(text)

    def parse_string(self, token: lark.Token) -> str:
        body = str(token)[1:-1]
        if "\\" not in body:
            return body
        position = _pos(token)

        def replace(match: re.Match[str]) -> str:
            code = match.group(1)
            if code[0] in "uUx" and len(code) > 1:
                return chr(int(code[1:], 16)) if int(code[1:], 16) <= 0x10FFFF else "\ufffd"
            return _SIMPLE_ESCAPES.get(code, "\\" + code)

        text = _ESCAPE_RE.sub(replace, body)
        text = _join_surrogates(text)
        for offset, char in enumerate(text):
            if "\ud800" <= char <= "\udfff":
                raise self.error(
                    "string literal has an unpaired surrogate escape", position + offset + 1
                )
        return text

    def param_node(self, name: str, value: Any, position: int, depth: int) -> ast.Node:
        if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
            value = value.tolist()  # numpy scalars and arrays
        if isinstance(value, (bool, int, str)):
            if isinstance(value, str):
                _check_param_string(self, name, value, position)
            return ast.Literal(position, value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(f"template parameter '{name}' is {value}", position)
            return ast.Literal(position, value)
        if isinstance(value, (list, tuple)) and depth < 2:
            if len(value) > MAX_LIST_LENGTH:
                raise self.error(
                    f"template parameter '{name}' has {len(value):,} values",
                    position,
                    hint=f"the limit is {MAX_LIST_LENGTH:,}",
                )
            items = tuple(self.param_node(name, v, position, depth + 1) for v in value)
            return ast.ListLit(position, items)
        raise self.error(
            f"template parameter '{name}' has unsupported type {type(value).__name__}",
            position,
            hint="use a bool, int, float, str or a list of them",
        )


def _check_param_string(builder: _Builder, name: str, value: str, position: int) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise builder.error(
            f"template parameter '{name}' contains a lone surrogate", position
        ) from exc


def _join_surrogates(text: str) -> str:
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
