"""The engine benchmark of issue #2: keeldb vs raw FAISS vs Milvus Lite, side by side.

    python -m bench.engine --rows 100000 --dim 128 --out bench/results/engine-100k.json
    python -m bench.engine --rows 2000 --queries 50 --out /tmp/smoke.json      # smoke

One invocation generates the corpus (bench.dataset) and the exact ground truth
(numpy, float64), then for each system runs, each in a fresh process:

1. ``ingest``: create the collection, insert in batches of ``--batch`` rows (row
   dicts; keeldb also a columnar line, a dict of numpy arrays per batch), flush,
   wait for the HNSW index (M=16, efConstruction=200, L2);
2. ``search``: reopen the data directory and answer a first query (timed), then
   batch-1 single-thread searches over ``--queries`` queries for every ef of
   ``--efs`` and filtered searches keeping ~1% of rows.

The JSON (``--out``) carries machine info, library versions, the command, every
measurement and the ratios against the issue's targets; a Markdown table is
written next to it (``--md``, default: the same path with ``.md``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

from bench import report
from bench.dataset import FILTERS, make_corpus, make_queries, save_corpus
from bench.metrics import exact_topk
from bench.systems import HNSW_EF_CONSTRUCTION, HNSW_M, METRIC, TOP_K, disk_bytes, remove

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_SYSTEMS = ["keeldb", "keeldb-columnar", "faiss", "milvus-lite"]
SEARCHED = {"keeldb", "faiss", "milvus-lite"}  # keeldb-columnar is an ingest-only line

TARGETS = {
    "ingest_vs_milvus_lite": 3.0,  # keeldb rows/s / Milvus Lite rows/s, at least
    "latency_vs_faiss": 1.5,  # keeldb batch-1 p50 / FAISS p50 at recall 0.95, at most
    "filtered_recall": 0.95,  # keeldb recall@10 with a 1% filter, at least
}


# -- machine info ---------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict[str, Any]:
    import faiss

    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "ram_bytes": _ram_bytes(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "keeldb": _version("keeldb"),
            "faiss-cpu": getattr(faiss, "__version__", None) or _version("faiss-cpu"),
            "pymilvus": _version("pymilvus"),
            "milvus-lite": _version("milvus-lite"),
            "numpy": np.__version__,
            "pyarrow": _version("pyarrow"),
        },
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "loadavg_start": list(os.getloadavg()),
    }


# -- phases ----------------------------------------------------------------------------


def _run_phase(
    phase: str, system: str, work: str, path: str, args: argparse.Namespace
) -> dict[str, Any]:
    result_path = os.path.join(work, f"{system}-{phase}.json")
    log_path = os.path.join(work, f"{system}-{phase}.log")
    cmd = [
        sys.executable,
        "-m",
        "bench.phase",
        phase,
        "--system",
        system,
        "--work",
        work,
        "--path",
        path,
        "--result",
        result_path,
        "--batch",
        str(args.batch),
        "--efs",
        ",".join(map(str, args.efs)),
        "--filter-efs",
        ",".join(map(str, args.filter_efs)),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning OpenMP threads between calls
    t = time.perf_counter()
    _say(f"  {system} {phase} ...")
    with open(log_path, "w") as log:
        try:
            proc = subprocess.run(
                cmd,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=args.phase_timeout,
            )
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = time.perf_counter() - t
    if rc != 0 or not os.path.exists(result_path):
        with open(log_path) as f:
            tail = f.read()[-3000:]
        _say(f"  {system} {phase} FAILED ({rc}) after {wall:.1f}s:\n{tail}")
        return {"error": f"exit {rc}", "log_tail": tail, "phase_wall_s": wall}
    with open(result_path) as f:
        result = json.load(f)
    result["phase_wall_s"] = wall
    _say(f"  {system} {phase} done in {wall:.1f}s")
    return result


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- ratios ------------------------------------------------------------------------------


def _op_point(search: dict[str, Any]) -> dict[str, Any] | None:
    if not search or "sweep" not in search or search.get("operating_ef") is None:
        return None
    return next(p for p in search["sweep"] if p["ef"] == search["operating_ef"])


def _at_ef(search: dict[str, Any], ef: int) -> dict[str, Any] | None:
    return next((p for p in search.get("sweep", []) if p["ef"] == ef), None)


def compute_ratios(systems: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's three ratios, each from numbers of this run (None where a side is missing)."""
    out: dict[str, Any] = {}
    keel = systems.get("keeldb", {})
    milvus = systems.get("milvus-lite", {})
    fa = systems.get("faiss", {})

    k_ing = keel.get("ingest", {}).get("rows_per_s")
    m_ing = milvus.get("ingest", {}).get("rows_per_s")
    if k_ing and m_ing:
        ratio = k_ing / m_ing
        out["ingest_vs_milvus_lite"] = {
            "value": ratio,
            "target": f">= {TARGETS['ingest_vs_milvus_lite']}",
            "met": ratio >= TARGETS["ingest_vs_milvus_lite"],
            "keeldb_rows_per_s": k_ing,
            "milvus_lite_rows_per_s": m_ing,
        }
        col = systems.get("keeldb-columnar", {}).get("ingest", {}).get("rows_per_s")
        if col:
            out["ingest_vs_milvus_lite"]["keeldb_columnar_ratio"] = col / m_ing

    k_op, f_op = _op_point(keel.get("search", {})), _op_point(fa.get("search", {}))
    if k_op and f_op:
        ratio = k_op["p50_ms"] / f_op["p50_ms"]
        entry = {
            "value": ratio,
            "target": f"<= {TARGETS['latency_vs_faiss']}",
            "met": ratio <= TARGETS["latency_vs_faiss"],
            "basis": "p50 at each system's first ef reaching recall@10 >= 0.95",
            "keeldb": {k: k_op[k] for k in ("ef", "recall", "p50_ms", "p99_ms", "qps")},
            "faiss": {k: f_op[k] for k in ("ef", "recall", "p50_ms", "p99_ms", "qps")},
            "p99_ratio": k_op["p99_ms"] / f_op["p99_ms"],
            "qps_ratio_faiss_over_keeldb": f_op["qps"] / k_op["qps"],
        }
        same = _at_ef(keel["search"], f_op["ef"])
        if same:
            entry["same_ef_p50_ratio"] = same["p50_ms"] / f_op["p50_ms"]
        entry["overhead_ms_p50"] = k_op["p50_ms"] - f_op["p50_ms"]
        out["latency_vs_faiss"] = entry
        m_op = _op_point(milvus.get("search", {}))
        if m_op:
            out["milvus_lite_latency_vs_faiss"] = {
                "value": m_op["p50_ms"] / f_op["p50_ms"],
                "milvus_lite_ef": m_op["ef"],
            }

    ks = keel.get("search", {})
    if ks.get("filtered"):
        op_ef = ks.get("operating_ef") or max(p["ef"] for p in ks["sweep"])
        head = next(p for p in ks["filtered"]["section"] if p["ef"] == op_ef)
        worst = min(p["recall"] for pts in ks["filtered"].values() for p in pts)
        out["filtered_recall"] = {
            "value": head["recall"],
            "target": f">= {TARGETS['filtered_recall']}",
            "met": head["recall"] >= TARGETS["filtered_recall"],
            "basis": f"filter {FILTERS['section']!r} at keeldb's operating ef={op_ef}",
            "min_over_all_filters_and_efs": worst,
            "qps": head["qps"],
        }
    return out


# -- main ------------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return sorted({int(x) for x in text.split(",") if x})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--batch", type=int, default=1000, help="rows per insert call")
    p.add_argument(
        "--systems",
        default=",".join(ALL_SYSTEMS),
        help=f"comma-separated subset of {','.join(ALL_SYSTEMS)}",
    )
    p.add_argument("--efs", type=_ints, default=[10, 16, 24, 32, 48, 64, 96, 128, 256])
    p.add_argument(
        "--filter-efs",
        type=_ints,
        default=[64, 256],
        help="filtered searches run at each system's operating ef and at these",
    )
    p.add_argument("--out", default=None, help="JSON result path (default: print only)")
    p.add_argument("--md", default=None, help="Markdown table path (default: --out with .md)")
    p.add_argument(
        "--work", default=None, help="keep data and stores here (default: a temp dir, removed)"
    )
    p.add_argument("--phase-timeout", type=float, default=3600.0)
    args = p.parse_args(argv)
    args.system_list = [s for s in args.systems.split(",") if s]
    unknown = set(args.system_list) - set(ALL_SYSTEMS)
    if unknown:
        p.error(f"unknown systems: {sorted(unknown)}")
    if min(args.efs) < TOP_K:
        p.error(f"every ef must be >= top-k ({TOP_K})")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command = "python -m bench.engine " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    started = _dt.datetime.now(_dt.timezone.utc)
    machine = machine_info()
    keep = args.work is not None
    work = os.path.abspath(args.work) if keep else tempfile.mkdtemp(prefix="keeldb-bench-")
    os.makedirs(work, exist_ok=True)
    _say(f"bench.engine: {args.rows} x {args.dim}-d, {args.queries} queries, work dir {work}")

    t = time.perf_counter()
    corpus = make_corpus(args.rows, args.dim)
    queries = make_queries(args.queries, args.dim)
    save_corpus(corpus, os.path.join(work, "data"))
    np.save(os.path.join(work, "queries.npy"), queries)
    np.save(os.path.join(work, "gt.npy"), exact_topk(corpus.vectors, queries, TOP_K))
    selectivity = {}
    for name in FILTERS:
        mask = corpus.filter_mask(name)
        selectivity[name] = float(mask.mean())
        np.save(
            os.path.join(work, f"gt-{name}.npy"), exact_topk(corpus.vectors, queries, TOP_K, mask)
        )
    prep_s = time.perf_counter() - t
    _say(f"  corpus + exact ground truth in {prep_s:.1f}s")
    del corpus

    systems: dict[str, dict[str, Any]] = {}
    for system in args.system_list:
        path = os.path.join(work, system)
        remove(path)
        entry: dict[str, Any] = {"ingest": _run_phase("ingest", system, work, path, args)}
        entry["disk_bytes"] = disk_bytes(path) if os.path.exists(path) else None
        if system in SEARCHED and "error" not in entry["ingest"]:
            entry["search"] = _run_phase("search", system, work, path, args)
        if system == "keeldb-columnar" or not keep:
            remove(path)
        systems[system] = entry

    result = {
        "benchmark": "engine",
        "command": command,
        "date_utc": started.isoformat(timespec="seconds"),
        "duration_s": (_dt.datetime.now(_dt.timezone.utc) - started).total_seconds(),
        "machine": dict(machine, loadavg_end=list(os.getloadavg())),
        "params": {
            "rows": args.rows,
            "dim": args.dim,
            "queries": args.queries,
            "batch_rows": args.batch,
            "top_k": TOP_K,
            "metric": METRIC,
            "hnsw": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION},
            "efs": args.efs,
            "filter_efs": args.filter_efs,
            "filters": FILTERS,
            "filter_selectivity": selectivity,
            "systems": args.system_list,
            "keeldb_settings": "keeldb.Client(dir) defaults: sync_mode='fsync'",
            "milvus_lite_settings": "MilvusClient('<dir>/milvus.db') defaults",
            "search_threads": (
                "1 client thread; faiss.omp_set_num_threads(1) in every search process"
            ),
            "ground_truth": "exact L2 in float64 (numpy), ties by lower id",
            "prep_s": prep_s,
        },
        "systems": systems,
    }
    result["ratios"] = compute_ratios(systems)
    markdown = report.render(result)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        md_path = args.md or os.path.splitext(args.out)[0] + ".md"
        with open(md_path, "w") as f:
            f.write(markdown)
        _say(f"wrote {args.out} and {md_path}")
    print(markdown)
    if not keep:
        remove(work)
    return result


if __name__ == "__main__":
    main()
