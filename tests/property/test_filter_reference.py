"""The vectorised filter evaluator against a deliberately simple row-by-row one.

Hypothesis draws a table (every filterable type, with nulls, NaN, extreme
integers, mixed-type JSON) and a random well-typed expression, built as a small
tuple tree that renders to filter text. ``reference`` evaluates the tree one row
at a time with plain Python values and three-valued logic (True / False /
None for unknown); ``compile_filter(text).evaluate(table)`` must return exactly
the rows where the reference says True.

A second test feeds arbitrary text to ``compile_filter``: it must return a
filter that evaluates, or raise FilterError; nothing else, and no hang.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import orjson
import pyarrow as pa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from keeldb.errors import FilterError
from keeldb.expr import compile_filter
from keeldb.schema.field import META_COLUMN, FieldSchema
from keeldb.types import DataType as D

FIELDS = {
    f.name: f
    for f in [
        FieldSchema("id", D.INT64, is_primary=True),
        FieldSchema("i8", D.INT8, nullable=True),
        FieldSchema("i64", D.INT64, nullable=True),
        FieldSchema("f32", D.FLOAT, nullable=True),
        FieldSchema("f64", D.DOUBLE, nullable=True),
        FieldSchema("s", D.VARCHAR, max_length=20, nullable=True),
        FieldSchema("b", D.BOOL, nullable=True),
        FieldSchema("j", D.JSON, nullable=True),
        FieldSchema("arr", D.ARRAY, element_type=D.INT64, max_capacity=5, nullable=True),
        FieldSchema("sarr", D.ARRAY, element_type=D.VARCHAR, max_capacity=5, max_length=5),
    ]
}
INT_FIELDS = ["id", "i8", "i64"]
FLOAT_FIELDS = ["f32", "f64"]
JSON_KEYS = ["x", "y", "s", "t"]
MISSING = object()
MAX_BITS = 4096

# -- data ------------------------------------------------------------------------------
int8s = st.integers(-128, 127)
tiny_ints = st.integers(-3, 3)  # so rows often tie with literals
small_ints = st.one_of(tiny_ints, st.integers(-20, 20))
any_int64 = st.one_of(small_ints, st.integers(-(2**63), 2**63 - 1), st.sampled_from([2**63 - 1]))
texts = st.text(alphabet="ab%_äZ\n", max_size=4)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    small_ints,
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.one_of(json_scalars, st.lists(json_scalars, max_size=4))


def floats(width):
    return st.one_of(st.integers(-7, 7).map(lambda i: i / 2), st.floats(width=width))


def nullable(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def tables(draw):
    n = draw(st.integers(0, 12))
    rows = {
        "id": list(range(n)),
        "i8": draw(
            st.lists(
                nullable(st.one_of(small_ints, st.integers(-128, 127))), min_size=n, max_size=n
            )
        ),
        "i64": draw(st.lists(nullable(any_int64), min_size=n, max_size=n)),
        "f32": draw(st.lists(nullable(floats(32)), min_size=n, max_size=n)),
        "f64": draw(st.lists(nullable(floats(64)), min_size=n, max_size=n)),
        "s": draw(st.lists(nullable(texts), min_size=n, max_size=n)),
        "b": draw(st.lists(nullable(st.booleans()), min_size=n, max_size=n)),
        "arr": draw(st.lists(nullable(st.lists(small_ints, max_size=4)), min_size=n, max_size=n)),
        "sarr": draw(st.lists(st.lists(texts, max_size=3), min_size=n, max_size=n)),
    }
    docs = st.dictionaries(st.sampled_from(JSON_KEYS), json_values, max_size=4)
    rows["j"] = [_dump(d) for d in draw(st.lists(nullable(docs), min_size=n, max_size=n))]
    meta = st.dictionaries(st.sampled_from(["dn", "ds"]), json_values, max_size=2)
    rows[META_COLUMN] = [_dump(d) for d in draw(st.lists(nullable(meta), min_size=n, max_size=n))]
    types = {
        "id": pa.int64(), "i8": pa.int8(), "i64": pa.int64(), "f32": pa.float32(),
        "f64": pa.float64(), "s": pa.string(), "b": pa.bool_(), "j": pa.string(),
        "arr": pa.list_(pa.int64()), "sarr": pa.list_(pa.string()), META_COLUMN: pa.string(),
    }  # fmt: skip
    return pa.table({name: pa.array(values, types[name]) for name, values in rows.items()})


def _dump(doc):
    return None if doc is None else json.dumps(doc)


# -- expressions: (text, tree) pairs --------------------------------------------------
def lit(value):
    if isinstance(value, bool):
        return ("true" if value else "false"), ("lit", value)
    if isinstance(value, str):
        return json.dumps(value), ("lit", value)
    text = repr(value)
    return (f"({text})" if text.startswith("-") else text), ("lit", value)


num_literals = st.one_of(
    small_ints,
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**63 - 1, -(2**63), 2**63, 127, 128, -129, 2**53 + 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-7, 7).map(lambda i: i / 2),
    st.sampled_from([0.5, -2.5, 1e300, 2.0**63, 9007199254740993.0]),
)


@st.composite
def num_expr(draw, depth):
    options = ["field", "field", "literal", "json", "dynamic", "element", "length"]
    if depth > 0:
        options += ["arith", "arith", "neg", "power"]
    choice = draw(st.sampled_from(options))
    if choice == "field":
        name = draw(st.sampled_from(INT_FIELDS + FLOAT_FIELDS))
        return name, ("field", name)
    if choice == "literal":
        return lit(draw(num_literals))
    if choice == "json":
        key = draw(st.sampled_from(JSON_KEYS))
        return f'j["{key}"]', ("json", "j", (key,))
    if choice == "dynamic":
        return "dn", ("json", META_COLUMN, ("dn",))
    if choice == "element":
        index = draw(st.integers(0, 4))
        return f"arr[{index}]", ("element", "arr", index)
    if choice == "length":
        return "array_length(arr)", ("length", "arr")
    if choice == "neg":
        text, tree = draw(num_expr(depth - 1))
        return f"(-{text})", ("neg", tree)
    left_text, left = draw(num_expr(depth - 1))
    if choice == "power":
        exponent = draw(st.one_of(st.integers(0, 5), st.sampled_from([-1, 0.5, 2.0])))
        right_text, right = lit(exponent)
        return f"({left_text} ** {right_text})", ("arith", "**", left, right)
    op = draw(st.sampled_from(["+", "-", "*", "/", "%"]))
    right_text, right = draw(num_expr(depth - 1))
    return f"({left_text} {op} {right_text})", ("arith", op, left, right)


@st.composite
def str_expr(draw):
    choice = draw(st.sampled_from(["field", "field", "json", "dynamic", "element"]))
    if choice == "field":
        return "s", ("field", "s")
    if choice == "json":
        return 'j["s"]', ("json", "j", ("s",))
    if choice == "dynamic":
        return '$meta["ds"]', ("json", META_COLUMN, ("ds",))
    index = draw(st.integers(0, 2))
    return f"sarr[{index}]", ("element", "sarr", index)


scalar_literals = st.one_of(
    small_ints, st.floats(allow_nan=False, allow_infinity=False), texts, st.booleans()
)
compare_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


@st.composite
def condition(draw, depth):
    options = ["simple", "simple", "num", "num", "str", "bool", "in", "like", "null", "exists",
               "json_any", "contains", "range", "json_truth"]  # fmt: skip
    if depth > 0:
        options += ["not", "and", "or"] * 2
    choice = draw(st.sampled_from(options))
    if choice == "simple":  # field op literal, either way round
        name = draw(st.sampled_from(INT_FIELDS + FLOAT_FIELDS))
        (rt, right), op = lit(draw(num_literals)), draw(compare_ops)
        if draw(st.booleans()):
            return f"{rt} {op} {name}", ("cmp", op, right, ("field", name))
        return f"{name} {op} {rt}", ("cmp", op, ("field", name), right)
    if choice == "num":
        (lt, left), (rt, right) = draw(num_expr(2)), draw(num_expr(2))
        op = draw(compare_ops)
        return f"{lt} {op} {rt}", ("cmp", op, left, right)
    if choice == "str":
        lt, left = draw(str_expr())
        rt, right = draw(st.one_of(str_expr(), texts.map(lit)))
        op = draw(compare_ops)
        return f"{lt} {op} {rt}", ("cmp", op, left, right)
    if choice == "bool":
        op = draw(st.sampled_from(["==", "!="]))
        rt, right = lit(draw(st.booleans()))
        return f"b {op} {rt}", ("cmp", op, ("field", "b"), right)
    if choice == "in":
        if draw(st.booleans()):
            text, operand = draw(num_expr(1))
            values = draw(st.lists(num_literals, max_size=4))
        else:
            text, operand = draw(str_expr())
            values = draw(st.lists(texts, max_size=4))
        negated = draw(st.booleans())
        items = ", ".join(lit(v)[0] for v in values)
        word = "not in" if negated else "in"
        return f"{text} {word} [{items}]", ("in", operand, values, negated)
    if choice == "like":
        text, operand = draw(str_expr())
        pattern = draw(st.text(alphabet="ab%_\\ä\n", max_size=5))
        return f"{text} like {json.dumps(pattern)}", ("like", operand, pattern)
    if choice == "null":
        text, operand = draw(st.one_of(str_expr(), num_expr(0)))
        negated = draw(st.booleans())
        assume(operand[0] in ("field", "json", "element"))
        return f"{text} is {'not ' if negated else ''}null", ("isnull", operand, negated)
    if choice == "exists":
        key = draw(st.sampled_from(JSON_KEYS))
        return f'exists j["{key}"]', ("exists", "j", (key,))
    if choice == "json_any":
        key = draw(st.sampled_from(JSON_KEYS + ["t"]))
        value = draw(scalar_literals)
        op = draw(st.sampled_from(["==", "!="])) if isinstance(value, bool) else draw(compare_ops)
        rt, right = lit(value)
        return f'j["{key}"] {op} {rt}', ("cmp", op, ("json", "j", (key,)), right)
    if choice == "contains":
        mode = draw(st.sampled_from(["contains", "contains_all", "contains_any"]))
        if draw(st.booleans()):
            target, text = ("arr", (), "int"), "arr"
            values = draw(st.lists(small_ints, max_size=3))
        else:
            key = draw(st.sampled_from(JSON_KEYS))
            target, text = ("j", (key,), "json"), f'j["{key}"]'
            values = draw(st.lists(json_scalars.filter(lambda v: v is not None), max_size=3))
        family = "json" if target[2] == "json" else "array"
        if mode == "contains":
            values = values[:1] or [1]
            arg = lit(values[0])[0]
        else:
            arg = "[" + ", ".join(lit(v)[0] for v in values) + "]"
        return f"{family}_{mode}({text}, {arg})", (mode, target, values)
    if choice == "range":
        low, high = draw(num_literals), draw(num_literals)
        text, operand = draw(num_expr(1))
        ops = draw(st.sampled_from([("<", "<"), ("<=", "<"), ("<", "<="), ("<=", "<=")]))
        lt, rt = lit(low)[0], lit(high)[0]
        tree = (
            "and",
            [("cmp", ops[0], ("lit", low), operand), ("cmp", ops[1], operand, ("lit", high))],
        )
        return f"{lt} {ops[0]} {text} {ops[1]} {rt}", tree
    if choice == "json_truth":
        key = draw(st.sampled_from(JSON_KEYS))
        return f'j["{key}"]', ("truth", ("json", "j", (key,)))
    if choice == "not":
        text, tree = draw(condition(depth - 1))
        return f"not ({text})", ("not", tree)
    items = draw(st.lists(condition(depth - 1), min_size=2, max_size=3))
    joiner = f" {choice} " if draw(st.booleans()) else (" && " if choice == "and" else " || ")
    return joiner.join(f"({t})" for t, _ in items), (choice, [tree for _, tree in items])


# -- the reference evaluator ----------------------------------------------------------
def family(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "other"


def bounded(value):
    return value if value.bit_length() <= MAX_BITS else None


def to_float(value):
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def json_at(row, column, path):
    text = row[column]
    if text is None:
        return MISSING
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = json.loads(text)
    for key in path:
        if isinstance(key, str):
            value = value.get(key, MISSING) if isinstance(value, dict) else MISSING
        else:
            value = value[key] if isinstance(value, list) and key < len(value) else MISSING
    return value


def value_of(tree, row):
    """A row's value: Python scalar, list (arrays, JSON), or None for null/missing."""
    kind = tree[0]
    if kind == "lit":
        return tree[1]
    if kind == "field":
        return row[tree[1]]
    if kind == "json":
        value = json_at(row, tree[1], tree[2])
        return None if value is MISSING else value
    if kind == "element":
        items = row[tree[1]]
        return items[tree[2]] if items is not None and tree[2] < len(items) else None
    if kind == "length":
        items = row[tree[1]]
        return None if items is None else len(items)
    if kind == "neg":
        value = number_of(tree[1], row)
        return None if value is None else -value
    left, right = number_of(tree[2], row), number_of(tree[3], row)
    if left is None or right is None:
        return None
    return arith(tree[1], left, right, tree[3])


def number_of(tree, row):
    value = value_of(tree, row)
    return value if family(value) == "number" else None


def arith(op, a, b, right_tree):
    exponent = right_tree[1] if right_tree[0] == "lit" else None
    int_power = type(exponent) is int and 0 <= exponent <= 128
    if isinstance(a, int) and isinstance(b, int) and (op != "**" or int_power):
        if op == "+":
            return bounded(a + b)
        if op == "-":
            return bounded(a - b)
        if op == "*":
            return bounded(a * b) if a.bit_length() + b.bit_length() <= MAX_BITS + 1 else None
        if op in "/%":
            if b == 0:
                return None
            quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b > 0) else -1)
            return quotient if op == "/" else a - b * quotient
        if max(a.bit_length() - 1, 0) * b > MAX_BITS:
            return None
        return bounded(a**b)
    x, y = np.float64(to_float(a)), np.float64(to_float(b))
    with np.errstate(all="ignore"):
        if op in "/%" and y == 0:
            return None
        result = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                  "%": np.fmod, "**": np.power}[op](x, y)  # fmt: skip
    return float(result)


def compare(op, a, b):
    if a is None or b is None:
        return None
    if family(a) != family(b) or family(a) == "other":
        return op == "!="
    if family(a) == "bool" and op not in ("==", "!="):
        return False  # booleans are equal or not, never ordered
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def as_column_type(column, value):
    """A number compared with a FLOAT / DOUBLE field is first converted to its type."""
    if column[0] != "field" or column[1] not in FLOAT_FIELDS or family(value) != "number":
        return value
    try:
        value = float(value)
    except OverflowError:
        return value
    if column[1] == "f32":
        with np.errstate(over="ignore"):
            value = float(np.float32(value))
    return value


def json_equal(a, b):
    if family(a) != family(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def like(value, pattern):
    regex, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if char == "%" else "." if char == "_" else re.escape(char)
        i += 1
    return re.fullmatch(regex, value, re.DOTALL) is not None


def truth(tree, row):
    """True, False, or None for unknown."""
    kind = tree[0]
    if kind == "not":
        result = truth(tree[1], row)
        return None if result is None else not result
    if kind in ("and", "or"):
        results = [truth(item, row) for item in tree[1]]
        decisive = kind == "or"
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    if kind == "cmp":
        left, right = value_of(tree[2], row), value_of(tree[3], row)
        if tree[3][0] == "lit":
            right = as_column_type(tree[2], right)
        if tree[2][0] == "lit":
            left = as_column_type(tree[3], left)
        return compare(tree[1], left, right)
    if kind == "in":
        value = value_of(tree[1], row)
        if value is None:
            return None
        hit = any(json_equal(value, as_column_type(tree[1], v)) for v in tree[2])
        return not hit if tree[3] else hit
    if kind == "like":
        value = value_of(tree[1], row)
        if value is None:
            return None
        return isinstance(value, str) and like(value, tree[2])
    if kind == "isnull":  # on a JSON path: `not exists`, as Milvus rewrites it
        operand = tree[1]
        if operand[0] == "json":
            return (json_at(row, operand[1], operand[2]) is not MISSING) == tree[2]
        return (value_of(operand, row) is not None) == tree[2]
    if kind == "exists":
        return json_at(row, tree[1], tree[2]) is not MISSING
    if kind == "truth":
        value = value_of(tree[1], row)
        return None if value is None else value is True
    (column, path, _), values = tree[1], tree[2]
    container = value_of(("json", column, path) if path else ("field", column), row)
    if container is None:
        return None
    if not isinstance(container, list):
        return False
    holds = [any(json_equal(e, v) for e in container) for v in values]
    return any(holds) if kind in ("contains", "contains_any") else all(holds)


# -- the properties ---------------------------------------------------------------------
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(table=tables(), expression=condition(3))
def test_vectorised_evaluate_matches_the_reference(table, expression):
    text, tree = expression
    try:
        compiled = compile_filter(text, FIELDS, dynamic=True)
    except FilterError as exc:  # constant folding refuses what rows would make null
        assume("division by zero" not in str(exc) and "bits" not in str(exc))
        raise
    assert compiled is not None
    mask = compiled.evaluate(table)
    expected = [truth(tree, row) is True for row in table.to_pylist()]
    assert mask.tolist() == expected, (text, compiled.explain())


TOKENS = [
    "id", "i8", "f64", "s", "b", "j", "arr", "dn", "$meta", "(", ")", "[", "]", ",", "==",
    "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "**", "and", "or", "not", "!", "&&",
    "||", "in", "not in", "like", "is null", "is not null", "exists", "true", "0", "1", "-1",
    "2.5", "1e999", "99999999999999999999", "'a'", '"b%"', '"\\u00e4"', "'", '"', "\\",
    '["x"]', "[0]", "{p}", "{q}", "json_contains", "array_length", "array_contains_all",
    "\x00", "\ud800", "\U0001f600", "#", "@", "$", ".", "0x", "08",
]  # fmt: skip


@settings(max_examples=400, deadline=2000)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join),
        st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),
        st.binary(max_size=40).map(lambda b: b.decode("utf-8", "replace")),
    ),
    dynamic=st.booleans(),
)
def test_arbitrary_text_compiles_or_raises_filter_error(text, dynamic):
    table = _FUZZ_TABLE
    try:
        compiled = compile_filter(text, FIELDS, dynamic=dynamic, params={"p": [1, "a"], "q": 2})
    except FilterError:
        return
    if compiled is not None:
        try:
            mask = compiled.evaluate(table)
        except FilterError:
            return
        assert mask.dtype == bool and len(mask) == table.num_rows


_FUZZ_TABLE = pa.table(
    {
        "id": pa.array([0, 1, 2], pa.int64()),
        "i8": pa.array([1, None, -128], pa.int8()),
        "i64": pa.array([2**63 - 1, None, 0], pa.int64()),
        "f32": pa.array([0.5, None, float("nan")], pa.float32()),
        "f64": pa.array([0.5, None, float("inf")], pa.float64()),
        "s": pa.array(["a", None, "b%"]),
        "b": pa.array([True, None, False]),
        "j": pa.array(['{"x": 1, "t": [1, "a"]}', None, '{"x": "s"}']),
        "arr": pa.array([[1], None, []], pa.list_(pa.int64())),
        "sarr": pa.array([["a"], [], ["b"]], pa.list_(pa.string())),
        META_COLUMN: pa.array(['{"dn": 1}', None, "{}"]),
    }
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), table=tables())
def test_number_comparisons_near_the_data_are_exact(data, table):
    """Literals drawn next to the table's own values: ties, halves, int64 edges."""
    name = data.draw(st.sampled_from(INT_FIELDS + FLOAT_FIELDS + ["arr[0]", 'j["x"]']))
    column = {"arr[0]": ("element", "arr", 0), 'j["x"]': ("json", "j", ("x",))}
    tree = column.get(name, ("field", name))
    present = [
        v for v in (value_of(tree, row) for row in table.to_pylist()) if family(v) == "number"
    ]
    anchor = data.draw(st.sampled_from(present)) if present else 0
    if isinstance(anchor, float) and not math.isfinite(anchor):
        anchor = 0
    nudge = data.draw(st.sampled_from([0, 0.5, -0.5, 1, -1, 1e-9]))
    value = anchor + nudge if nudge else anchor
    value = data.draw(st.sampled_from([value, float(value), int(value)]))
    op = data.draw(compare_ops)
    text = f"{name} {op} {lit(value)[0]}"
    compiled = compile_filter(text, FIELDS, dynamic=True)
    literal = as_column_type(tree, value)  # FLOAT / DOUBLE fields read it in their type
    expected = [compare(op, value_of(tree, row), literal) is True for row in table.to_pylist()]
    assert compiled.evaluate(table).tolist() == expected, text
