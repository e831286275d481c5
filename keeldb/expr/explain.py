"""A readable, indented rendering of a checked filter tree."""

from __future__ import annotations

from keeldb.expr import ast
from keeldb.expr.report import quote

_SHOWN_VALUES = 5


def render(node: ast.Node, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(node, (ast.And, ast.Or)):
        word = "AND" if isinstance(node, ast.And) else "OR"
        lines = [pad + word] + [render(item, indent + 1) for item in node.items]
        return "\n".join(lines)
    if isinstance(node, ast.Not):
        return pad + "NOT\n" + render(node.item, indent + 1)
    return pad + inline(node)


def inline(node: ast.Node) -> str:
    if isinstance(node, ast.Literal):
        return quote(node.value)
    if isinstance(node, ast.Ref):
        return _ref(node)
    if isinstance(node, ast.Compare):
        return f"{inline(node.left)} {node.op} {inline(node.right)}"
    if isinstance(node, ast.Arith):
        return f"({inline(node.left)} {node.op} {inline(node.right)})"
    if isinstance(node, ast.Neg):
        return f"-{inline(node.operand)}"
    if isinstance(node, ast.InList):
        word = "not in" if node.negated else "in"
        return f"{inline(node.operand)} {word} {_values(node.items)}"
    if isinstance(node, ast.Like):
        return f"{inline(node.operand)} like {quote(node.pattern)}"
    if isinstance(node, ast.IsNull):
        return f"{inline(node.operand)} is {'not ' if node.negated else ''}null"
    if isinstance(node, ast.Exists):
        return f"exists {inline(node.operand)}"
    if isinstance(node, ast.Call):
        return f"{node.name}({', '.join(inline(arg) for arg in node.args)})"
    if isinstance(node, ast.ListLit):
        return _values(node.items)
    if isinstance(node, (ast.And, ast.Or, ast.Not)):
        return "(" + " ".join(render(node).split()) + ")"
    return type(node).__name__


def _ref(node: ast.Ref) -> str:
    kind = f": {node.dtype.name}" if node.dtype is not None else ""
    if node.label:
        return f"{node.label} ($meta{kind})"
    if node.element_type is not None and node.path:
        return f"{node.display()} ({node.element_type.name} element)"
    return f"{node.display()} ({kind[2:]})" if kind else node.display()


def _values(items: tuple[ast.Node, ...]) -> str:
    shown = ", ".join(inline(item) for item in items[:_SHOWN_VALUES])
    if len(items) > _SHOWN_VALUES:
        return f"[{shown}, ... ({len(items)} values)]"
    return f"[{shown}]"
