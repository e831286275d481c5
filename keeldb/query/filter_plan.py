"""Running a filter over one segment: scalar indexes where they beat a scan.

:func:`filter_rows` returns the rows of a segment where a compiled filter is
true, among ``candidates`` (alive ∧ partitions ∧ key lookups, or all rows).

Without a usable scalar index this is one vectorised evaluation of the whole
tree — over the segment, or over just the candidate rows when they are few
(:data:`SUBSET_FRACTION`). With indexes, :class:`SegmentPlanner` walks the tree
under three-valued logic: it asks for the rows where a node is *true* or where
it is *false* (``not`` swaps the two; a null makes a row neither), so

- a leaf an index answers (``field op literal``, ``in`` / ``not in``,
  ``like 'prefix%'`` on an indexed field) becomes a :class:`RowSet` whose exact
  size is known before any row id is produced; it is used when that size is
  at most :data:`INDEX_FRACTION` of the segment (see the crossover measured by
  ``bench/filters.py``), else the leaf is scanned;
- a conjunction (``and`` wanted true, ``or`` wanted false) intersects leaves
  on one index into one range (``n >= a and n < b``), applies its index
  lookups most selective first, then evaluates everything else once, on the
  surviving rows only;
- a disjunction uses the indexes only when every branch can (else it is
  scanned as a whole: one branch needs a scan anyway);
- whatever is evaluated is evaluated by the same :class:`CompiledFilter`
  code as without indexes, so results are identical by construction.

JSON paths of sealed segments come from the parse cache (:mod:`json_cache`).
``trace`` collects one readable line per decision, for ``explain``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from keeldb.expr import CompiledFilter, ast
from keeldb.expr.explain import inline
from keeldb.query.json_cache import SegmentJson
from keeldb.query.scalar_index import RowSet, ScalarIndex, complement
from keeldb.query.snapshot import SegmentView
from keeldb.types import DataType

#: an index lookup is used when it yields at most this share of the segment's rows.
#: Measured on 1M rows (``bench/filters.py``, "index lookup vs scan"): turning a
#: lookup into a mask costs ~2 ns per *matching* row, a vectorised scan of one
#: numeric leaf ~2.4 ns per *segment* row, a string leaf 4-18 ns; so one leaf's
#: lookup wins up to 80% and beyond. 0.5 is lower on purpose: inside a conjunction
#: an unselective leaf costs little more when it joins the one scan of the rest.
INDEX_FRACTION = 0.5
#: a condition is evaluated on the candidate rows only (a taken sub-table) when
#: they are at most this share of the segment: the take + evaluate of a row
#: subset breaks even with a full numeric scan at ~20%, a string scan at ~50%,
#: and an uncached JSON parse only near 100%
SUBSET_FRACTION = {"plain": 0.2, "heavy": 0.5}


def filter_rows(
    compiled: CompiledFilter,
    seg: SegmentView,
    candidates: np.ndarray | None = None,
    trace: list[str] | None = None,
) -> np.ndarray:
    """Bool mask of ``seg``'s rows where ``compiled`` is true (∧ ``candidates``)."""
    planner = SegmentPlanner(compiled, seg, trace)
    if planner.uses_indexes:
        return planner.rows(compiled.root, True, candidates)
    return planner.evaluate(compiled.root, True, candidates)


class SegmentPlanner:
    def __init__(
        self, compiled: CompiledFilter, seg: SegmentView, trace: list[str] | None = None
    ) -> None:
        self.compiled = compiled
        self.seg = seg
        self.n = seg.num_rows
        self.trace = trace
        self._probes: dict[tuple[int, bool], RowSet | None] = {}
        indexes = seg.scalar_indexes
        self.uses_indexes = bool(indexes) and bool(compiled.columns & indexes.keys())

    # -- rows where a node is `want` ------------------------------------------------------
    def rows(self, node: ast.Node, want: bool, cand: np.ndarray | None) -> np.ndarray:
        if isinstance(node, ast.Not):
            return self.rows(node.item, not want, cand)
        if isinstance(node, ast.Literal):
            hit = bool(node.value) == want
            out = np.full(self.n, hit) if cand is None else (cand.copy() if hit else cand & False)
            return out
        if isinstance(node, (ast.And, ast.Or)):
            if isinstance(node, ast.And) == want:
                return self._conjunction(node, want, cand)
            return self._disjunction(node, want, cand)
        found = self.probe(node, want)
        if found is not None and self._worth_it(found.count):
            return self._use_index(node, want, found, cand)
        return self.evaluate(node, want, cand)

    def _conjunction(self, node: ast.And | ast.Or, want: bool, cand: np.ndarray | None):
        groups = self.range_groups(node.items, want)
        grouped = {id(item) for _, members in groups for item in members}
        ranked: list[tuple[int | None, int, object]] = [
            (found.count, i, (found, members)) for i, (found, members) in enumerate(groups)
        ]
        ranked += [
            (self.estimate(item, want), len(groups) + i, item)
            for i, item in enumerate(node.items)
            if id(item) not in grouped
        ]
        ranked.sort(key=lambda t: (t[0] is None, t[0] or 0, t[1]))
        rest: list[ast.Node] = []
        mask = cand
        for estimate, _, entry in ranked:
            size = self.n if mask is None else int(np.count_nonzero(mask))
            useful = estimate is not None and self._worth_it(estimate) and estimate < 8 * size
            if isinstance(entry, tuple):  # leaves on one index, answered as one range
                found, members = entry
                if useful:
                    mask = self._use_index(members, want, found, mask)
                else:
                    rest.extend(members)
            elif useful:
                assert isinstance(entry, ast.Node)
                mask = self.rows(entry, want, mask)
            else:
                assert isinstance(entry, ast.Node)
                rest.append(entry)
        if not rest:
            return np.ones(self.n, dtype=bool) if mask is None else mask
        group = rest[0] if len(rest) == 1 else type(node)(node.pos, tuple(rest))
        return self.evaluate(group, want, mask)

    def range_groups(
        self, items: tuple[ast.Node, ...], want: bool
    ) -> list[tuple[RowSet, list[ast.Node]]]:
        """Leaves of a conjunction on one index whose rows are each one span of it
        (``n >= a`` and ``n < b``, a chained range, ``==``...), intersected into one
        lookup: two halves of a narrow range are each unselective on their own."""
        by_index: dict[int, list[tuple[ast.Node, RowSet]]] = {}
        for item in items:
            found = self.probe(item, want)
            if found is not None and not found.nan and len(found.lo) <= 1:
                by_index.setdefault(id(found.index), []).append((item, found))
        groups = []
        for members in by_index.values():
            if len(members) < 2:
                continue
            sets = [found for _, found in members]
            lo = max((int(f.lo[0]) for f in sets if len(f.lo)), default=0)
            hi = min((int(f.hi[0]) for f in sets if len(f.lo)), default=0)
            empty = any(len(f.lo) == 0 for f in sets) or lo >= hi
            bounds = (np.empty(0, np.int64),) * 2 if empty else (np.array([lo]), np.array([hi]))
            groups.append((RowSet(sets[0].index, *bounds), [item for item, _ in members]))
        return groups

    def _disjunction(self, node: ast.And | ast.Or, want: bool, cand: np.ndarray | None):
        estimate = self.estimate(node, want)
        if estimate is None or not self._worth_it(estimate):
            return self.evaluate(node, want, cand)
        out = np.zeros(self.n, dtype=bool)
        for item in node.items:
            out |= self.rows(item, want, cand)
        return out

    # -- estimates ----------------------------------------------------------------------
    def estimate(self, node: ast.Node, want: bool) -> int | None:
        """Rows an index-driven evaluation of ``node`` touches; None: it needs a scan."""
        if isinstance(node, ast.Not):
            return self.estimate(node.item, not want)
        if isinstance(node, ast.Literal):
            return self.n if bool(node.value) == want else 0
        if isinstance(node, (ast.And, ast.Or)):
            parts = [self.estimate(item, want) for item in node.items]
            if isinstance(node, ast.And) == want:  # conjunction: its best index bounds it
                known = [p for p in parts if p is not None]
                known += [found.count for found, _ in self.range_groups(node.items, want)]
                return min(known) if known else None
            if any(p is None for p in parts):
                return None
            return min(self.n, sum(parts))  # type: ignore[arg-type]
        found = self.probe(node, want)
        return None if found is None else found.count

    def _worth_it(self, rows: int) -> bool:
        return rows <= INDEX_FRACTION * self.n

    # -- index leaves -----------------------------------------------------------------------
    def probe(self, node: ast.Node, want: bool) -> RowSet | None:
        key = (id(node), want)
        if key not in self._probes:
            found = self._lookup(node)
            if found is not None and not want:
                found = complement(found)
            self._probes[key] = found
        return self._probes[key]

    def _lookup(self, node: ast.Node) -> RowSet | None:
        """Rows where the leaf is true, if an index of this segment can tell."""
        if isinstance(node, ast.Compare):
            op, ref, lit = node.op, node.left, node.right
            if isinstance(ref, ast.Literal):
                op, ref, lit = _FLIP[op], node.right, node.left
            index = self._index_of(ref)
            if index is None or not isinstance(lit, ast.Literal):
                return None
            return index.compare(op, lit.value)
        if isinstance(node, ast.InList):
            index = self._index_of(node.operand)
            if index is None:
                return None
            values = [item.value for item in node.items if isinstance(item, ast.Literal)]
            return index.isin(values, negated=node.negated)
        if isinstance(node, ast.Like):
            index = self._index_of(node.operand)
            shape = like_shape(node.pattern)
            if index is None or shape is None:
                return None
            kind, text = shape
            return index.compare("==", text) if kind == "exact" else index.prefix(text)
        return None

    def _index_of(self, node: ast.Node) -> ScalarIndex | None:
        if not isinstance(node, ast.Ref) or node.path or node.dtype is None:
            return None
        dtype = node.dtype
        if not (dtype.is_numeric or dtype.is_string or dtype == DataType.BOOL):
            return None  # JSON text and ARRAY columns are never looked up
        return self.seg.scalar_indexes.get(node.column)

    def _use_index(
        self,
        node: ast.Node | list[ast.Node],
        want: bool,
        found: RowSet,
        cand: np.ndarray | None,
    ) -> np.ndarray:
        mask = found.mask()
        if cand is not None:
            mask &= cand
        if self.trace is not None:
            nodes = node if isinstance(node, list) else [node]
            shown = " and ".join(_shown(n, want) for n in nodes)
            self.trace.append(
                f"index {found.index.index_type} on {_column(nodes[0])}: {shown} "
                f"-> {found.count:,} rows"
            )
        return mask

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, node: ast.Node, want: bool, cand: np.ndarray | None) -> np.ndarray:
        """Rows (∧ cand) where ``node`` is ``want``, by vectorised evaluation."""
        seg, table = self.seg, self.seg.table
        size = self.n if cand is None else int(np.count_nonzero(cand))
        shown = _shown(node, want)
        if size == 0:
            return np.zeros(self.n, dtype=bool)
        if cand is None or size > _subset_fraction(node) * self.n:
            source = SegmentJson(seg.cache_token, table) if seg.cache_token else None
            true, false = self.compiled.evaluate_node(node, table, source)
            out = true if want else false
            if self.trace is not None:
                self.trace.append(f"scan {self.n:,} rows: {shown}")
            return out if cand is None else out & cand
        rows = np.nonzero(cand)[0]
        columns = sorted({r.column for r in ast.walk(node) if isinstance(r, ast.Ref)})
        # a constant condition still needs one column: a table of none has no rows
        subset = table.select(columns or table.column_names[:1]).take(pa.array(rows))
        source = SegmentJson(seg.cache_token, table, rows) if seg.cache_token else None
        true, false = self.compiled.evaluate_node(node, subset, source)
        out = np.zeros(self.n, dtype=bool)
        out[rows[true if want else false]] = True
        if self.trace is not None:
            self.trace.append(f"scan {size:,} candidate rows: {shown}")
        return out


def _subset_fraction(node: ast.Node) -> float:
    heavy = any(
        isinstance(ref, ast.Ref) and ref.dtype is not None and not ref.dtype.is_numeric
        for ref in ast.walk(node)
    )
    return SUBSET_FRACTION["heavy" if heavy else "plain"]


_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def like_shape(pattern: str) -> tuple[str, str] | None:
    """``("exact", text)`` or ``("prefix", text)`` when an index can answer the LIKE."""
    text: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            text.append(pattern[i + 1])
            i += 2
            continue
        if char == "_":
            return None
        if char == "%":
            return ("prefix", "".join(text)) if not pattern[i:].strip("%") else None
        text.append(char)
        i += 1
    return "exact", "".join(text)


def _text(node: ast.Node) -> str:
    """A one-line rendering of a condition for the trace."""
    if isinstance(node, (ast.And, ast.Or)):
        word = " and " if isinstance(node, ast.And) else " or "
        return word.join(
            f"({_text(item)})" if isinstance(item, (ast.And, ast.Or)) else _text(item)
            for item in node.items
        )
    if isinstance(node, ast.Not):
        return f"not ({_text(node.item)})"
    return inline(node)


def _shown(node: ast.Node, want: bool) -> str:
    return _text(node) if want else f"not ({_text(node)})"


def _column(node: ast.Node) -> str:
    for ref in ast.walk(node):
        if isinstance(ref, ast.Ref):
            return ref.column
    return "?"
