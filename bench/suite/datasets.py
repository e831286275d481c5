"""The suite's corpora, their payload fields, filters, queries and exact ground truth.

A prepared dataset is a directory (built once, then reused; phase processes
memory-map it)::

    meta.json           name, metric, dim, rows, field names, filters, how it was made
    vectors.npy         (rows, dim) float32; row i has primary key i
    <str field>.npy     unicode array, one value per row (the VARCHAR payload)
    <int field>.npy     int64, one value per row (the INT64 payload)
    queries.npy         (queries, dim) float32, never rows of the corpus
    gt.npy              exact top-``K`` row ids per query, ties by lower id
    gt-<filter>.npy     the same among the rows the filter keeps, padded with -1

Datasets:

- ``debian``: 63,666 Debian package descriptions embedded with all-MiniLM-L6-v2
  (384-d, shipped as float16, cast to float32 and re-normalised), metric COSINE;
  ``section`` (VARCHAR) and ``installed_size`` (INT64) from ``corpus.jsonl.gz``;
  queries = the held-out ``queries-dev.jsonl`` texts embedded with the same
  model (``bench.indexes.load_text_queries``, cached).
- ``synthetic-1m``: ``bench.dataset``'s clustered generator, 1,000,000 x 128,
  metric L2, fixed seeds; ``section`` = ``s0``..``s99`` and ``size`` uniform.
- ``smoke``: the same generator at 2,000 x 32 with 50 queries, for CI.

The vectors of a COSINE dataset are unit length, so every system gets the same
vectors and exact L2 order equals cosine order: the ground truth is
``bench.metrics.exact_topk`` (numpy, float64) for both metrics.

Each dataset has three filters keeping about 10%, 1% and 0.1% of the rows: an
equality on the VARCHAR field or a half-open range on the INT64 field. Their
reference masks are computed with numpy here, never by a system under test.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import dataset as synthetic
from bench.metrics import exact_topk

K = 10
SHARED = Path(os.environ.get("KEEL_SHARED_DATA", "/work/shared/data"))
CACHE = Path(os.environ.get("KEEL_BENCH_CACHE", Path.home() / ".cache" / "keeldb-bench" / "suite"))


@dataclass(frozen=True)
class FilterSpec:
    """``field == value`` (op "eq", a string) or ``lo <= field < hi`` (op "range", ints)."""

    name: str
    field: str
    op: str
    value: str | None = None
    lo: int | None = None
    hi: int | None = None

    def mask(self, column: np.ndarray) -> np.ndarray:
        if self.op == "eq":
            return column == self.value
        if self.op == "range":
            return (column >= self.lo) & (column < self.hi)
        raise ValueError(f"unknown filter op {self.op!r}")

    def milvus_expr(self) -> str:
        """The Milvus filter language form (keeldb and Milvus Lite share it)."""
        if self.op == "eq":
            return f'{self.field} == "{self.value}"'
        return f"{self.field} >= {self.lo} and {self.field} < {self.hi}"


@dataclass(frozen=True)
class Recipe:
    """How a named dataset is built: a loader and its filters (10%, 1%, 0.1%)."""

    metric: str
    str_field: str
    int_field: str
    filters: tuple[FilterSpec, ...]


RECIPES: dict[str, Recipe] = {
    "debian": Recipe(
        "COSINE", "section", "installed_size",
        (
            FilterSpec("10pct", "section", "eq", value="libs"),
            FilterSpec("1pct", "section", "eq", value="fonts"),
            FilterSpec("0.1pct", "installed_size", "range", lo=1000, hi=1010),
        ),
    ),
    "synthetic-1m": Recipe(
        "L2", "section", "size",
        (
            FilterSpec("10pct", "size", "range", lo=0, hi=10_000),
            FilterSpec("1pct", "section", "eq", value="s7"),
            FilterSpec("0.1pct", "size", "range", lo=40_000, hi=40_100),
        ),
    ),
}  # fmt: skip
RECIPES["smoke"] = RECIPES["synthetic-1m"]


@dataclass
class Dataset:
    """A prepared dataset, memory-mapped from its directory."""

    directory: Path
    meta: dict[str, Any]
    vectors: np.ndarray
    fields: dict[str, np.ndarray]
    queries: np.ndarray
    truth: np.ndarray
    filtered_truth: dict[str, np.ndarray]

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def metric(self) -> str:
        return str(self.meta["metric"])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def rows(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def str_field(self) -> str:
        return str(self.meta["str_field"])

    @property
    def int_field(self) -> str:
        return str(self.meta["int_field"])

    @property
    def filters(self) -> list[FilterSpec]:
        return [FilterSpec(**f) for f in self.meta["filters"]]

    def batch(self, lo: int, hi: int) -> Batch:
        return Batch(
            ids=np.arange(lo, hi, dtype=np.int64),
            vectors=np.ascontiguousarray(self.vectors[lo:hi], dtype=np.float32),
            strings=[str(s) for s in self.fields[self.str_field][lo:hi]],
            ints=np.asarray(self.fields[self.int_field][lo:hi], dtype=np.int64),
        )

    def filter_mask(self, spec: FilterSpec) -> np.ndarray:
        return spec.mask(self.fields[spec.field])


@dataclass
class Batch:
    """Rows ``ids`` of a dataset in neutral form; each adapter converts it to its own input."""

    ids: np.ndarray
    vectors: np.ndarray
    strings: list[str]
    ints: np.ndarray


# -- building --------------------------------------------------------------------------------

#: vectors, payload columns by field name, queries
Columns = tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]


def _debian(rows: int | None, queries: int) -> Columns:
    from bench.indexes import load_corpus, load_text_queries

    vectors = load_corpus(rows)
    sections, sizes = [], []
    with gzip.open(SHARED / "debian" / "corpus.jsonl.gz", "rt") as f:
        for i, line in enumerate(f):
            if i >= len(vectors):
                break
            row = json.loads(line)
            if row["id"] != i:
                raise ValueError(f"corpus.jsonl.gz line {i} has id {row['id']}")
            sections.append(row["section"])
            sizes.append(int(row["installed_size"]))
    q = np.asarray(load_text_queries(queries), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    fields = {"section": np.array(sections), "installed_size": np.array(sizes, dtype=np.int64)}
    return vectors, fields, q


def _synthetic(rows: int, dim: int, queries: int) -> Columns:
    corpus = synthetic.make_corpus(rows, dim)
    fields = {
        "section": np.array(corpus.section_strings(0, rows)),
        "size": corpus.size.astype(np.int64),
    }
    return corpus.vectors, fields, synthetic.make_queries(queries, dim)


def build(name: str, directory: Path, rows: int | None = None, queries: int | None = None) -> None:
    """Generate the data and the exact ground truth of dataset ``name`` into ``directory``."""
    recipe = RECIPES[name]
    if name == "debian":
        vectors, fields, q = _debian(rows, queries or 1000)
    elif name == "smoke":
        vectors, fields, q = _synthetic(rows or 2000, 32, queries or 50)
    else:
        vectors, fields, q = _synthetic(rows or 1_000_000, 128, queries or 1000)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    for field, column in fields.items():
        np.save(directory / f"{field}.npy", column)
    np.save(directory / "queries.npy", q)
    np.save(directory / "gt.npy", exact_topk(vectors, q, K))
    selectivity = {}
    for spec in recipe.filters:
        mask = spec.mask(fields[spec.field])
        selectivity[spec.name] = float(mask.mean())
        np.save(directory / f"gt-{spec.name}.npy", exact_topk(vectors, q, K, allowed=mask))
    meta = {
        "name": name,
        "metric": recipe.metric,
        "rows": int(len(vectors)),
        "dim": int(vectors.shape[1]),
        "queries": int(len(q)),
        "str_field": recipe.str_field,
        "int_field": recipe.int_field,
        "filters": [{k: v for k, v in vars(s).items() if v is not None} for s in recipe.filters],
        "selectivity": selectivity,
        "k": K,
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=1))


def default_directory(name: str, rows: int | None, queries: int | None) -> Path:
    suffix = "".join(f"-{p}{v}" for p, v in (("r", rows), ("q", queries)) if v)
    return CACHE / f"{name}{suffix}"


def prepare(name: str, rows: int | None = None, queries: int | None = None) -> Path:
    """The dataset's directory, built on first use (ground truth is computed once and cached)."""
    directory = default_directory(name, rows, queries)
    if not (directory / "meta.json").exists():
        build(name, directory, rows, queries)
    return directory


def load(directory: str | Path) -> Dataset:
    directory = Path(directory)
    meta = json.loads((directory / "meta.json").read_text())
    fields = {
        f: np.load(directory / f"{f}.npy", mmap_mode="r")
        for f in (meta["str_field"], meta["int_field"])
    }
    return Dataset(
        directory=directory,
        meta=meta,
        vectors=np.load(directory / "vectors.npy", mmap_mode="r"),
        fields=fields,
        queries=np.load(directory / "queries.npy"),
        truth=np.load(directory / "gt.npy"),
        filtered_truth={
            f["name"]: np.load(directory / f"gt-{f['name']}.npy") for f in meta["filters"]
        },
    )
