"""The Milvus boolean filter language: parse once, type-check, evaluate vectorised.

    f = compile_filter('size > {min} and tag in ["a", "b"]', fields, dynamic=True,
                       params={"min": 10})
    mask = f.evaluate(table)        # numpy bool array, one per row

Modules: ``grammar`` (lark grammar) → ``parser`` (syntax tree of ``ast`` nodes,
literals, template parameters, ``limits``) → ``typecheck`` (names, types,
constant folding via ``scalar``; calls in ``functions``) → ``compile``
(:class:`CompiledFilter`) whose ``evaluate`` runs ``evaluate`` over the vectors of
``vectors`` / ``numeric`` / ``jsonview`` with the building blocks of
``predicates``; ``pruning`` answers ``may_match`` and ``explain`` renders plans.
"""

from keeldb.expr.compile import CompiledFilter, compile_filter
from keeldb.expr.limits import (
    MAX_EXPRESSION_LENGTH,
    MAX_LIST_LENGTH,
    MAX_NESTING_DEPTH,
)

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_LIST_LENGTH",
    "MAX_NESTING_DEPTH",
    "CompiledFilter",
    "compile_filter",
]
