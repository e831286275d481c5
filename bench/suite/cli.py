"""``python -m bench run``: prepare a dataset, run the systems, write JSON + Markdown + plots.

    python -m bench run --dataset debian --systems all --repeats 3
    python -m bench run --dataset smoke --systems all          # every adapter on 2,000 vectors
    python -m bench run --dataset synthetic-1m --systems keeldb,faiss,hnswlib --repeats 1
    python -m bench report bench/results/debian.json           # redo Markdown + plots

Output: ``--out`` (default ``bench/results/<dataset>.json``), with ``.md`` and
``-batch1.png`` / ``-batch100.png`` / ``-filtered.png`` next to it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.suite import datasets, report, runner
from bench.suite.adapters import ALL

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _systems(text: str) -> list[str]:
    names = ALL if text == "all" else [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown:
        raise SystemExit(f"unknown system(s) {unknown}; choose from {ALL}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suite")
    run.add_argument("--dataset", choices=sorted(datasets.RECIPES), default="debian")
    run.add_argument("--systems", default="all", help=f"comma-separated, or all: {','.join(ALL)}")
    run.add_argument("--rows", type=int, help="take the first rows only (default: all)")
    run.add_argument("--queries", type=int, help="query count (default: 1000; smoke 50)")
    run.add_argument("--repeats", type=int, default=3)
    run.add_argument("--batch", type=int, default=1000, help="rows per insert call")
    run.add_argument("--batch1-queries", type=int, default=300)
    run.add_argument("--filter-queries", type=int, default=200)
    run.add_argument(
        "--filter-budget-s", type=float, default=60.0,
        help="seconds per filtered point; a slower system is measured on fewer queries (min 10)",
    )  # fmt: skip
    run.add_argument("--concurrent-s", type=float, default=3.0, help="seconds per client count")
    run.add_argument("--keeldb-commit", help="benchmark keeldb/ as of this commit (git archive)")
    run.add_argument("--work", help="scratch directory (default: a temporary one)")
    run.add_argument("--out", help="result JSON (default: bench/results/<dataset>.json)")
    rep = sub.add_parser("report", help="rewrite the Markdown and plots of a result JSON")
    rep.add_argument("json")
    args = parser.parse_args(argv)

    if args.command == "report":
        report.write_all(Path(args.json), json.loads(Path(args.json).read_text()))
        return 0
    data_dir = datasets.prepare(args.dataset, args.rows, args.queries)
    opts = {
        "batch": args.batch,
        "batch1_queries": args.batch1_queries,
        "filter_queries": args.filter_queries,
        "filter_budget_s": args.filter_budget_s,
        "concurrent_s": args.concurrent_s,
    }
    out_path = Path(args.out) if args.out else RESULTS / f"{args.dataset}.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_suffix(".partial.json")

    def checkpoint(so_far: dict) -> None:  # what finished survives an interrupted run
        partial.write_text(json.dumps(so_far, indent=1))

    with tempfile.TemporaryDirectory(prefix="keel-bench-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        systems = _systems(args.systems)
        result = runner.run(
            systems, data_dir, work, args.repeats, opts, args.keeldb_commit, checkpoint
        )
    out_path.write_text(json.dumps(result, indent=1))
    partial.unlink(missing_ok=True)
    report.write_all(out_path, result)
    runner.say(f"wrote {out_path} (+ .md, plots); errors: {sorted(result['errors']) or 'none'}")
    return 1 if result["errors"] else 0
