"""The lark grammar of the Milvus boolean expression language.

Precedence, loosest first: ``or``/``||``, ``and``/``&&``, ``not``/``!``, the
predicates (comparisons, chained ranges, ``in``, ``not in``, ``like``,
``is [not] null``, ``exists``), ``+ -``, ``* / %``, unary ``+ -``, ``**``
(right associative, so ``-2 ** 2`` is ``-(2 ** 2)``). ``not`` binds looser than
a comparison, as in SQL and Python: ``not a == 1`` is ``not (a == 1)``.

Keywords are case-insensitive (``and``, ``AND``, ``True``...) and match whole
words only, so a field called ``notes`` is not ``not`` + ``es``. Lists of
same-precedence operands (``a or b or c``, ``a + b - c``) come out flat, not
nested, so long chains never make a deep tree. The parser is LALR(1): it runs
without recursion, in time linear in the input.
"""

from __future__ import annotations

import functools

import lark

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: (NOT | BANG) not_expr -> not_op
         | predicate

?predicate: sum
          | sum COMPOP sum -> compare
          | sum COMPOP sum COMPOP sum -> chain
          | sum IN sum -> in_op
          | sum NOT IN sum -> not_in_op
          | sum LIKE sum -> like_op
          | sum IS NULL -> is_null
          | sum IS NOT NULL -> is_not_null
          | EXISTS sum -> exists_op

?sum: product (ADDOP product)*
?product: unary (MULOP unary)*
?unary: ADDOP unary -> unary_op
      | power
?power: atom (POW unary)?

?atom: INT -> int_lit
     | FLOAT -> float_lit
     | STRING -> str_lit
     | TRUE -> true_lit
     | FALSE -> false_lit
     | TEMPLATE -> template
     | LSQB _items? "]" -> list_lit
     | NAME "(" _items? ")" -> call
     | ref
     | "(" or_expr ")"

_items: or_expr ("," or_expr)* ","?
ref: (NAME | META) subscript*
subscript: LSQB (STRING | INT) "]"

_OR.3: /(?i:or)\b/ | "||"
_AND.3: /(?i:and)\b/ | "&&"
NOT.3: /(?i:not)\b/
BANG: "!"
IN.3: /(?i:in)\b/
LIKE.3: /(?i:like)\b/
IS.3: /(?i:is)\b/
NULL.3: /(?i:null)\b/
EXISTS.3: /(?i:exists)\b/
TRUE.3: /(?i:true)\b/
FALSE.3: /(?i:false)\b/

COMPOP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADDOP: "+" | "-"
MULOP: "*" | "/" | "%"
POW.2: "**"
LSQB: "["

FLOAT.2: /(\d+\.\d*|\.\d+)([eE][+-]?\d+)?|\d+[eE][+-]?\d+/
INT: /0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|\d+/
STRING: /"(?:[^"\\]|\\.)*"/s | /'(?:[^'\\]|\\.)*'/s
TEMPLATE: /\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}/
META: "$meta"
NAME: /[A-Za-z_][A-Za-z0-9_]*/

%ignore /\s+/
"""

#: Readable names for the terminals lark reports as expected.
TERMINAL_NAMES = {
    "_OR": "'or'",
    "_AND": "'and'",
    "NOT": "'not'",
    "BANG": "'!'",
    "IN": "'in'",
    "LIKE": "'like'",
    "IS": "'is'",
    "NULL": "'null'",
    "EXISTS": "'exists'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "COMPOP": "a comparison operator",
    "ADDOP": "'+' or '-'",
    "MULOP": "'*', '/' or '%'",
    "POW": "'**'",
    "FLOAT": "a number",
    "INT": "a number",
    "STRING": "a string",
    "TEMPLATE": "a {placeholder}",
    "META": "'$meta'",
    "NAME": "a field name",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "$END": "end of expression",
}


@functools.cache
def get_parser() -> lark.Lark:
    """The shared LALR parser (built once; lark parsers are reentrant).

    ``cache=True``: lark keeps the analysed grammar in a file in the temporary
    directory, named by the grammar's hash and lark's version, so a new process's
    first filter costs ~2 ms instead of the 30-100 ms of building the tables.
    """
    return lark.Lark(
        GRAMMAR,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )
