"""Where keeldb's time goes: cProfile over the ingest path and the batch-1 search path.

    python -m bench.profile_keeldb --rows 100000 --searches 2000 --ef 32 \\
        --out bench/results/profile-keeldb-100k.md

In one process, on the benchmark corpus (bench.dataset):

1. fsync floor: the median ``os.fsync`` after a WAL-sized write in the data dir;
2. ingest: row-dict batches of ``--batch`` rows, every ``insert`` call profiled;
   then the columnar path (dict of numpy arrays) for ``--columnar-batches`` batches;
3. flush + ``wait_for_index`` (timed, not profiled);
4. batch-1 search at ``--ef``: unprofiled wall per call, the raw FAISS call on
   keeldb's *own* index object with the same ``ef`` (the floor keeldb adds to),
   then ``--searches`` profiled calls; the same for a filtered search
   (``section == 's7'``, ~1% of rows);
5. reopen: ``keeldb.Client(dir)`` + ``load_collection`` + the first search, profiled.

Reported per operation (per insert call, per search): own time (tottime) and
cumulative time (cumtime) in µs, and calls per operation. cProfile adds a fixed
cost to every Python function call, so profiled µs run above the unprofiled
wall, which is reported next to them; read the profile for proportions.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as _dt
import gc
import os
import pstats
import sys
import tempfile
import threading
import time
from typing import Any

import numpy as np

from bench.dataset import FILTERS, make_corpus, make_queries
from bench.engine import machine_info
from bench.systems import COLLECTION, METRIC, TOP_K, _milvus_schema, remove

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE_MARK = "site-packages" + os.sep


def _short(path: str) -> str:
    if path.startswith(REPO + os.sep):
        return path[len(REPO) + 1 :]
    if SITE_MARK in path:
        return path.split(SITE_MARK, 1)[1]
    return path


def _label(key: tuple[str, int, str]) -> str:
    file, line, func = key
    if file == "~":
        return func  # a builtin: "{built-in method ...}"
    return f"{_short(file)}:{line}({func})"


def profile_table(profiler: cProfile.Profile, ops: int, top: int, sort: str) -> list[str]:
    """Top functions as Markdown rows, per operation (``ops`` calls of the profiled op)."""
    stats = pstats.Stats(profiler)
    rows = []
    for key, (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((key, nc, tt, ct))
    index = 2 if sort == "tottime" else 3
    rows.sort(key=lambda r: r[index], reverse=True)
    total = sum(r[2] for r in rows)
    out = [
        "| function | calls/op | own µs/op | cum µs/op | own % |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, nc, tt, ct in rows[:top]:
        out.append(
            f"| `{_label(key)}` | {nc / ops:.2f} | {tt / ops * 1e6:,.1f} | {ct / ops * 1e6:,.1f} | "
            f"{tt / total * 100 if total else 0:.1f} |"
        )
    out.append(f"\nprofiled total: {total / ops * 1e6:,.1f} µs per op over {ops:,} ops")
    return out


def _fsync_floor(directory: str, payload_bytes: int, rounds: int = 20) -> float:
    path = os.path.join(directory, "fsync-probe")
    buf = os.urandom(payload_bytes)
    times = []
    with open(path, "wb") as f:
        for _ in range(rounds):
            f.write(buf)
            f.flush()
            t = time.perf_counter()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - t)
    os.remove(path)
    return float(np.median(times))


def _layer_timings(
    client: Any, qs: list[np.ndarray], ef: int, sp: dict[str, Any], wall: list[float]
) -> list[str]:
    """Unprofiled p50 / mean per batch-1 search at each layer of keeldb's search path.

    Reaches into keeldb internals (read-only) to call the lower layers directly; a
    layer whose internal API moved is reported as unavailable instead of failing.
    """
    import faiss

    out = ["| layer | p50 µs | mean µs | p99 µs | adds (p50) µs |", "|---|---:|---:|---:|---:|"]
    rows: list[tuple[str, list[float] | None, str]] = []

    def timed(fn: Any, args_list: list[Any]) -> list[float]:
        for a in args_list[:100]:
            fn(a)
        times = []
        for a in args_list:
            t = time.perf_counter()
            fn(a)
            times.append(time.perf_counter() - t)
        return times

    xs = [q.reshape(1, -1) for q in qs]
    try:
        from keeldb.query.search import execute_search

        entry, coll = client._loaded(COLLECTION, {})
        snapshot = coll.snapshot()
        views = [s for s in snapshot.segments if "vector" in s.indexes]
        index = views[0].indexes["vector"]
        params = faiss.SearchParametersHNSW(efSearch=ef)
        raw = index._index
        rows.append(
            (
                "raw `faiss.IndexHNSWFlat.search` on keeldb's own graph",
                timed(lambda x: raw.search(x, TOP_K, params=params), xs),
                "",
            )
        )
        rows.append(
            (
                "keeldb `VectorIndex.search` (checks, plan, hits)",
                timed(lambda x: index.search(x, TOP_K, params={"ef": ef}), xs),
                "",
            )
        )
        requests = [
            client._search_request(entry, [q], "", TOP_K, None, sp, None, None, {}) for q in qs
        ]
        rows.append(
            (
                "`execute_search` on a held snapshot (segments, merge, hits)",
                timed(lambda r: execute_search(snapshot, r), requests),
                "",
            )
        )
        rows.append(
            (
                "`execute_search(coll.snapshot(), ...)` (+ taking the snapshot)",
                timed(lambda r: execute_search(coll.snapshot(), r), requests),
                "",
            )
        )
    except Exception as exc:  # noqa: BLE001 - internals moved: report, don't fail
        rows.append((f"lower layers unavailable ({type(exc).__name__}: {exc})", None, ""))
    rows.append(("`client.search(...)` (+ request building, lifecycle hook)", wall, ""))

    def search(q: np.ndarray) -> Any:
        return client.search(COLLECTION, data=[q], limit=TOP_K, search_params=sp)

    gc.disable()
    try:
        no_gc = timed(search, qs)
    finally:
        gc.enable()
    previous = None
    for label, times, _ in rows:
        if times is None:
            out.append(f"| {label} | — | — | — | — |")
            continue
        a = np.asarray(times) * 1e6
        p50, p99 = np.percentile(a, [50, 99])
        adds = "" if previous is None else f"{p50 - previous:,.1f}"
        out.append(f"| {label} | {p50:,.1f} | {a.mean():,.1f} | {p99:,.1f} | {adds} |")
        previous = p50
    a = np.asarray(no_gc) * 1e6
    p50, p99 = np.percentile(a, [50, 99])
    label = "same, `gc.disable()`d (tail check)"
    out.append(f"| {label} | {p50:,.1f} | {a.mean():,.1f} | {p99:,.1f} | |")
    threads = sorted(t.name for t in threading.enumerate())
    out.append("")
    out.append(f"Python threads alive during these searches: {', '.join(threads)}")
    return out


def _percentiles(times: list[float]) -> str:
    a = np.asarray(times) * 1e6
    p50, p99 = np.percentile(a, [50, 99])
    return f"p50 {p50:,.1f} µs, mean {a.mean():,.1f} µs, p99 {p99:,.1f} µs"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_keeldb")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--columnar-batches", type=int, default=20)
    p.add_argument("--searches", type=int, default=2000)
    p.add_argument("--filtered-searches", type=int, default=500)
    p.add_argument("--ef", type=int, default=32)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    argv_used = sys.argv[1:] if argv is None else argv

    import faiss

    import keeldb

    faiss.omp_set_num_threads(1)  # the search profile is batch-1, one thread
    corpus = make_corpus(args.rows, args.dim)
    queries = make_queries(args.searches, args.dim)
    qs = [queries[i] for i in range(len(queries))]
    work = tempfile.mkdtemp(prefix="keeldb-profile-")
    lines: list[str] = []
    say = lines.append
    started = _dt.datetime.now(_dt.timezone.utc)
    m = machine_info()
    say(f"# keeldb profile: {args.rows:,} × {args.dim}-d")
    say("")
    say(f"- command: `python -m bench.profile_keeldb {' '.join(argv_used)}`")
    say(
        f"- date (UTC): {started.isoformat(timespec='seconds')}; "
        f"{m['cpu_model']}, {m['cpu_count']} cores; "
        f"load average {m['loadavg_start'][0]:.2f} (shared machine); "
        f"keeldb git {str(m['git_commit'])[:10]}"
        f"{' (dirty)' if m['git_dirty'] else ''}"
    )
    say(
        "- cProfile inflates every Python call; "
        "compare the profiled totals with the unprofiled walls."
    )
    say("")
    try:
        # -- 1. fsync floor -------------------------------------------------------
        row_bytes = args.dim * 4 + 64
        fsync_s = _fsync_floor(work, args.batch * row_bytes)
        say("## Ingest")
        say("")
        say(
            f"fsync floor in this directory: median {fsync_s * 1e3:.2f} ms "
            f"after a {args.batch * row_bytes / 1e3:.0f} kB write"
        )
        say("")

        # -- 2. row-dict ingest, profiled --------------------------------------------
        path = os.path.join(work, "keeldb")
        client = keeldb.Client(path)
        schema, index = _milvus_schema(client, keeldb.DataType, args.dim)
        client.create_collection(COLLECTION, schema=schema, index_params=index)
        prof = cProfile.Profile()
        batch_times = []
        for lo in range(0, corpus.rows, args.batch):
            rows = corpus.rows_dicts(lo, min(lo + args.batch, corpus.rows))
            t = time.perf_counter()
            prof.enable()
            client.insert(COLLECTION, rows)
            prof.disable()
            batch_times.append(time.perf_counter() - t)
        n_batches = len(batch_times)
        say(
            f"### Row dicts: {n_batches} insert calls of {args.batch} rows "
            "(default sync_mode='fsync')"
        )
        say("")
        say(
            f"profiled wall per insert call: {_percentiles(batch_times)}; "
            f"{corpus.rows / sum(batch_times):,.0f} rows/s while profiled"
        )
        say("")
        say("By own time:")
        say("")
        lines.extend(profile_table(prof, n_batches, args.top, "tottime"))
        say("")
        say("By cumulative time:")
        say("")
        lines.extend(profile_table(prof, n_batches, args.top, "cumtime"))
        say("")

        # -- 3. flush + index ----------------------------------------------------------
        t = time.perf_counter()
        client.flush(COLLECTION)
        flush_s = time.perf_counter() - t
        t = time.perf_counter()
        client.wait_for_index(COLLECTION)
        index_s = time.perf_counter() - t
        say(f"flush {flush_s:.2f} s, then wait_for_index {index_s:.2f} s")
        say("")

        # -- 2b. columnar ingest, profiled (separate collection, dropped after) ----------
        client.create_collection("columnar", schema=schema, index_params=index)
        prof = cProfile.Profile()
        batch_times = []
        batches = min(args.columnar_batches, n_batches)
        for b in range(batches):
            lo = b * args.batch
            cols = corpus.columns(lo, min(lo + args.batch, corpus.rows))
            t = time.perf_counter()
            prof.enable()
            client.insert("columnar", cols)
            prof.disable()
            batch_times.append(time.perf_counter() - t)
        client.drop_collection("columnar")
        say(f"### Columnar: {batches} insert calls of {args.batch} rows as a dict of numpy arrays")
        say("")
        say(f"profiled wall per insert call: {_percentiles(batch_times)}")
        say("")
        lines.extend(profile_table(prof, batches, args.top, "tottime"))
        say("")

        # -- 4. batch-1 search ----------------------------------------------------------
        sp = {"metric_type": METRIC, "params": {"ef": args.ef}}

        def keel_search(q: np.ndarray, expression: str = "") -> Any:
            return client.search(
                COLLECTION, data=[q], limit=TOP_K, filter=expression, search_params=sp
            )

        for q in qs[:200]:
            keel_search(q)
        wall = []
        for q in qs:
            t = time.perf_counter()
            keel_search(q)
            wall.append(time.perf_counter() - t)
        _, coll = client._engine.collection(client._db_name, COLLECTION)
        segments = coll.snapshot().segments
        indexed = [s for s in segments if "vector" in s.indexes]
        layers = _layer_timings(client, qs, args.ef, sp, wall)
        prof = cProfile.Profile()
        prof.enable()
        for q in qs:
            keel_search(q)
        prof.disable()
        say(
            f"## Batch-1 search, ef={args.ef}, {len(qs):,} calls, {len(segments)} segment view(s) "
            f"({len(indexed)} indexed)"
        )
        say("")
        say("Unprofiled wall per call, layer by layer (each row includes the rows above it;")
        say("the difference between two rows is what that layer adds):")
        say("")
        lines.extend(layers)
        say("")
        say("By own time (profiled):")
        say("")
        lines.extend(profile_table(prof, len(qs), args.top, "tottime"))
        say("")
        say("By cumulative time:")
        say("")
        lines.extend(profile_table(prof, len(qs), args.top, "cumtime"))
        say("")

        # -- 5. filtered batch-1 search ---------------------------------------------------
        fq = qs[: args.filtered_searches]
        expression = FILTERS["section"]
        for q in fq[:20]:
            keel_search(q, expression)
        wall = []
        for q in fq:
            t = time.perf_counter()
            keel_search(q, expression)
            wall.append(time.perf_counter() - t)
        prof = cProfile.Profile()
        prof.enable()
        for q in fq:
            keel_search(q, expression)
        prof.disable()
        say(
            f"## Filtered batch-1 search `{expression}` (~1% of rows), "
            f"ef={args.ef}, {len(fq):,} calls"
        )
        say("")
        say(f"- unprofiled `client.search` wall: {_percentiles(wall)}")
        say("")
        lines.extend(profile_table(prof, len(fq), args.top, "cumtime"))
        say("")
        client.close()

        # -- 6. reopen + first query (same process, page cache warm) -----------------------
        prof = cProfile.Profile()
        t = time.perf_counter()
        prof.enable()
        client = keeldb.Client(path)
        client.load_collection(COLLECTION)
        keel_search(qs[0])
        prof.disable()
        reopen_s = time.perf_counter() - t
        client.close()
        say("## Reopen: `keeldb.Client(dir)` + `load_collection` + first search")
        say("")
        say(f"- profiled wall {reopen_s * 1e3:,.0f} ms (same process, files in the page cache)")
        say("")
        lines.extend(profile_table(prof, 1, args.top, "cumtime"))
        say("")
        lines.extend(profile_table(prof, 1, 15, "tottime"))
        say("")
    finally:
        remove(work)
    text = "\n".join(lines) + "\n"
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
