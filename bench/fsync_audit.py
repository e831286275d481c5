"""What each system's insert does to make itself durable: fsync calls counted under strace.

    python -m bench.fsync_audit --out bench/results/fsync-audit.md

The cross-system suite compares ingest rows/s, which only means something next
to what an acknowledged insert promises. This runs each system (embedded, the
suite's adapters' own calls) in a child process under ``strace -f`` and counts
the ``fsync`` / ``fdatasync`` / ``sync_file_range`` / ``msync`` calls made
*inside* ``--calls`` insert calls of ``--rows`` rows each (the window is marked
by two ``access()`` calls on marker paths), then inside the close. A system
that syncs nothing inside its insert calls can lose acknowledged rows on power
loss (the OS still writes them out if only the process dies).

Needs ``strace`` (Linux). Small data on purpose: this is about behaviour, not
speed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

SYNC_CALLS = ("fsync", "fdatasync", "sync_file_range", "msync")
BEGIN, END, CLOSED = "/keel-fsync-audit-begin", "/keel-fsync-audit-end", "/keel-fsync-audit-closed"

#: per system: setup, one insert call of rows ``lo``..``lo + n`` (``vectors``), close
PROGRAMS = {
    "keeldb": (
        """
        import keeldb
        c = keeldb.Client(path)
        c.create_collection("t", dimension=DIM)
        """,
        'c.insert("t", [{"id": lo + i, "vector": v} for i, v in enumerate(vectors)])',
        "c.close()",
    ),
    "milvus-lite": (
        """
        from pymilvus import MilvusClient
        c = MilvusClient(path + "/milvus.db")
        c.create_collection("t", dimension=DIM)
        """,
        'c.insert("t", [{"id": lo + i, "vector": v.tolist()} for i, v in enumerate(vectors)])',
        "c.close()",
    ),
    "qdrant": (
        """
        from qdrant_client import QdrantClient, models
        c = QdrantClient(path=path)
        c.create_collection("t", vectors_config=models.VectorParams(
            size=DIM, distance=models.Distance.COSINE))
        """,
        'c.upsert("t", models.Batch(ids=list(range(lo, lo + len(vectors))), '
        "vectors=vectors.tolist()))",
        "c.close()",
    ),
    "qdrant-edge": (
        """
        from qdrant_edge import (Distance, EdgeConfig, EdgeShard, EdgeVectorParams, Point,
                                 UpdateOperation)
        c = EdgeShard.create(path, EdgeConfig(vectors={"v": EdgeVectorParams(
            size=DIM, distance=Distance.Cosine)}))
        """,
        'c.update(UpdateOperation.upsert_points([Point(lo + i, {"v": v}) '
        "for i, v in enumerate(vectors)]))",
        "c.close()",
    ),
    "chroma": (
        """
        import chromadb
        c = chromadb.PersistentClient(path)
        col = c.get_or_create_collection("audit", embedding_function=None)
        """,
        "col.add(ids=[str(lo + i) for i in range(len(vectors))], embeddings=vectors)",
        "del col, c",
    ),
    "lancedb": (
        """
        import lancedb, pyarrow as pa
        db = lancedb.connect(path)
        table = None
        """,
        """
        batch = pa.table({"id": pa.array(range(lo, lo + len(vectors))),
                          "vector": pa.FixedSizeListArray.from_arrays(
                              pa.array(vectors.ravel()), DIM)})
        table = db.create_table("t", batch) if table is None else table
        if lo: table.add(batch)
        """,
        "del table, db",
    ),
}

CHILD = """
import os, sys, numpy as np
DIM = {dim}
path = {path!r}
{setup}
rng = np.random.default_rng(0)
batches = [rng.standard_normal(({rows}, DIM)).astype(np.float32) for _ in range({calls})]
os.access({begin!r}, os.F_OK)
for n, vectors in enumerate(batches):
    lo = n * {rows}
{insert}
os.access({end!r}, os.F_OK)
{close}
os.access({closed!r}, os.F_OK)
"""


def audit(system: str, rows: int, calls: int, dim: int) -> dict[str, int]:
    setup, insert, close = PROGRAMS[system]
    folder = tempfile.mkdtemp(prefix=f"keel-fsync-{system}-")
    try:
        program = CHILD.format(
            dim=dim, path=folder, rows=rows, calls=calls, begin=BEGIN, end=END, closed=CLOSED,
            setup=textwrap.dedent(setup), insert=textwrap.indent(textwrap.dedent(insert), "    "),
            close=textwrap.dedent(close),
        )  # fmt: skip
        trace = Path(folder) / "strace.txt"
        calls_traced = ",".join((*SYNC_CALLS, "access"))
        proc = subprocess.run(
            ["strace", "-f", "-qq", "-e", f"trace={calls_traced}", "-o", str(trace),
             sys.executable, "-c", program],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"{system} exited {proc.returncode}: {proc.stderr[-2000:]}")
        return count_syncs(trace.read_text())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def count_syncs(trace: str) -> dict[str, int]:
    """Sync calls before, inside and after the insert window, and inside the close."""
    window = "setup"
    counts = {"setup": 0, "inserts": 0, "close": 0}
    sync = re.compile(r"\b(" + "|".join(SYNC_CALLS) + r")\(")
    for line in trace.splitlines():
        if "access(" in line:
            if BEGIN in line:
                window = "inserts"
            elif END in line:
                window = "close"
            elif CLOSED in line:
                window = "after"
            continue
        if sync.search(line) and "resumed" not in line and window in counts:
            counts[window] += 1
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", default=",".join(PROGRAMS))
    parser.add_argument("--rows", type=int, default=100, help="rows per insert call")
    parser.add_argument("--calls", type=int, default=10, help="insert calls")
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--out", default="bench/results/fsync-audit.md")
    args = parser.parse_args(argv)
    if shutil.which("strace") is None:
        sys.exit("strace is not installed")
    results = {}
    for system in args.systems.split(","):
        try:
            results[system] = audit(system, args.rows, args.calls, args.dim)
        except Exception as exc:  # one system's failure is reported, not fatal
            results[system] = {"error": str(exc)[:300]}
        print(system, results[system], flush=True)
    lines = [
        "# fsync audit: what an acknowledged insert has synced",
        "",
        f"`python -m bench.fsync_audit {' '.join(argv if argv is not None else sys.argv[1:])}`"
        f" — {args.calls} insert calls of {args.rows} rows ({args.dim}-d), each system "
        "embedded, under `strace -f`; sync calls = "
        + ", ".join(f"`{c}`" for c in SYNC_CALLS) + ".",
        "",
        "| system | syncs inside the inserts | per insert call | syncs in close |",
        "|---|---:|---:|---:|",
    ]  # fmt: skip
    for system, c in results.items():
        if "error" in c:
            lines.append(f"| {system} | failed: {c['error']} | | |")
            continue
        lines.append(
            f"| {system} | {c['inserts']} | {c['inserts'] / args.calls:.1f} | {c['close']} |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # chroma's, in the children
    main()
