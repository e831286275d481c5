"""Filter benchmark (issue #3): keeldb's filters against Milvus Lite's, in one run.

    python -m bench.filters --rows 1000000 --out bench/results/filters-1m
    python -m bench.filters --rows 20000 --queries 20 --out /tmp/filters-smoke   # ~1 min

Data (fixed seed, generated in batches): ``id`` INT64 primary key, ``vec``
FLOAT_VECTOR(32) around 64 cluster centres, ``price`` DOUBLE uniform [0, 1000),
``n`` INT64 uniform [0, 10^6), ``cat`` VARCHAR ``c0000``..``c0999``, ``meta``
JSON ``{"score": [0, 1), "brand": "b00".."b99", "n": 0..99}``, ``tags``
ARRAY<INT64> of 1-5 values in 0..99. Both systems get the same rows, the same
HNSW parameters (M=16, efConstruction=200, L2) and the same filter strings.

Measured, per system and configuration (keeldb without and with scalar indexes
— STL_SORT on ``n`` and ``price``, INVERTED on ``cat`` —, Milvus Lite as it
comes), for five filters of about 1% selectivity: the latency of
``query(filter, output_fields=["count(*)"])`` (the filter's own cost: no rows
are materialised) and of ``query(filter, output_fields=["id"], limit=100)``;
the first call (cold: keeldb's JSON parse cache empty) and the median of
``--repeats`` further calls (warm). Then filtered vector search, batch-1, top
10, at 1% and 0.1% selectivity: median latency and recall@10 against exact
search over the selected rows (numpy, float64).

Ratios are Milvus Lite's latency divided by keeldb's, from the same run on the
same machine; with ``--lite-rows`` below ``--rows`` keeldb is measured again at
Lite's size so every ratio compares equal data. Results: ``<out>.json`` and
``<out>.md`` with machine info and the exact command.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from bench.engine import machine_info
from bench.metrics import exact_topk, recall_at_k

COLLECTION = "filters"
DIM, CLUSTERS, BATCH, TOP_K = 32, 64, 20_000, 10
HNSW = {"M": 16, "efConstruction": 200}
SCALAR_INDEXES = {"n": "STL_SORT", "price": "STL_SORT", "cat": "INVERTED"}

FILTERS = {
    "range": "n >= 500000 and n < 510000",
    "in": "cat in [" + ", ".join(f'"c{i:04d}"' for i in range(10)) + "]",
    "like prefix": 'cat like "c001%"',
    "JSON path": 'meta["score"] > 0.99',
    "compound": 'price < 100 and cat < "c0100" and meta["n"] < 50 or array_contains(tags, 7)'
    " and n < 10000",
}
VECTOR_FILTERS = {"1%": "n < 10000", "0.1%": "n < 1000"}


# -- data ------------------------------------------------------------------------------
class Data:
    """The benchmark rows, generated batch by batch from one seed."""

    def __init__(self, rows: int, seed: int = 3) -> None:
        self.rows = rows
        rng = np.random.default_rng(seed)
        self.centres = rng.normal(size=(CLUSTERS, DIM)).astype(np.float32) * 3
        self.seed = seed
        # the columns filters select on, kept for exact ground truth
        self.n = np.random.default_rng(seed + 1).integers(0, 1_000_000, rows)
        self.vectors = np.empty((rows, DIM), dtype=np.float32)
        for lo, batch in self.columns():
            self.vectors[lo : lo + len(batch["id"])] = batch["vec"]

    def columns(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for lo in range(0, self.rows, BATCH):
            hi = min(self.rows, lo + BATCH)
            rng = np.random.default_rng([self.seed, lo])
            count = hi - lo
            cluster = rng.integers(0, CLUSTERS, count)
            vec = self.centres[cluster] + rng.normal(size=(count, DIM)).astype(np.float32)
            lengths = rng.integers(1, 6, count)
            flat = rng.integers(0, 100, int(lengths.sum()))
            cuts = np.cumsum(lengths)[:-1]
            yield (
                lo,
                {
                    "id": np.arange(lo, hi, dtype=np.int64),
                    "vec": vec.astype(np.float32),
                    "price": rng.random(count) * 1000,
                    "n": self.n[lo:hi],
                    "cat": [f"c{c:04d}" for c in rng.integers(0, 1000, count)],
                    "meta": [
                        {"score": float(s), "brand": f"b{b:02d}", "n": int(m)}
                        for s, b, m in zip(
                            rng.random(count),
                            rng.integers(0, 100, count),
                            rng.integers(0, 100, count),
                        )
                    ],
                    "tags": [t.tolist() for t in np.split(flat, cuts)],
                },
            )

    @staticmethod
    def as_rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
        keys = list(batch)
        out = []
        for i in range(len(batch["id"])):
            row = {}
            for k in keys:
                v = batch[k][i]
                row[k] = v.tolist() if isinstance(v, np.ndarray) else v.item() if hasattr(
                    v, "item") else v  # fmt: skip
            out.append(row)
        return out

    def queries(self, count: int) -> np.ndarray:
        rng = np.random.default_rng(self.seed + 2)
        picked = self.centres[rng.integers(0, CLUSTERS, count)]
        return (picked + rng.normal(size=(count, DIM))).astype(np.float32)


# -- the systems -------------------------------------------------------------------------
def _schema(client: Any, data_type: Any) -> tuple[Any, Any]:
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", data_type.INT64, is_primary=True)
    schema.add_field("vec", data_type.FLOAT_VECTOR, dim=DIM)
    schema.add_field("price", data_type.DOUBLE)
    schema.add_field("n", data_type.INT64)
    schema.add_field("cat", data_type.VARCHAR, max_length=8)
    schema.add_field("meta", data_type.JSON)
    schema.add_field("tags", data_type.ARRAY, element_type=data_type.INT64, max_capacity=8)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="HNSW", metric_type="L2", params=HNSW)
    return schema, index


def open_keeldb(path: str) -> Any:
    import keeldb

    return keeldb.Client(path, settings=keeldb.Settings(sync_mode="none"))


def ingest_keeldb(data: Data, path: str) -> tuple[Any, dict[str, float]]:
    import keeldb

    client = open_keeldb(path)
    schema, index = _schema(client, keeldb.DataType)
    client.create_collection(COLLECTION, schema=schema, index_params=index)
    start = time.perf_counter()
    for _, batch in data.columns():
        client.insert(COLLECTION, batch)  # columnar insert
    client.flush(COLLECTION)
    inserted = time.perf_counter() - start
    client.wait_for_index(COLLECTION)
    return client, {"ingest_s": inserted, "ingest_and_index_s": time.perf_counter() - start}


def add_scalar_indexes(client: Any) -> float:
    start = time.perf_counter()
    for field, index_type in SCALAR_INDEXES.items():
        params = client.prepare_index_params()
        params.add_index(field, index_type=index_type)
        client.create_index(COLLECTION, params)
    return time.perf_counter() - start


def ingest_lite(data: Data, path: str) -> tuple[Any, dict[str, float]]:
    from pymilvus import DataType, MilvusClient

    for noisy in ("milvus_lite", "pymilvus"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    client = MilvusClient(os.path.join(path, "lite.db"))
    schema, index = _schema(client, DataType)
    client.create_collection(COLLECTION, schema=schema, index_params=index)
    spent = 0.0
    for _, batch in data.columns():
        rows = Data.as_rows(batch)  # pymilvus takes rows; building them is not timed
        start = time.perf_counter()
        client.insert(COLLECTION, rows)
        spent += time.perf_counter() - start
    start = time.perf_counter()
    client.flush(COLLECTION)
    client.load_collection(COLLECTION)
    return client, {"ingest_s": spent, "ingest_and_index_s": spent + time.perf_counter() - start}


# -- measurements -------------------------------------------------------------------------
def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def measure_filters(client: Any, repeats: int, row_repeats: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, text in FILTERS.items():

        def count(text: str = text) -> int:
            return client.query(COLLECTION, text, output_fields=["count(*)"])[0]["count(*)"]

        def first_ids(text: str = text) -> list[dict]:
            return client.query(COLLECTION, text, output_fields=["id"], limit=100)

        cold, matched = _timed(count)
        warm = [_timed(count)[0] for _ in range(repeats)]
        rows = [_timed(first_ids)[0] for _ in range(row_repeats or repeats)]
        out[name] = {
            "filter": text,
            "matched": int(matched),
            "count_cold_ms": cold * 1e3,
            "count_ms": statistics.median(warm) * 1e3,
            "query_limit100_ms": statistics.median(rows) * 1e3,
        }
        row = out[name]
        _say(f"    {name:12} {matched:>8,} rows  count {row['count_ms']:9.2f} ms "
             f"(cold {cold * 1e3:9.2f})  limit-100 {row['query_limit100_ms']:9.2f} ms")  # fmt: skip
    return out


def measure_vector_search(client: Any, data: Data, queries: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, text in VECTOR_FILTERS.items():
        limit = int(text.split("<")[1])
        allowed = data.n < limit
        truth = exact_topk(data.vectors, queries, TOP_K, allowed)
        found, latencies = [], []
        for query in queries:
            seconds, hits = _timed(
                lambda q=query, text=text: client.search(
                    COLLECTION, [q.tolist()], filter=text, limit=TOP_K, output_fields=["id"]
                )
            )
            latencies.append(seconds)
            found.append([hit["id"] for hit in hits[0]])
        out[name] = {
            "filter": text,
            "selected_rows": int(allowed.sum()),
            "median_ms": statistics.median(latencies) * 1e3,
            "p95_ms": float(np.percentile(latencies, 95)) * 1e3,
            "recall_at_10": recall_at_k(found, truth, TOP_K),
        }
        _say(f"    search {name:5} median {out[name]['median_ms']:8.2f} ms  "
             f"recall@10 {out[name]['recall_at_10']:.3f}")  # fmt: skip
    return out


def run_keeldb(data: Data, work: str, args: argparse.Namespace, queries: np.ndarray) -> dict:
    path = os.path.join(work, f"keeldb-{data.rows}")
    _say(f"keeldb, {data.rows:,} rows: ingest")
    client, ingest = ingest_keeldb(data, path)
    total = ingest["ingest_and_index_s"]
    _say(f"  ingest {ingest['ingest_s']:.1f} s, with HNSW builds {total:.1f} s")
    result: dict[str, Any] = {"rows": data.rows, **ingest}
    _say("  without scalar indexes")
    result["without_indexes"] = measure_filters(client, args.repeats)
    result["scalar_index_build_s"] = add_scalar_indexes(client)
    _say(f"  with scalar indexes (built in {result['scalar_index_build_s']:.2f} s)")
    result["with_indexes"] = measure_filters(client, args.repeats)
    result["explain"] = {name: client.explain(COLLECTION, text) for name, text in FILTERS.items()}
    result["vector_search"] = measure_vector_search(client, data, queries)
    client.close()
    return result


def run_lite(data: Data, work: str, args: argparse.Namespace, queries: np.ndarray) -> dict:
    path = os.path.join(work, f"lite-{data.rows}")
    os.makedirs(path, exist_ok=True)
    _say(f"Milvus Lite, {data.rows:,} rows: ingest")
    client, ingest = ingest_lite(data, path)
    total = ingest["ingest_and_index_s"]
    _say(f"  ingest {ingest['ingest_s']:.1f} s, with flush + load {total:.1f} s")
    result: dict[str, Any] = {"rows": data.rows, **ingest}
    result["filters"] = measure_filters(client, args.lite_repeats, row_repeats=1)
    result["vector_search"] = measure_vector_search(client, data, queries[: args.lite_queries])
    client.close()
    return result


def ratios(keel: dict[str, Any], lite: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": lite["rows"], "filters": {}, "vector_search": {}}
    for name in FILTERS:
        base = lite["filters"][name]
        out["filters"][name] = {
            config: {
                "count": base["count_ms"] / keel[config][name]["count_ms"],
                "query_limit100": base["query_limit100_ms"]
                / keel[config][name]["query_limit100_ms"],
            }
            for config in ("without_indexes", "with_indexes")
        }
    for name in VECTOR_FILTERS:
        out["vector_search"][name] = (
            lite["vector_search"][name]["median_ms"] / keel["vector_search"][name]["median_ms"]
        )
    return out


def measure_crossover(rows: int) -> dict[str, Any]:
    """Where an index lookup stops paying: one leaf, forced to the index or to a scan.

    One sealed-segment-sized table (``rows`` rows) with an INT64, a DOUBLE, a
    high-cardinality VARCHAR and a 1,000-value VARCHAR column; for each, filters
    of growing selectivity run through ``filter_rows`` with the planner's
    threshold forced to "always index" and to "never index" (best of 3).
    """
    import pyarrow as pa

    import keeldb.query.filter_plan as plan
    from keeldb.expr import compile_filter
    from keeldb.query.scalar_index import ScalarIndex
    from keeldb.query.snapshot import SegmentView
    from keeldb.schema.field import FieldSchema
    from keeldb.types import DataType

    rng = np.random.default_rng(11)
    table = pa.table({
        "i": rng.integers(0, rows, rows),
        "f": rng.random(rows),
        "s": pa.array([f"t{x:09d}" for x in rng.integers(0, 10**9, rows)]),
        "c": pa.array([f"c{x:04d}" for x in rng.integers(0, 1000, rows)]),
    })  # fmt: skip
    fields = {
        "id": FieldSchema("id", DataType.INT64, is_primary=True),
        "i": FieldSchema("i", DataType.INT64),
        "f": FieldSchema("f", DataType.DOUBLE),
        "s": FieldSchema("s", DataType.VARCHAR, max_length=16),
        "c": FieldSchema("c", DataType.VARCHAR, max_length=16),
    }
    seg = SegmentView(
        segment_id=1, table=table, vectors={}, alive=np.ones(rows, dtype=bool),
        scalar_indexes={name: ScalarIndex.build(table.column(name)) for name in "ifsc"},
    )  # fmt: skip
    shapes = {
        "INT64 range": lambda q: f"i < {int(q * rows)}",
        "DOUBLE range": lambda q: f"f < {q}",
        "VARCHAR range": lambda q: f's < "t{int(q * 10**9):09d}"',
        "VARCHAR in (1,000 values)": lambda q: (
            "c in [" + ", ".join(f'"c{k:04d}"' for k in range(max(1, int(q * 1000)))) + "]"
        ),
    }
    out: dict[str, Any] = {"rows": rows, "index_fraction_used": plan.INDEX_FRACTION}
    saved = plan.INDEX_FRACTION
    try:
        for shape, make in shapes.items():
            points = []
            for q in (0.001, 0.01, 0.1, 0.25, 0.5, 0.8):
                compiled = compile_filter(make(q), fields, dynamic=False)
                times = {}
                for route, fraction in (("index", 1.0), ("scan", -1.0)):
                    plan.INDEX_FRACTION = fraction
                    times[route] = min(
                        _timed(lambda c=compiled: plan.filter_rows(c, seg))[0] for _ in range(3)
                    )
                points.append({"selectivity": q, "index_ms": times["index"] * 1e3,
                               "scan_ms": times["scan"] * 1e3})  # fmt: skip
            out[shape] = points
            _say(f"  crossover {shape}: " + ", ".join(
                f"{p['selectivity']:g}: {p['index_ms']:.1f}/{p['scan_ms']:.1f} ms" for p in points
            ))  # fmt: skip
    finally:
        plan.INDEX_FRACTION = saved
    return out


# -- report ------------------------------------------------------------------------------
def markdown(result: dict[str, Any]) -> str:
    keel, lite, ratio = result["keeldb"], result["milvus_lite"], result["ratios"]
    same = result.get("keeldb_at_lite_rows", keel)
    m = result["machine"]
    lines = [
        f"# Filter benchmark: {keel['rows']:,} rows (Milvus Lite: {lite['rows']:,})",
        "",
        f"Command: `{result['command']}`  ",
        f"Machine: {m['cpu_model']}, {m['cpu_count']} cores, "
        f"{(m['ram_bytes'] or 0) / 2**30:.0f} GiB RAM, Python {m['python']}, "
        f"load average at start {', '.join(f'{x:.1f}' for x in m['loadavg_start'])}, "
        f"at end {', '.join(f'{x:.1f}' for x in m.get('loadavg_end', []))}  ",
        f"Versions: {', '.join(f'{k} {v}' for k, v in m['versions'].items() if v)}  ",
        f"Commit: {m.get('git_commit')} (dirty: {m.get('git_dirty')})",
        "",
        "## Query latency, `count(*)` with the filter (warm median; ms)",
        "",
        "| filter | rows matched | keeldb, no scalar index | keeldb, scalar indexes | "
        "Milvus Lite | Lite ÷ keeldb (no index) | Lite ÷ keeldb (indexes) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in FILTERS:
        a, b = keel["without_indexes"][name], keel["with_indexes"][name]
        r = ratio["filters"][name]
        lines.append(
            f"| {name} | {a['matched']:,} | {a['count_ms']:.2f} | {b['count_ms']:.2f} | "
            f"{lite['filters'][name]['count_ms']:.1f} | {r['without_indexes']['count']:.0f}× | "
            f"{r['with_indexes']['count']:.0f}× |"
        )
    lines += [
        "",
        '## Query latency, `query(filter, output_fields=["id"], limit=100)` (warm median; ms)',
        "",
        "| filter | keeldb, no scalar index | keeldb, scalar indexes | Milvus Lite | "
        "Lite ÷ keeldb (indexes) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in FILTERS:
        a, b = keel["without_indexes"][name], keel["with_indexes"][name]
        lines.append(
            f"| {name} | {a['query_limit100_ms']:.2f} | {b['query_limit100_ms']:.2f} | "
            f"{lite['filters'][name]['query_limit100_ms']:.1f} | "
            f"{ratio['filters'][name]['with_indexes']['query_limit100']:.0f}× |"
        )
    lines += [
        "",
        "## First query (cold: keeldb's JSON parse cache empty; ms)",
        "",
        "| filter | keeldb, no scalar index | keeldb, scalar indexes | Milvus Lite |",
        "|---|---:|---:|---:|",
    ]
    for name in FILTERS:
        lines.append(
            f"| {name} | {keel['without_indexes'][name]['count_cold_ms']:.1f} | "
            f"{keel['with_indexes'][name]['count_cold_ms']:.1f} | "
            f"{lite['filters'][name]['count_cold_ms']:.1f} |"
        )
    lines += [
        "",
        "## Filtered vector search, batch 1, top 10",
        "",
        "| selectivity | filter | keeldb median ms | keeldb recall@10 | Lite median ms | "
        "Lite recall@10 | Lite ÷ keeldb |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, text in VECTOR_FILTERS.items():
        k, li = keel["vector_search"][name], lite["vector_search"][name]
        lines.append(
            f"| {name} | `{text}` | {k['median_ms']:.2f} | {k['recall_at_10']:.3f} | "
            f"{li['median_ms']:.2f} | {li['recall_at_10']:.3f} | "
            f"{ratio['vector_search'][name]:.1f}× |"
        )
    lines += [
        "",
        "## Ingest",
        "",
        f"keeldb: {keel['ingest_s']:.1f} s insert + flush, {keel['ingest_and_index_s']:.1f} s "
        f"with every HNSW segment index built; scalar indexes "
        f"{keel['scalar_index_build_s']:.2f} s. Milvus Lite: {lite['ingest_s']:.1f} s insert, "
        f"{lite['ingest_and_index_s']:.1f} s with flush and load.",
    ]
    if same is not keel:
        lines += ["", f"Ratios compare keeldb re-measured at {same['rows']:,} rows (Lite's size)."]
    lines += [
        "",
        "## Notes",
        "",
        "- Warm keeldb figures of JSON filters come from the JSON parse cache of sealed "
        "segments (path values kept per segment); the cold column is the first query, "
        "which parses. There is no JSON scalar index yet, so the JSON path filter is a "
        "scan in both keeldb configurations.",
        "- The scalar indexes are in-memory and derived (`keeldb/query/scalar_index.py`); "
        "`scalar_index_build_s` is building them for every sealed segment at "
        "`create_index`. The planner's choices are the plans shown below.",
        "- Milvus Lite evaluates filters on Arrow or, for JSON and mixed types, row by row "
        "in Python; it has no scalar index here (keeldb's comparison column without "
        "indexes is the like-for-like one).",
        "- The machine is shared with other work (see the load averages); figures are "
        "medians of repeated calls, ratios come from this one run.",
    ]
    cross = result.get("crossover")
    if cross:
        lines += [
            "",
            f"## Index lookup vs scan for one leaf ({cross['rows']:,}-row segment; ms, best of 3)",
            "",
            "The planner uses an index when the lookup yields at most "
            f"{cross['index_fraction_used']:.0%} of a segment's rows.",
            "",
            "| leaf | " + " | ".join(f"{p['selectivity']:g}" for p in cross["INT64 range"]) + " |",
            "|---|" + "---:|" * len(cross["INT64 range"]),
        ]
        for shape, points in cross.items():
            if isinstance(points, list):
                cells = " | ".join(f"{p['index_ms']:.1f} / {p['scan_ms']:.1f}" for p in points)
                lines.append(f"| {shape} (index / scan) | {cells} |")
    lines += ["", "Filters:", ""] + [f"- {name}: `{text}`" for name, text in FILTERS.items()]
    lines += ["", "keeldb's plans (`Client.explain`), with scalar indexes:", ""]
    for name, plan in keel["explain"].items():
        head = "\n".join(plan.splitlines()[:12])
        lines += [f"{name}:", "```", head, "```"]
    return "\n".join(lines) + "\n"


def _say(text: str) -> None:
    print(text, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lite-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--queries", type=int, default=100, help="vector-search queries")
    parser.add_argument("--repeats", type=int, default=7, help="warm runs per keeldb filter")
    parser.add_argument("--lite-repeats", type=int, default=2, help="warm runs per Lite filter")
    parser.add_argument("--lite-queries", type=int, default=30, help="Lite's vector queries")
    parser.add_argument("--skip-lite", action="store_true", help="development runs only")
    parser.add_argument("--crossover-rows", type=int, default=1_000_000)
    parser.add_argument("--work", default=None, help="data directories (default: a temp dir)")
    parser.add_argument("--out", required=True, help="output path without extension")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    work = args.work or tempfile.mkdtemp(prefix="keeldb-filters-")
    lite_rows = args.lite_rows or args.rows
    result: dict[str, Any] = {
        "command": "python -m bench.filters "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_info(),
        "filters": FILTERS,
        "vector_filters": VECTOR_FILTERS,
    }
    try:
        _say("crossover of index lookups and scans")
        result["crossover"] = measure_crossover(args.crossover_rows)
        data = Data(args.rows)
        queries = data.queries(args.queries)
        result["keeldb"] = run_keeldb(data, work, args, queries)
        lite_data = data if lite_rows == args.rows else Data(lite_rows)
        if lite_rows != args.rows:
            del data
            gc.collect()
            result["keeldb_at_lite_rows"] = run_keeldb(lite_data, work, args, queries)
        if args.skip_lite:
            _say(f"Milvus Lite skipped (--skip-lite): {args.out}.json only, no ratios")
            with open(args.out + ".json", "w") as f:
                json.dump(result, f, indent=2)
            return result
        result["milvus_lite"] = run_lite(lite_data, work, args, queries)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    same = result.get("keeldb_at_lite_rows", result["keeldb"])
    result["ratios"] = ratios(same, result["milvus_lite"])
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=2)
    with open(args.out + ".md", "w") as f:
        f.write(markdown(result))
    _say(f"wrote {args.out}.json and {args.out}.md")
    return result


if __name__ == "__main__":
    main()
