"""JSON columns: parsed once per column, one typed view per path and type.

A JSON column (a JSON field, or ``$meta`` for dynamic fields) is parsed with
orjson once per :meth:`CompiledFilter.evaluate` call, however many paths the
filter reads from it. Each path is walked once into a list of Python values;
:class:`JsonValues` then builds NumPy / Arrow views of it on demand (numbers,
strings, booleans), and everything after that is vectorised.

Conventions:
- a missing key, an index past the end, a path through a non-container, a null
  row, and a JSON ``null`` are all *missing*: comparisons with them are unknown
  (three-valued logic). ``exists`` is true when the key is there, even holding
  ``null`` (Milvus: the JSON pointer resolves), and ``is null`` is exactly
  ``not exists`` (Milvus rewrites it so), so a key holding ``null`` is not null.
- a present value of another type than the literal it is compared with is not
  equal to it and not ordered against it: ``==``, ``<``, ``like``... are false,
  ``!=`` and ``not in`` are true (so ``not`` of them flips as usual).
- JSON numbers are ints or floats as orjson reads them (ints beyond 64 bits
  become floats); ``true`` is a boolean, never the number 1.
- text that is not valid JSON reads as a missing value.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from keeldb.expr.numeric import Num
from keeldb.expr.vectors import Bools, Strs


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def parse_json_column(arr: pa.Array) -> list[Any]:
    """Every row's JSON document; MISSING for null rows and invalid text."""
    return [_loads(text) for text in arr.to_pylist()]


def _loads(text: str | None) -> Any:
    if text is None:
        return MISSING
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text)
        except ValueError:
            return MISSING


def extract_path(docs: list[Any], path: tuple[str | int, ...]) -> list[Any]:
    """The value at ``path`` in each document, MISSING where there is none."""
    values = docs
    for step in path:
        if isinstance(step, str):
            values = [v.get(step, MISSING) if type(v) is dict else MISSING for v in values]
        else:
            values = [v[step] if type(v) is list and step < len(v) else MISSING for v in values]
    return values


class JsonValues:
    """The values of one JSON path, one per row, with typed views."""

    def __init__(self, values: list[Any]) -> None:
        self.values = values
        n = len(values)
        self.exists = np.fromiter((v is not MISSING for v in values), dtype=bool, count=n)
        self.present = np.fromiter(
            (v is not MISSING and v is not None for v in values), dtype=bool, count=n
        )

    @functools.cached_property
    def numbers(self) -> Num:
        values = self.values
        n = len(values)
        is_int = np.fromiter((type(v) is int for v in values), dtype=bool, count=n)
        is_float = np.fromiter((type(v) is float for v in values), dtype=bool, count=n)
        raw_ints = [v if type(v) is int else 0 for v in values]
        try:
            ints = np.array(raw_ints, dtype=np.int64)
        except OverflowError:  # unsigned 64-bit values from orjson
            ints = np.empty(n, dtype=object)
            ints[:] = raw_ints
        floats = np.array([v if type(v) is float else 0.0 for v in values], dtype=np.float64)
        valid = is_int | is_float
        if not is_float.any():
            return Num(ints, None, None, valid)
        if not is_int.any():
            return Num(None, floats, None, valid)
        return Num(ints, floats, is_float, valid)

    @functools.cached_property
    def strings(self) -> Strs:
        items = [v if type(v) is str else None for v in self.values]
        arr = pa.array(items, type=pa.string())
        valid = np.fromiter((i is not None for i in items), dtype=bool, count=len(items))
        return Strs(arr, valid)

    @functools.cached_property
    def booleans(self) -> Bools:
        values = self.values
        n = len(values)
        valid = np.fromiter((type(v) is bool for v in values), dtype=bool, count=n)
        vals = np.fromiter((v is True for v in values), dtype=bool, count=n)
        return Bools(vals, valid)

    @functools.cached_property
    def is_list(self) -> np.ndarray:
        return np.fromiter((type(v) is list for v in self.values), dtype=bool, count=len(self))

    def lengths(self) -> np.ndarray:
        return np.fromiter(
            (len(v) if type(v) is list else 0 for v in self.values), dtype=np.int64, count=len(self)
        )

    def flat(self) -> tuple[JsonValues, np.ndarray]:
        """Every element of every array value, and the row each came from."""
        lengths = self.lengths()
        elements = [e for v in self.values if type(v) is list for e in v]
        parents = np.repeat(np.arange(len(self)), lengths)
        return JsonValues(elements), parents

    def __len__(self) -> int:
        return len(self.values)

    def take(self, rows: np.ndarray) -> JsonValues:
        """The values of the given rows (typed views already built are sliced, not rebuilt)."""
        values = self.values
        out = JsonValues.__new__(JsonValues)
        out.values = [values[i] for i in rows.tolist()]
        out.exists = self.exists[rows]
        out.present = self.present[rows]
        cached = self.__dict__
        if "numbers" in cached:
            num: Num = cached["numbers"]
            out.__dict__["numbers"] = Num(
                None if num.ints is None else num.ints[rows],
                None if num.floats is None else num.floats[rows],
                None if num.isf is None else num.isf[rows],
                num.valid[rows],
            )
        if "strings" in cached:
            strs: Strs = cached["strings"]
            out.__dict__["strings"] = Strs(strs.arr.take(pa.array(rows)), strs.valid[rows])
        if "booleans" in cached:
            bools: Bools = cached["booleans"]
            out.__dict__["booleans"] = Bools(bools.vals[rows], bools.valid[rows])
        if "is_list" in cached:
            out.__dict__["is_list"] = cached["is_list"][rows]
        return out

    def memory_bytes(self) -> int:
        """A rough size: the row list, masks and typed views built so far."""
        n = len(self.values)
        size = 8 * n + self.exists.nbytes + self.present.nbytes
        for name in ("numbers", "strings", "booleans", "is_list"):
            view = self.__dict__.get(name)
            if isinstance(view, Num):
                size += sum(a.nbytes for a in (view.ints, view.floats, view.isf) if a is not None)
            elif isinstance(view, Strs):
                size += view.arr.nbytes
            elif isinstance(view, Bools):
                size += 2 * n
            elif view is not None:
                size += n
        return size


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, booleans never equal to numbers."""
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return False
    if isinstance(a, str) != isinstance(b, str):
        return False
    return a == b
