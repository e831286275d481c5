"""Building :class:`FilterError` messages that point into the expression.

``FilterError`` prints the expression with a caret under ``position``. Here the
expression is first made printable on one line: tabs and newlines become spaces
(so the caret stays aligned), lone surrogates are escaped, and a long expression
is cut to a window around the position with ``...`` on the cut sides.
"""

from __future__ import annotations

from keeldb.errors import FilterError

WINDOW_CHARS = 60


def filter_error(
    message: str,
    expression: str,
    position: int | None,
    *,
    hint: str | None = None,
) -> FilterError:
    """A FilterError with a caret under ``position`` of ``expression``."""
    if position is None:
        return FilterError(message, hint=hint)
    position = max(0, min(position, len(expression)))
    start = max(0, position - WINDOW_CHARS)
    end = min(len(expression), position + WINDOW_CHARS)
    shown = printable(expression[start:end])
    caret = position - start
    if start > 0:
        shown = "..." + shown
        caret += 3
    if end < len(expression):
        shown += "..."
    return FilterError(message, expression=shown, position=caret, hint=hint)


def printable(text: str) -> str:
    """One line of text with the same character count (surrogates escaped)."""
    table = {ord("\n"): " ", ord("\r"): " ", ord("\t"): " ", ord("\v"): " ", ord("\f"): " "}
    text = text.translate(table)
    if any("\ud800" <= c <= "\udfff" for c in text):
        text = "".join("?" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def quote(value: object) -> str:
    """A literal as the user would have written it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return '"' + printable(shown).replace('"', '\\"') + '"'
    if isinstance(value, int) and abs(value) > 10**30:
        return f"{str(value)[:20]}... ({len(str(abs(value)))} digits)"
    return repr(value)
