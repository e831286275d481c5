"""Name resolution, type checking and constant folding.

:func:`check_filter` turns the parser's tree into a resolved one: every ``Ref``
names the table column it reads (``$meta`` for dynamic fields) and carries its
static :class:`Kind`; calls are checked for name, arity and argument types;
constant sub-expressions are folded (``price * (1 - 0.1)``, ``-5``, ``1 < 2``)
with exactly the arithmetic the evaluator uses. Every problem is a
:class:`FilterError` with a caret under the offending token.

Typing rules:
- numbers (INT, FLOAT, and JSON values) compare with numbers, strings with
  strings, booleans with booleans (``==``/``!=`` only); a JSON value compares
  with any scalar, its type is only known per row.
- ``like`` needs a string or JSON operand; ``in`` needs literal lists whose
  values fit the operand; ``and``/``or``/``not`` need conditions, a BOOL field or
  a JSON value.
- vector fields cannot be filtered; an unknown name is a dynamic key when the
  collection has dynamic fields, otherwise an error with a did-you-mean hint.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from keeldb.errors import FilterError, did_you_mean
from keeldb.expr import ast
from keeldb.expr.ast import Kind
from keeldb.expr.functions import check_call
from keeldb.expr.report import filter_error, quote
from keeldb.expr.scalar import fold_arith, fold_compare, fold_neg, int_power_exponent
from keeldb.schema.field import META_COLUMN, FieldSchema
from keeldb.types import DataType

_CONDITION_KINDS = (Kind.PREDICATE, Kind.BOOL, Kind.JSON)


def dtype_kind(dtype: DataType) -> Kind:
    if dtype == DataType.BOOL:
        return Kind.BOOL
    if dtype.is_integer:
        return Kind.INT
    if dtype.is_float:
        return Kind.FLOAT
    if dtype.is_string:
        return Kind.STRING
    if dtype == DataType.JSON:
        return Kind.JSON
    if dtype == DataType.ARRAY:
        return Kind.ARRAY
    raise ValueError(dtype)


def literal_kind(value: object) -> Kind:
    if isinstance(value, bool):
        return Kind.BOOL
    if isinstance(value, int):
        return Kind.INT
    if isinstance(value, float):
        return Kind.FLOAT
    return Kind.STRING


def family(kind: Kind) -> str:
    """Which kinds compare with which: number, string, bool, json or none."""
    if kind.is_numeric:
        return "number"
    return {Kind.STRING: "string", Kind.BOOL: "bool", Kind.JSON: "json"}.get(kind, "none")


class Checker:
    def __init__(self, expression: str, fields: Mapping[str, FieldSchema], dynamic: bool):
        self.expression = expression
        self.fields = fields
        self.dynamic = dynamic

    def error(self, message: str, node: ast.Node | int, hint: str | None = None) -> FilterError:
        position = node if isinstance(node, int) else node.pos
        return filter_error(message, self.expression, position, hint=hint)

    def describe(self, node: ast.Node, kind: Kind) -> str:
        if isinstance(node, ast.Literal):
            name = {Kind.BOOL: "boolean", Kind.INT: "integer", Kind.FLOAT: "number"}
            return f"{name.get(kind, 'string')} {quote(node.value)}"
        if isinstance(node, ast.Ref):
            if node.column == META_COLUMN:
                return f"dynamic field {node.display()}"
            dtype = node.dtype.name if node.dtype is not None else "?"
            if node.path and node.dtype == DataType.ARRAY and node.element_type is not None:
                return f"{node.element_type.name} element {node.display()}"
            return f"{dtype} field '{node.display()}'"
        if isinstance(node, ast.ListLit):
            return "a list"
        if kind == Kind.PREDICATE:
            return "a condition"
        return f"a {kind.value} expression"

    # -- entry --------------------------------------------------------------------
    def check_condition(self, node: ast.Node) -> ast.Node:
        typed, kind = self.infer(node)
        if kind not in _CONDITION_KINDS:
            raise self.error(
                f"expected a condition, got {self.describe(typed, kind)}",
                typed,
                hint="compare it with something, e.g. 'x > 0'",
            )
        return typed

    def infer(self, node: ast.Node) -> tuple[ast.Node, Kind]:
        method = getattr(self, "infer_" + type(node).__name__.lower())
        return method(node)

    # -- leaves -------------------------------------------------------------------
    def infer_literal(self, node: ast.Literal) -> tuple[ast.Node, Kind]:
        return node, literal_kind(node.value)

    def infer_listlit(self, node: ast.ListLit) -> tuple[ast.Node, Kind]:
        items = tuple(self.constant(item) for item in node.items)
        return ast.ListLit(node.pos, items), Kind.LIST

    def constant(self, node: ast.Node) -> ast.Node:
        typed, _ = self.infer(node)
        if not isinstance(typed, (ast.Literal, ast.ListLit)):
            raise self.error("list values must be constants", typed)
        return typed

    def infer_ref(self, node: ast.Ref) -> tuple[ast.Node, Kind]:
        if node.column == META_COLUMN:
            if not self.dynamic:
                raise self.error(
                    "'$meta' is only available when the collection has dynamic fields enabled",
                    node,
                )
            return self.json_ref(node, META_COLUMN, node.path, label=""), Kind.JSON
        field = self.fields.get(node.column)
        if field is None:
            if self.dynamic:
                path = (node.column, *node.path)
                return self.json_ref(node, META_COLUMN, path, label=_label(path)), Kind.JSON
            names = [n for n, f in self.fields.items() if not f.dtype.is_vector]
            raise self.error(
                f"field '{node.column}' does not exist",
                node,
                hint=did_you_mean(node.column, names) or _field_list(names),
            )
        if field.dtype.is_vector:
            raise self.error(
                f"vector field '{field.name}' cannot be used in a filter",
                node,
                hint="filter on scalar fields; vectors are searched, not compared",
            )
        if field.dtype == DataType.JSON:
            return self.json_ref(node, field.name, node.path, label=""), Kind.JSON
        if field.dtype == DataType.ARRAY:
            return self.array_ref(node, field)
        if node.path:
            raise self.error(f"{field.dtype.name} field '{field.name}' cannot be indexed", node)
        kind = dtype_kind(field.dtype)
        return ast.Ref(node.pos, field.name, (), field.dtype, None, kind), kind

    def json_ref(self, node: ast.Ref, column: str, path: tuple, label: str) -> ast.Ref:
        return ast.Ref(node.pos, column, path, DataType.JSON, None, Kind.JSON, label)

    def array_ref(self, node: ast.Ref, field: FieldSchema) -> tuple[ast.Node, Kind]:
        element = field.element_type
        assert element is not None
        if not node.path:
            return ast.Ref(node.pos, field.name, (), field.dtype, element, Kind.ARRAY), Kind.ARRAY
        if len(node.path) > 1 or not isinstance(node.path[0], int):
            raise self.error(
                f"ARRAY field '{field.name}' takes one integer index, like {field.name}[0]",
                node,
            )
        kind = dtype_kind(element)
        return ast.Ref(node.pos, field.name, node.path, field.dtype, element, kind), kind

    # -- logic --------------------------------------------------------------------
    def infer_and(self, node: ast.And) -> tuple[ast.Node, Kind]:
        items = [self.check_condition(item) for item in node.items]
        return _fold_logic(ast.And, node.pos, items, absorbing=False), Kind.PREDICATE

    def infer_or(self, node: ast.Or) -> tuple[ast.Node, Kind]:
        items = [self.check_condition(item) for item in node.items]
        return _fold_logic(ast.Or, node.pos, items, absorbing=True), Kind.PREDICATE

    def infer_not(self, node: ast.Not) -> tuple[ast.Node, Kind]:
        item = self.check_condition(node.item)
        if isinstance(item, ast.Literal):
            return ast.Literal(node.pos, not item.value), Kind.PREDICATE
        return ast.Not(node.pos, item), Kind.PREDICATE

    # -- predicates ---------------------------------------------------------------
    def infer_compare(self, node: ast.Compare) -> tuple[ast.Node, Kind]:
        left, lkind = self.infer(node.left)
        right, rkind = self.infer(node.right)
        self.check_comparable(node, left, lkind, right, rkind)
        if isinstance(left, ast.Literal) and isinstance(right, ast.Literal):
            return ast.Literal(node.pos, fold_compare(node.op, left.value, right.value)), (
                Kind.PREDICATE
            )
        left, right = as_column_type(right, left), as_column_type(left, right)
        return ast.Compare(node.pos, node.op, left, right), Kind.PREDICATE

    def check_comparable(
        self, node: ast.Compare, left: ast.Node, lkind: Kind, right: ast.Node, rkind: Kind
    ) -> None:
        lfam, rfam = family(lkind), family(rkind)
        for side, kind, fam in ((left, lkind, lfam), (right, rkind, rfam)):
            if fam == "none":
                hint = "use array_contains / array_length" if kind == Kind.ARRAY else None
                raise self.error(f"cannot compare {self.describe(side, kind)}", side, hint=hint)
        if lfam != rfam and "json" not in (lfam, rfam):
            culprit = (
                left if isinstance(right, ast.Ref) and not isinstance(left, ast.Ref) else right
            )
            raise self.error(
                f"cannot compare {self.describe(left, lkind)} with {self.describe(right, rkind)}",
                culprit,
            )
        if "bool" in (lfam, rfam) and node.op not in ("==", "!="):
            raise self.error(f"booleans can only be compared with == and !=, not {node.op}", node)

    def infer_inlist(self, node: ast.InList) -> tuple[ast.Node, Kind]:
        operand, kind = self.infer(node.operand)
        fam = family(kind)
        word = "not in" if node.negated else "in"
        if fam == "none":
            raise self.error(f"'{word}' cannot test {self.describe(operand, kind)}", operand)
        items = tuple(self.constant(item) for item in node.items)
        for item in items:
            if isinstance(item, ast.ListLit):
                raise self.error(f"'{word}' lists hold scalar values, not lists", item)
            ifam = family(literal_kind(item.value))
            if fam != "json" and ifam != fam:
                raise self.error(
                    f"cannot compare {self.describe(operand, kind)} with "
                    f"{self.describe(item, literal_kind(item.value))}",
                    item,
                )
        items = tuple(as_column_type(operand, item) for item in items)
        return ast.InList(node.pos, operand, items, node.negated), Kind.PREDICATE

    def infer_like(self, node: ast.Like) -> tuple[ast.Node, Kind]:
        operand, kind = self.infer(node.operand)
        if kind not in (Kind.STRING, Kind.JSON):
            raise self.error(
                f"'like' needs a VARCHAR or JSON operand, got {self.describe(operand, kind)}",
                operand,
            )
        return ast.Like(node.pos, operand, node.pattern), Kind.PREDICATE

    def infer_isnull(self, node: ast.IsNull) -> tuple[ast.Node, Kind]:
        operand, kind = self.infer(node.operand)
        if not isinstance(operand, ast.Ref):
            raise self.error("'is null' applies to fields and JSON paths only", operand)
        return ast.IsNull(node.pos, operand, node.negated), Kind.PREDICATE

    def infer_exists(self, node: ast.Exists) -> tuple[ast.Node, Kind]:
        operand, kind = self.infer(node.operand)
        if not (isinstance(operand, ast.Ref) and kind == Kind.JSON):
            raise self.error(
                "'exists' applies to JSON paths and dynamic fields only, "
                f"not {self.describe(operand, kind)}",
                operand,
            )
        return ast.Exists(node.pos, operand), Kind.PREDICATE

    def infer_call(self, node: ast.Call) -> tuple[ast.Node, Kind]:
        args = [self.infer(arg) for arg in node.args]
        return check_call(self, node, args)

    # -- arithmetic ---------------------------------------------------------------
    def numeric(self, node: ast.Node, op: str) -> tuple[ast.Node, Kind]:
        typed, kind = self.infer(node)
        if not (kind.is_numeric or kind == Kind.JSON):
            raise self.error(f"'{op}' needs numbers, got {self.describe(typed, kind)}", typed)
        return typed, (Kind.NUMBER if kind == Kind.JSON else kind)

    def infer_neg(self, node: ast.Neg) -> tuple[ast.Node, Kind]:
        operand, kind = self.numeric(node.operand, "-")
        if isinstance(operand, ast.Literal):
            return ast.Literal(node.pos, fold_neg(operand.value)), kind
        return ast.Neg(node.pos, operand), kind

    def infer_arith(self, node: ast.Arith) -> tuple[ast.Node, Kind]:
        left, lkind = self.numeric(node.left, node.op)
        right, rkind = self.numeric(node.right, node.op)
        if node.op in ("/", "%") and isinstance(right, ast.Literal) and right.value == 0:
            raise self.error("division by zero", right)
        if isinstance(left, ast.Literal) and isinstance(right, ast.Literal):
            try:
                value = fold_arith(node.op, left.value, right.value)
            except OverflowError as exc:
                raise self.error(str(exc), node) from exc
            return ast.Literal(node.pos, value), literal_kind(value)
        return ast.Arith(node.pos, node.op, left, right), arith_kind(node.op, lkind, rkind, right)


def as_column_type(column: ast.Node, literal: ast.Node) -> ast.Node:
    """A number compared with a FLOAT / DOUBLE column (or element), in that column's type.

    Milvus converts the literal first: ``f32 == 0.1`` matches the FLOAT value 0.1 a
    user stored (float32(0.1) != 0.1 as doubles), ``f64 == 9007199254740993`` matches
    9007199254740992.0. Integers too wide for a double stay exact; JSON values and
    integer columns are compared exactly.
    """
    if not (isinstance(column, ast.Ref) and isinstance(literal, ast.Literal)):
        return literal
    dtype = column.element_type if column.dtype == DataType.ARRAY else column.dtype
    value = literal.value
    if dtype not in (DataType.FLOAT, DataType.DOUBLE) or isinstance(value, (bool, str)):
        return literal
    try:
        as_float = float(value)
    except OverflowError:
        return literal
    if dtype == DataType.FLOAT:
        with np.errstate(over="ignore"):
            as_float = float(np.float32(as_float))
    return ast.Literal(literal.pos, as_float)


def arith_kind(op: str, lkind: Kind, rkind: Kind, right: ast.Node) -> Kind:
    """The kind of ``left op right``; the evaluator follows the same rules."""
    if op == "**" and int_power_exponent(right) is None:
        return Kind.FLOAT
    if Kind.FLOAT in (lkind, rkind):
        return Kind.FLOAT
    if Kind.NUMBER in (lkind, rkind):
        return Kind.NUMBER
    return Kind.INT


def _fold_logic(cls: type, pos: int, items: list[ast.Node], absorbing: bool) -> ast.Node:
    """Drop neutral constants; a constant equal to ``absorbing`` decides it all."""
    kept: list[ast.Node] = []
    for item in items:
        if isinstance(item, cls):  # a and (b and c) -> and(a, b, c)
            kept.extend(item.items)  # type: ignore[attr-defined]
            continue
        if isinstance(item, ast.Literal):
            if bool(item.value) == absorbing:
                return ast.Literal(pos, absorbing)
            continue
        kept.append(item)
    if not kept:
        return ast.Literal(pos, not absorbing)
    if len(kept) == 1:
        return kept[0]
    return cls(pos, tuple(kept))


def _label(path: tuple) -> str:
    head, rest = path[0], path[1:]
    return head + "".join(f'["{p}"]' if isinstance(p, str) else f"[{p}]" for p in rest)


def _field_list(names: list[str]) -> str | None:
    if not names:
        return None
    shown = ", ".join(sorted(names)[:10])
    return f"fields: {shown}" + (", ..." if len(names) > 10 else "")


def check_filter(
    node: ast.Node, expression: str, fields: Mapping[str, FieldSchema], dynamic: bool
) -> ast.Node:
    """Resolve and type-check a parsed filter; the result is a condition."""
    return Checker(expression, fields, dynamic).check_condition(node)
