"""Vectorised evaluation of a checked filter over one Arrow table.

Conditions evaluate to two masks, ``(true, false)``; a row in neither is
*unknown* (a null took part). This is SQL's three-valued logic: ``not`` swaps
the masks, ``and`` is true where all are true and false where any is false,
``or`` the other way round; a row matches only where the final ``true`` mask
is set, so ``not`` of an unknown comparison still does not match.

Values evaluate to the vectors of :mod:`vectors` (or stay Python scalars for
literals). Every column is read and converted at most once per table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from keeldb.errors import FilterError
from keeldb.expr import ast
from keeldb.expr.functions import evaluate_call
from keeldb.expr.jsonview import JsonValues, extract_path, parse_json_column
from keeldb.expr.numeric import Num, arith, negate
from keeldb.expr.predicates import compare_same, in_hit, match_like, presence, view
from keeldb.expr.scalar import int_power_exponent
from keeldb.expr.vectors import Bools, Lists, Strs, scalar_vector, validity
from keeldb.types import DataType

Tri = tuple[np.ndarray, np.ndarray]
Value = Any  # Num | Strs | Bools | Lists | JsonValues | bool | int | float | str


#: ``(column, path) -> JsonValues | None``: values of a JSON path kept elsewhere
#: (the engine's parse cache of immutable segments); None means "parse it here"
JsonSource = Callable[[str, tuple], "JsonValues | None"]


class Evaluator:
    def __init__(self, table: pa.Table, json_source: JsonSource | None = None) -> None:
        self.table = table
        self.n = table.num_rows
        self._columns: dict[str, Any] = {}
        self._paths: dict[tuple, JsonValues] = {}
        self._json_source = json_source

    # -- conditions ---------------------------------------------------------------
    def condition(self, node: ast.Node) -> Tri:
        if isinstance(node, ast.And):
            parts = [self.condition(item) for item in node.items]
            return _all([p[0] for p in parts]), _any([p[1] for p in parts])
        if isinstance(node, ast.Or):
            parts = [self.condition(item) for item in node.items]
            return _any([p[0] for p in parts]), _all([p[1] for p in parts])
        if isinstance(node, ast.Not):
            true, false = self.condition(node.item)
            return false, true
        if isinstance(node, ast.Literal):
            full = np.full(self.n, bool(node.value))
            return full, ~full
        if isinstance(node, ast.Compare):
            return self.compare(node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, ast.InList):
            return self.in_list(node)
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.IsNull):
            value = self.value(node.operand)
            # Milvus: `json["k"] is null` means `not exists json["k"]` (a key holding
            # JSON null is not null), and a JSON field is null only where the row is
            present = value.exists if isinstance(value, JsonValues) else presence(value, self.n)
            return (present, ~present) if node.negated else (~present, present)
        if isinstance(node, ast.Exists):
            exists = self.value(node.operand).exists
            return exists, ~exists
        if isinstance(node, ast.Call):
            return evaluate_call(self, node)
        return self.truthiness(self.value(node))

    def truthiness(self, value: Value) -> Tri:
        """A BOOL field or a JSON value used as a condition."""
        if isinstance(value, JsonValues):
            bools = value.booleans
            true = bools.valid & bools.vals
            return true, value.present & ~true
        assert isinstance(value, Bools)
        return value.valid & value.vals, value.valid & ~value.vals

    def compare(self, op: str, left: Value, right: Value) -> Tri:
        if isinstance(left, JsonValues) or isinstance(right, JsonValues):
            return self.compare_dynamic(op, left, right)
        hit = compare_same(op, left, right, self.n)
        known = presence(left, self.n) & presence(right, self.n)
        return hit & known, ~hit & known

    def compare_dynamic(self, op: str, left: Value, right: Value) -> Tri:
        present = presence(left, self.n) & presence(right, self.n)
        matched = np.zeros(self.n, dtype=bool)
        true = np.zeros(self.n, dtype=bool)
        for family in ("number", "string", "bool"):
            a, b = view(left, family), view(right, family)
            if a is None or b is None:
                continue
            both = presence(a, self.n) & presence(b, self.n)
            true |= compare_same(op, a, b, self.n) & both
            matched |= both
        if op == "!=":
            true |= present & ~matched
        return true, present & ~true

    def in_list(self, node: ast.InList) -> Tri:
        value = self.value(node.operand)
        items = [item.value for item in node.items if isinstance(item, ast.Literal)]
        hit = in_hit(value, items, self.n)
        present = presence(value, self.n)
        if node.negated:
            return present & ~hit, hit
        return hit, present & ~hit

    def like(self, node: ast.Like) -> Tri:
        value = self.value(node.operand)
        strings = view(value, "string")
        assert isinstance(strings, Strs)
        hit = match_like(strings.arr, node.pattern) & strings.valid
        return hit, presence(value, self.n) & ~hit

    # -- values -------------------------------------------------------------------
    def value(self, node: ast.Node) -> Value:
        if isinstance(node, ast.Literal):
            return node.value
        if isinstance(node, ast.Ref):
            return self.ref(node)
        if isinstance(node, ast.Arith):
            left, right = self.number(node.left), self.number(node.right)
            return arith(node.op, left, right, int_power_exponent(node.right))
        if isinstance(node, ast.Neg):
            return negate(self.number(node.operand))
        if isinstance(node, ast.Call):
            return evaluate_call(self, node)
        raise FilterError(f"internal error: cannot evaluate {type(node).__name__}")

    def number(self, node: ast.Node) -> Num:
        value = self.value(node)
        if isinstance(value, (int, float)):
            return Num.constant(value, self.n)
        if isinstance(value, JsonValues):
            return value.numbers
        assert isinstance(value, Num)
        return value

    def ref(self, node: ast.Ref) -> Value:
        assert node.dtype is not None
        if node.dtype == DataType.JSON:
            return self.json_path(node.column, node.path)
        column = self.column(node)
        if isinstance(column, Lists) and node.path:
            position = node.path[0]
            assert isinstance(position, int)
            return column.element(position)
        return column

    def column(self, node: ast.Ref) -> Value:
        if node.column not in self._columns:
            arr = self.arrow_column(node.column)
            assert node.dtype is not None
            if node.dtype == DataType.ARRAY:
                assert node.element_type is not None
                converted: Value = Lists(arr, validity(arr), node.element_type)
            else:
                converted = scalar_vector(arr, node.dtype)
            self._columns[node.column] = converted
        return self._columns[node.column]

    def json_path(self, column: str, path: tuple) -> JsonValues:
        key = (column, path)
        if key not in self._paths and self._json_source is not None:
            cached = self._json_source(column, path)
            if cached is not None:
                self._paths[key] = cached
        if key not in self._paths:
            docs_key = (column, ())
            if docs_key not in self._paths:
                docs = parse_json_column(self.arrow_column(column))
                self._paths[docs_key] = JsonValues(docs)
            docs = self._paths[docs_key].values
            self._paths[key] = JsonValues(extract_path(docs, path))
        return self._paths[key]

    def arrow_column(self, name: str) -> pa.Array:
        if name not in self.table.column_names:
            raise FilterError(
                f"the filter reads column '{name}', which the table does not have",
                hint=f"columns: {', '.join(self.table.column_names)}",
            )
        column = self.table.column(name)
        if column.num_chunks == 1:
            return column.chunk(0)
        return column.combine_chunks()


def _all(masks: list[np.ndarray]) -> np.ndarray:
    out = masks[0].copy()
    for mask in masks[1:]:
        out &= mask
    return out


def _any(masks: list[np.ndarray]) -> np.ndarray:
    out = masks[0].copy()
    for mask in masks[1:]:
        out |= mask
    return out
