"""One invocation of the suite: every system x repeat x phase, each phase in a fresh process.

For each system, ``repeats`` times: ``ingest`` into a fresh directory (its own
process), record the directory's on-disk size, then ``search`` it (another
process), then delete it. Systems run one after the other, never at once.
Every numeric figure is then summarised over the repeats as median, min and
max (``aggregate``). A system that fails is recorded with its error and the
last lines of its log; the others still run.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.engine import machine_info
from bench.suite.adapters import ADAPTERS
from bench.systems import disk_bytes

REPO = Path(__file__).resolve().parents[2]
PEERS = (
    "qdrant-client", "qdrant-edge-py", "chromadb", "lancedb", "hnswlib", "milvus-lite", "pymilvus",
)  # fmt: skip


def versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in PEERS:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def aggregate(runs: list[Any]) -> Any:
    """Numbers -> {median, min, max}; dicts and equal-length lists recurse; others: first run's."""
    first = runs[0]
    if isinstance(first, bool) or first is None or isinstance(first, str):
        return first
    if isinstance(first, (int, float)):
        values = sorted(float(r) for r in runs if isinstance(r, (int, float)))
        mid = len(values) // 2
        median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        return {"median": median, "min": values[0], "max": values[-1]}
    if isinstance(first, dict):
        return {k: aggregate([r[k] for r in runs if isinstance(r, dict) and k in r]) for k in first}
    if isinstance(first, list) and all(isinstance(r, list) and len(r) == len(first) for r in runs):
        return [aggregate([r[i] for r in runs]) for i in range(len(first))]
    return first


def keeldb_snapshot(commit: str, work: Path) -> tuple[Path, str]:
    """``git archive`` of keeldb/ at ``commit`` into the work directory: the phases import
    keeldb from there, so a benchmark pins committed code while the tree is being edited."""
    full = subprocess.run(["git", "rev-parse", commit], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    dest = work / f"keeldb-{full[:12]}"
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", full, "keeldb"], cwd=REPO, capture_output=True,
                             check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest, full


def _phase(phase: str, system: str, data_dir: Path, path: Path, work: Path, opts: dict) -> dict:
    result = work / f"{path.name}-{phase}.json"
    log = work / f"{path.name}-{phase}.log"
    cmd = [sys.executable, "-m", "bench.suite.phase", phase, "--system", system,
           "--data", str(data_dir), "--path", str(path), "--result", str(result)]  # fmt: skip
    for key, value in opts.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # no spinning OpenMP threads between calls
    paths = [os.environ.get("KEEL_BENCH_KEELDB_SRC"), str(REPO), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    with open(log, "w") as f:
        # cwd is the work dir: with -m, the cwd comes first on sys.path and would shadow keeldb
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=work)
    if proc.returncode != 0:
        tail = log.read_text()[-2000:]
        raise RuntimeError(f"{system} {phase} exited {proc.returncode}:\n{tail}")
    return json.loads(result.read_text())


def run_system(system: str, data_dir: Path, work: Path, repeats: int, opts: dict) -> dict:
    runs = []
    for r in range(repeats):
        path = work / f"{system}-r{r}"
        shutil.rmtree(path, ignore_errors=True)
        say(f"{system}: repeat {r + 1}/{repeats} ingest")
        ingest = _phase("ingest", system, data_dir, path, work, {"batch": opts["batch"]})
        ingest["disk_bytes"] = disk_bytes(str(path))
        ingest["disk_allocated_bytes"] = disk_bytes(str(path), allocated=True)
        say(f"{system}: repeat {r + 1}/{repeats} search")
        search_opts = {k: v for k, v in opts.items() if k != "batch"}
        search = _phase("search", system, data_dir, path, work, search_opts)
        runs.append({"ingest": ingest, "search": search})
        shutil.rmtree(path, ignore_errors=True)
    cls = ADAPTERS[system]
    return {
        "index": cls.index_desc,
        "param_name": cls.param_name,
        "served": cls.served,
        "summary": aggregate(runs),
        "runs": runs,
    }


def say(text: str) -> None:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%H:%M:%S")
    print(f"[{stamp}] {text}", file=sys.stderr, flush=True)


def run(
    systems: list[str], data_dir: Path, work: Path, repeats: int, opts: dict,
    keeldb_commit: str | None = None,
    checkpoint: Callable[[dict], None] | None = None,
) -> dict:  # fmt: skip
    """Run ``systems`` one after the other; ``checkpoint`` gets the result so far after each."""
    meta = json.loads((data_dir / "meta.json").read_text())
    machine = machine_info()
    machine["versions"].update(versions())
    work.mkdir(parents=True, exist_ok=True)
    if keeldb_commit:
        src, full = keeldb_snapshot(keeldb_commit, work)
        os.environ["KEEL_BENCH_KEELDB_SRC"] = str(src)
        machine["keeldb_source"] = f"git archive of keeldb/ at {full}"
    else:
        machine["keeldb_source"] = "the working tree (see git_commit, git_dirty)"
    out: dict[str, Any] = {
        "dataset": meta,
        "machine": machine,
        "command": shlex.join([os.path.basename(sys.executable), "-m", "bench", *sys.argv[1:]]),
        "started_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "repeats": repeats,
        "options": opts,
        "systems": {},
        "errors": {},
    }
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    for system in systems:
        try:
            out["systems"][system] = run_system(system, data_dir, work, repeats, opts)
        except Exception as exc:  # one system's failure is reported, the rest still run
            say(f"{system} FAILED: {exc}")
            out["errors"][system] = str(exc)
        if checkpoint is not None:
            checkpoint(dict(out, partial=True, finished_utc=None))
    out["finished_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    out["wall_s"] = time.perf_counter() - t
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    return out
