"""One phase of one system in a fresh process, started by ``bench.suite.runner``.

    python -m bench.suite.phase ingest --system keeldb --data D --path P --result R.json
    python -m bench.suite.phase search --system keeldb --data D --path P --result R.json

``ingest`` creates the collection in ``P``, inserts the dataset in batches
(``prepare`` untimed, ``insert`` timed), then ``build`` (flush + index until
searchable + close, timed). ``search`` reopens ``P`` and answers a first query
(timed), then sweeps the search parameter at batch 1 and batch 100, runs the
filtered searches at the operating parameter (the first reaching recall 0.95)
and at the largest, and for served systems measures 1, 4 and 16 concurrent
clients. Each writes one JSON object, with the peak RSS of the process
(``VmHWM``) plus, for served systems, the server process's.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from typing import Any

import numpy as np

from bench.metrics import first_reaching
from bench.phase import current_rss_bytes, peak_rss_bytes
from bench.suite import datasets, measure
from bench.suite.adapters import ADAPTERS
from bench.suite.adapters.base import Adapter, Spec

TARGET_RECALL = 0.95
CLIENTS = (1, 4, 16)


def _spec(data: datasets.Dataset) -> Spec:
    return Spec(data.dim, data.metric, data.str_field, data.int_field)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _memory(system: Adapter) -> dict[str, int]:
    own = peak_rss_bytes()
    server = int(getattr(system, "server_peak_rss_bytes", 0))
    return {"client_peak_rss_bytes": own, "server_peak_rss_bytes": server,
            "peak_rss_bytes": own + server}  # fmt: skip


def run_ingest(system: Adapter, data: datasets.Dataset, args: argparse.Namespace) -> dict:
    t = time.perf_counter()
    system.create(args.path, _spec(data))
    setup_s = time.perf_counter() - t
    calls: list[float] = []
    for lo in range(0, data.rows, args.batch):
        prepared = system.prepare(data.batch(lo, min(lo + args.batch, data.rows)))
        t = time.perf_counter()
        system.insert(prepared)
        calls.append(time.perf_counter() - t)
    insert_s = float(sum(calls))
    t = time.perf_counter()
    detail = system.build()
    build_s = time.perf_counter() - t
    system.close()
    ms = np.asarray(calls) * 1e3
    out = {
        "rows": data.rows,
        "batch_rows": args.batch,
        "setup_s": setup_s,
        "insert_s": insert_s,
        "rows_per_s": data.rows / insert_s,
        "batch_ms_p50": float(np.percentile(ms, 50)),
        "batch_ms_max": float(ms.max()),
        "build_s": build_s,
        "build_detail": detail,
        "ingest_total_s": insert_s + build_s,
    }
    out.update(_memory(system))
    return out


def _sweep(system: Adapter, data: datasets.Dataset, n1: int) -> list[dict[str, Any]]:
    points = []
    for param in system.params:
        search = system.searcher(param, None)
        b1 = measure.point(search, data.queries[:n1], data.truth, data.vectors, "batch1")
        b100 = measure.point(search, data.queries, data.truth, data.vectors, "batch100")
        points.append({"param": param, "batch1": b1, "batch100": b100})
        _say(f"  {system.name} {system.param_name}={param}: recall {b100['recall']:.3f}, "
             f"batch-1 {b1['qps']:,.0f} QPS p50 {b1['p50_ms']:.2f} ms, "
             f"batch-100 {b100['qps']:,.0f} QPS")  # fmt: skip
    return points


def _filtered(
    system: Adapter, data: datasets.Dataset, params: list, nf: int, budget_s: float
) -> dict[str, list]:
    out: dict[str, list] = {}
    for flt in data.filters:
        truth = data.filtered_truth[flt.name]
        out[flt.name] = []
        for label, param in params:
            search = system.searcher(param, flt)
            p = measure.point(search, data.queries[:nf], truth, data.vectors, "batch1", budget_s)
            p.update(param=param, at=label)
            out[flt.name].append(p)
            _say(f"  {system.name} filter {flt.name} {label} {param}: recall {p['recall']:.3f}, "
                 f"{p['qps']:,.1f} QPS over {p['queries']} queries")  # fmt: skip
    return out


def run_search(system: Adapter, data: datasets.Dataset, args: argparse.Namespace) -> dict:
    if system.needs_masks:
        system.set_masks({f.name: data.filter_mask(f) for f in data.filters})
    rss_before = current_rss_bytes()
    t0 = time.perf_counter()
    system.open(args.path, _spec(data))
    opened = time.perf_counter()
    first = system.searcher(system.reopen_param(), None)(data.queries[:1])[0]
    reopen = {"open_s": opened - t0, "first_query_s": time.perf_counter() - opened,
              "total_s": time.perf_counter() - t0, "first_hits": len(first)}  # fmt: skip
    rows = system.row_count()
    if rows != data.rows:
        raise RuntimeError(f"{system.name} holds {rows} rows after reopen, expected {data.rows}")

    sweep = _sweep(system, data, args.batch1_queries)
    op = first_reaching([{"ef": p["param"] if p["param"] is not None else 0,
                          "recall": p["batch100"]["recall"], "point": p} for p in sweep],
                        TARGET_RECALL)  # fmt: skip
    op_param = op["point"]["param"] if op else system.params[-1]
    at = [("operating", op_param)]
    if system.params[-1] != op_param:
        at.append(("max", system.params[-1]))
    filtered = _filtered(system, data, at, args.filter_queries, args.filter_budget_s)

    concurrency = []
    if system.served and args.concurrent_s > 0:
        for n in CLIENTS:
            c = measure.concurrent(
                system.client_factory(op_param), data.queries, n, args.concurrent_s
            )
            concurrency.append(c)
            _say(f"  {system.name} {n} clients: {c['qps']:,.0f} QPS, p99 {c['p99_ms']:.2f} ms")
    system.close()
    out = {
        "rows_seen": rows,
        "reopen": reopen,
        "sweep": sweep,
        "operating_param": op_param,
        "operating_reached": op is not None,
        "filtered": filtered,
        "concurrent": concurrency,
        "rss_before_open_bytes": rss_before,
    }
    out.update(_memory(system))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite.phase")
    parser.add_argument("phase", choices=["ingest", "search"])
    parser.add_argument("--system", required=True, choices=sorted(ADAPTERS))
    parser.add_argument("--data", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batch1-queries", type=int, default=300)
    parser.add_argument("--filter-queries", type=int, default=200)
    parser.add_argument("--filter-budget-s", type=float, default=60.0)
    parser.add_argument("--concurrent-s", type=float, default=3.0)
    args = parser.parse_args(argv)
    system = ADAPTERS[args.system]()
    t = time.perf_counter()
    for module in system.modules:
        importlib.import_module(module)
    import_s = time.perf_counter() - t
    data = datasets.load(args.data)
    run = run_ingest if args.phase == "ingest" else run_search
    result = run(system, data, args)
    result.update(system=args.system, phase=args.phase, pid=os.getpid(), import_s=import_s)
    with open(args.result, "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
