"""Frozen syntax-tree nodes of a filter expression.

The parser builds these from lark's tree; the type checker returns a new tree of
the same node classes in which every name is resolved (``Ref.column`` set, JSON
and dynamic-field paths spelled out), calls are checked, and constants folded.
``pos`` is the 0-based character offset of the token a problem is reported
under (the operator of a comparison, the name of a reference...).

Literal values are Python ``bool``, ``int`` (unbounded), ``float`` or ``str``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from keeldb.types import DataType


class Kind(enum.Enum):
    """The static type of an expression, as the type checker sees it."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    NUMBER = "number"  # int or float, known only per row (arithmetic on JSON)
    STRING = "string"
    JSON = "json"  # any JSON value, known only per row
    ARRAY = "array"  # an ARRAY field as a whole
    LIST = "list"  # a literal list
    PREDICATE = "predicate"  # true / false / unknown per row

    @property
    def is_numeric(self) -> bool:
        return self in (Kind.INT, Kind.FLOAT, Kind.NUMBER)


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Literal(Node):
    value: bool | int | float | str


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Ref(Node):
    """A column, optionally followed by a path into it.

    Before type checking ``column`` is the name as written (``"$meta"`` for the
    ``$meta`` keyword). After, ``column`` is the table column read, ``dtype`` the
    field's type (``JSON`` for ``$meta``) and ``path`` the keys / indexes into it.
    """

    column: str
    path: tuple[str | int, ...] = ()
    dtype: DataType | None = None
    element_type: DataType | None = None
    kind: Kind | None = None
    label: str = ""

    def display(self) -> str:
        if self.label:
            return self.label
        parts = [self.column]
        parts += [f'["{p}"]' if isinstance(p, str) else f"[{p}]" for p in self.path]
        return "".join(parts)


@dataclass(frozen=True)
class Call(Node):
    name: str  # lower case
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare(Node):
    op: str  # == != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Node, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like(Node):
    operand: Node
    pattern: str


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool = False


@dataclass(frozen=True)
class Exists(Node):
    operand: Node


@dataclass(frozen=True)
class And(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    item: Node


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * / % **
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``, in source order."""
    if isinstance(node, (And, Or, ListLit)):
        return node.items
    if isinstance(node, Not):
        return (node.item,)
    if isinstance(node, (Compare, Arith)):
        return (node.left, node.right)
    if isinstance(node, InList):
        return (node.operand, *node.items)
    if isinstance(node, (Like, IsNull, Exists, Neg)):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Node):
    """Yield ``node`` and every node below it (iteratively, depth first)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))
