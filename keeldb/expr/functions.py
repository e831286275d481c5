"""The filter functions: checking their calls and evaluating them.

    json_contains(x, v)        array_contains(x, v)       x holds an element equal to v
    json_contains_all(x, [..]) array_contains_all(x, [..]) x holds every listed value
    json_contains_any(x, [..]) array_contains_any(x, [..]) x holds at least one of them
    array_length(x)                                        number of elements

``x`` is an ARRAY field or a JSON path / dynamic field (the json_ and array_
spellings are interchangeable, as in Milvus). Names are case-insensitive. For a
JSON value that is not an array the contains functions are false; for a null
or missing one they are unknown, and ``array_length`` is null.
``contains_all`` of an empty list is true, ``contains_any`` of one is false.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from keeldb.errors import did_you_mean
from keeldb.expr import ast
from keeldb.expr.ast import Kind
from keeldb.expr.jsonview import JsonValues, json_equal
from keeldb.expr.numeric import Num
from keeldb.expr.predicates import in_hit
from keeldb.expr.vectors import Lists

if TYPE_CHECKING:
    from keeldb.expr.evaluate import Evaluator
    from keeldb.expr.typecheck import Checker

#: name -> (canonical name, arguments, what the second argument is)
FUNCTIONS = {
    "json_contains": ("contains", 2, "value"),
    "array_contains": ("contains", 2, "value"),
    "json_contains_all": ("contains_all", 2, "list"),
    "array_contains_all": ("contains_all", 2, "list"),
    "json_contains_any": ("contains_any", 2, "list"),
    "array_contains_any": ("contains_any", 2, "list"),
    "array_length": ("array_length", 1, ""),
}


def check_call(
    checker: Checker, node: ast.Call, args: list[tuple[ast.Node, Kind]]
) -> tuple[ast.Node, Kind]:
    spec = FUNCTIONS.get(node.name)
    if spec is None:
        raise checker.error(
            f"unknown function '{node.name}'",
            node,
            hint=did_you_mean(node.name, FUNCTIONS) or "known: " + ", ".join(FUNCTIONS),
        )
    canonical, arity, second = spec
    if len(args) != arity:
        shape = (
            "(field)"
            if arity == 1
            else "(field, value)"
            if second == "value"
            else "(field, [values])"
        )
        raise checker.error(
            f"{node.name} takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}",
            node,
            hint=f"call it as {node.name}{shape}",
        )
    target, kind = args[0]
    if not (isinstance(target, ast.Ref) and kind in (Kind.JSON, Kind.ARRAY)):
        raise checker.error(
            f"{node.name} needs an ARRAY field or a JSON path, "
            f"got {checker.describe(target, kind)}",
            target,
        )
    if arity == 1:
        return ast.Call(node.pos, canonical, (target,)), Kind.INT
    value, _ = args[1]
    if second == "list" and not isinstance(value, ast.ListLit):
        raise checker.error(f"{node.name} needs a list of values, like [1, 2]", value)
    if not isinstance(value, (ast.Literal, ast.ListLit)):
        raise checker.error(f"{node.name} needs a constant value", value)
    items = value.items if second == "list" else (value,)
    for item in items:
        _check_element(checker, node, target, item)
    return ast.Call(node.pos, canonical, (target, value)), Kind.PREDICATE


def _check_element(checker: Checker, node: ast.Call, target: ast.Ref, item: ast.Node) -> None:
    from keeldb.expr.typecheck import dtype_kind, family, literal_kind

    if not isinstance(item, (ast.Literal, ast.ListLit)):
        raise checker.error(f"{node.name} needs constant values", item)
    if target.element_type is None:  # JSON: any constant
        return
    element = dtype_kind(target.element_type)
    if isinstance(item, ast.ListLit) or family(literal_kind(item.value)) != family(element):
        raise checker.error(
            f"{node.name}: {checker.describe(target, Kind.ARRAY)} holds "
            f"{target.element_type.name} values, not {_describe_item(checker, item)}",
            item,
        )


def _describe_item(checker: Checker, item: ast.Node) -> str:
    from keeldb.expr.typecheck import literal_kind

    if isinstance(item, ast.Literal):
        return checker.describe(item, literal_kind(item.value))
    return "a list"


def evaluate_call(evaluator: Evaluator, node: ast.Call) -> Any:
    container = evaluator.value(node.args[0])
    if node.name == "array_length":
        if isinstance(container, Lists):
            return Num(container.lengths(), None, None, container.valid.copy())
        assert isinstance(container, JsonValues)
        return Num(container.lengths(), None, None, container.is_list & container.present)
    value = node.args[1]
    if node.name == "contains":
        items = [_constant(value)]  # a list here is one element: [1, 2] in [[1, 2], 3]
    else:
        assert isinstance(value, ast.ListLit)
        items = [_constant(item) for item in value.items]
    n = evaluator.n
    if isinstance(container, Lists):
        holds_list = container.valid
    else:
        assert isinstance(container, JsonValues)
        holds_list = container.is_list
    if node.name == "contains_all":
        hit = holds_list.copy()
        for item in items:
            hit &= _holds(container, [item], n)
    else:
        hit = _holds(container, items, n) & holds_list
    present = container.valid if isinstance(container, Lists) else container.present
    return hit, present & ~hit


def _constant(node: ast.Node) -> Any:
    if isinstance(node, ast.ListLit):
        return [_constant(item) for item in node.items]
    assert isinstance(node, ast.Literal)
    return node.value


def _holds(container: Lists | JsonValues, items: list, n: int) -> np.ndarray:
    """Rows whose list holds an element equal to one of ``items``."""
    elements, parents = container.flat()
    scalars = [item for item in items if not isinstance(item, list)]
    matched = in_hit(elements, scalars, len(parents))
    nested = [item for item in items if isinstance(item, list)]
    if nested and isinstance(elements, JsonValues):
        matched |= np.fromiter(
            (any(json_equal(e, item) for item in nested) for e in elements.values),
            dtype=bool,
            count=len(parents),
        )
    return np.bincount(parents[matched], minlength=n).astype(bool)
