"""``compile_filter``: text → checked tree → :class:`CompiledFilter`.

A CompiledFilter is immutable and safe to share between threads; it holds the
resolved tree and answers what the engine asks before and during a scan: which
columns to read (``columns``), whether the filter is just a primary-key lookup
(``primary_key_values``), whether a segment can be skipped from its min/max
statistics (``may_match``), the row mask of one table (``evaluate``) and a
readable plan (``explain``).

Any failure leaves as :class:`FilterError`; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from keeldb.errors import FilterError
from keeldb.expr import ast
from keeldb.expr.evaluate import Evaluator, JsonSource
from keeldb.expr.explain import render
from keeldb.expr.parser import parse_expression
from keeldb.expr.pruning import may_match
from keeldb.expr.typecheck import check_filter
from keeldb.schema.field import FieldSchema
from keeldb.types import INTEGER_RANGES, DataType


class CompiledFilter:
    """A parsed, type-checked filter, ready to evaluate over Arrow tables."""

    def __init__(self, expression: str, root: ast.Node) -> None:
        self.expression = expression
        self.root = root
        self.columns: frozenset[str] = frozenset(
            node.column for node in ast.walk(root) if isinstance(node, ast.Ref)
        )

    def evaluate(self, table: pa.Table, json_source: JsonSource | None = None) -> np.ndarray:
        """One bool per row of ``table``: True where the row matches."""
        true, _ = self.evaluate_node(self.root, table, json_source)
        return true

    def evaluate_node(
        self, node: ast.Node, table: pa.Table, json_source: JsonSource | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Masks (true, false) of one condition of this filter's tree over ``table``.

        Rows in neither mask are unknown (a null took part). ``json_source``
        may supply the values of JSON paths (a parse cache); see :mod:`evaluate`.
        """
        try:
            true, false = Evaluator(table, json_source).condition(node)
        except FilterError:
            raise
        except Exception as exc:  # an engine/table mismatch, not a user error
            raise FilterError(
                f"cannot evaluate filter {self.expression!r}: {type(exc).__name__}: {exc}"
            ) from exc
        return np.ascontiguousarray(true, dtype=bool), np.ascontiguousarray(false, dtype=bool)

    def primary_key_values(self, pk_name: str) -> list | None:
        """The keys when the filter is only ``pk == v`` / ``pk in [...]`` OR-ed."""
        values: list = []
        stack = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Or):
                stack.extend(reversed(node.items))
                continue
            keys = _pk_keys(node, pk_name)
            if keys is None:
                return None
            values.extend(keys)
        return list(dict.fromkeys(values))

    def may_match(self, stats: Mapping[str, tuple[Any, Any]]) -> bool:
        """False only if no row of a segment with these min/max can match."""
        try:
            return may_match(self.root, stats)
        except Exception:  # statistics of an unexpected shape: stay conservative
            return True

    def explain(self) -> str:
        return f"filter: {self.expression.strip()}\n" + render(self.root)

    def __repr__(self) -> str:
        return f"CompiledFilter({self.expression!r})"


def _pk_keys(node: ast.Node, pk_name: str) -> list | None:
    if isinstance(node, ast.Compare) and node.op == "==":
        for ref, other in ((node.left, node.right), (node.right, node.left)):
            if _is_pk(ref, pk_name) and isinstance(other, ast.Literal):
                return _coerce_keys(ref, [other.value])
        return None
    if isinstance(node, ast.InList) and not node.negated and _is_pk(node.operand, pk_name):
        values = [item.value for item in node.items if isinstance(item, ast.Literal)]
        return _coerce_keys(node.operand, values)
    if isinstance(node, ast.Literal) and node.value is False:
        return []
    return None


def _is_pk(node: ast.Node, pk_name: str) -> bool:
    return isinstance(node, ast.Ref) and node.column == pk_name and not node.path


def _coerce_keys(ref: ast.Node, values: list) -> list:
    """Keys a row of the pk column could equal (``pk == 2.0`` → 2; ``2.5`` → none)."""
    assert isinstance(ref, ast.Ref)
    if ref.dtype is None or not ref.dtype.is_integer:
        return [v for v in values if isinstance(v, str)]
    low, high = INTEGER_RANGES.get(ref.dtype, INTEGER_RANGES[DataType.INT64])
    keys = []
    for value in values:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            keys.append(value)
    return keys


def compile_filter(
    expression: str,
    fields: Mapping[str, FieldSchema],
    *,
    dynamic: bool,
    params: Mapping[str, Any] | None = None,
) -> CompiledFilter | None:
    """Parse and check ``expression`` against ``fields``; None for an empty filter."""
    if not isinstance(expression, str):
        raise FilterError(f"a filter expression must be a string, not {type(expression).__name__}")
    if not expression.strip():
        return None
    if params is not None and not isinstance(params, Mapping):
        raise FilterError(f"filter params must be a mapping, not {type(params).__name__}")
    try:
        tree = parse_expression(expression, params)
        root = check_filter(tree, expression, fields, dynamic)
    except FilterError:
        raise
    except RecursionError as exc:  # pragma: no cover - limits should prevent it
        raise FilterError("filter expression is nested too deeply") from exc
    except Exception as exc:  # pragma: no cover - a bug; keep the promise of FilterError
        raise FilterError(f"cannot compile filter: {type(exc).__name__}: {exc}") from exc
    return CompiledFilter(expression, root)
