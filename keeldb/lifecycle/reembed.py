"""Re-embedding jobs: build a new version of a versioned collection from its stored text.

    start_reembed(name, model) → add_collection_version (live: dual writes reach it)
      → checkpoint + reembed_started → thread, per batch:
           read source rows with pk > last_pk (pk order) → encode (no lock)
           → lock: keep rows whose text is unchanged in the source and that the
             target lacks (a dual write already put a newer row there) → upsert → unlock
           → checkpoint {last_pk, rows_done}
      → reembed_finished

Checkpoint (``lifecycle/jobs/<job id>.json``, checked JSON, rewritten per batch)::

    {"job_id", "db", "name", "source", "target", "model", "state": "running|done|failed|stopped",
     "last_pk", "rows_done", "rows_total", "started_ms", "updated_ms", "error"}

Invariants: target writes are acknowledged (fsynced) before the checkpoint that
covers them is written, and a batch's write is idempotent, so after a crash the
job redoes at most one batch. A job whose ``reembed_started`` event has no
``reembed_finished`` is unfinished; ``start_reembed`` on the same (collection,
model) resumes it from its checkpoint instead of starting over.
"""

from __future__ import annotations

import posixpath
import threading
import time
from typing import Any

from keeldb.errors import FailedPrecondition
from keeldb.storage import read_checked_json, write_checked_json

__all__ = ["ReembedJob", "read_checkpoint", "start_reembed", "unfinished_jobs"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def unfinished_jobs(lc: Any) -> dict[str, dict[str, Any]]:
    """Job id → its ``reembed_started`` event, for jobs that never finished."""
    started: dict[str, dict[str, Any]] = {}
    for event in lc.events():
        if event["type"] == "reembed_started":
            started[event["job_id"]] = event
        elif event["type"] == "reembed_finished":
            started.pop(event["job_id"], None)
    return started


def start_reembed(
    lc: Any, name: str, model: str, *, batch_size: int = 256, db: str = "", start: bool = True
) -> ReembedJob:
    """Start (or resume) building the version of ``name`` embedded by ``model``."""
    db = db or lc.default_db()
    vc = lc.versioned.require(db, name)
    mv = lc.registry.get(model)
    for job_id, event in unfinished_jobs(lc).items():
        if event["db"] == db and event["name"] == name and event["model"] == mv.ref:
            running = lc.jobs.get(job_id)
            if running is not None and running.alive:
                return running
            checkpoint = read_checked_json(lc.fs, _checkpoint_path(lc, job_id))
            return _launch(lc, checkpoint or _fresh(event), batch_size, start)
    existing = vc.by_model(mv.ref)
    if existing is not None and existing.build == "ready":
        raise FailedPrecondition(f"'{name}' already has a finished version for {mv.ref}")
    source = vc.serving
    target = lc.add_collection_version(name, mv.ref, db=db)
    count = sum(1 for e in lc.events() if e["type"] == "reembed_started")
    job_id = f"job-{count + 1:04d}"
    total = lc.data.query(source, output_fields=["count(*)"], db_name=db)[0]["count(*)"]
    event = {"job_id": job_id, "db": db, "name": name, "source": source, "target": target,
             "model": mv.ref}  # fmt: skip
    checkpoint = {**_fresh(event), "rows_total": total}
    lc.fs.makedirs(posixpath.join(lc.root, "jobs"))
    write_checked_json(lc.fs, _checkpoint_path(lc, job_id), checkpoint)
    lc.append("reembed_started", **event)
    return _launch(lc, checkpoint, batch_size, start)


def _fresh(event: dict[str, Any]) -> dict[str, Any]:
    keys = ("job_id", "db", "name", "source", "target", "model")
    return {**{k: event[k] for k in keys}, "state": "running", "last_pk": None, "rows_done": 0,
            "rows_total": None, "started_ms": _now_ms(), "updated_ms": _now_ms(),
            "error": None}  # fmt: skip


def _checkpoint_path(lc: Any, job_id: str) -> str:
    return posixpath.join(lc.root, "jobs", f"{job_id}.json")


def _launch(lc: Any, checkpoint: dict[str, Any], batch_size: int, start: bool) -> ReembedJob:
    job = ReembedJob(lc, checkpoint, batch_size)
    lc.jobs[job.job_id] = job
    if start:
        job.start()
    return job


class ReembedJob:
    """One background re-embedding; :meth:`status` is safe to call from any thread."""

    def __init__(self, lc: Any, checkpoint: dict[str, Any], batch_size: int) -> None:
        self._lc = lc
        self._state = dict(checkpoint, state="running", error=None)
        self.job_id: str = checkpoint["job_id"]
        self.resumed_from = checkpoint["last_pk"]
        self.batch_size = int(batch_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._done_at_start = checkpoint["rows_done"]

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"keeldb-{self.job_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the job to stop after the current batch (it stays resumable)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def status(self) -> dict[str, Any]:
        with self._lock:
            out = dict(self._state)
        elapsed = time.perf_counter() - self._t0
        done_here = out["rows_done"] - self._done_at_start
        out["rows_per_s"] = done_here / elapsed if elapsed > 0 else 0.0
        return out

    def _save(self, **changes: Any) -> None:
        """Write the checkpoint, then publish it: ``status`` never runs ahead of the disk."""
        with self._lock:
            snapshot = {**self._state, **changes, "updated_ms": _now_ms()}
        write_checked_json(self._lc.fs, _checkpoint_path(self._lc, self.job_id), snapshot)
        with self._lock:
            self._state = snapshot

    def run(self) -> None:
        lc, st = self._lc, self._state
        vc = lc.versioned.require(st["db"], st["name"])
        schema = lc.engine.resolve(st["db"], st["target"]).schema
        pk = schema.primary_field.name
        fields = (
            ["*"]
            if schema.enable_dynamic_field
            else [f.name for f in schema.fields if not f.is_vector]
        )
        encoder = lc.encoder(st["model"])
        try:
            while not self._stop.is_set():
                rows = self._read(st["source"], pk, fields, st["db"])
                if not rows:
                    break
                self._copy(vc, rows, pk, encoder, st)
                self._save(last_pk=rows[-1][pk], rows_done=self._state["rows_done"] + len(rows))
            if self._stop.is_set():
                self._save(state="stopped")
                return
            self._save(state="done")
            lc.append("reembed_finished", job_id=self.job_id, rows=self._state["rows_done"])
        except Exception as exc:  # recorded in the checkpoint; the job stays resumable
            self._save(state="failed", error=f"{type(exc).__name__}: {exc}")

    def _read(self, source: str, pk: str, fields: list[str], db: str) -> list[dict[str, Any]]:
        last = self._state["last_pk"]
        return self._lc.data.query(
            source, filter=f"{pk} > {{last}}" if last is not None else "",
            filter_params={"last": last}, output_fields=fields, limit=self.batch_size, db_name=db,
        )  # fmt: skip

    def _copy(
        self, vc: Any, rows: list[dict[str, Any]], pk: str, encoder: Any, st: dict[str, Any]
    ) -> None:
        lc, text_field, field = self._lc, vc.text_field, vc.field
        usable = [r for r in rows if isinstance(r.get(text_field), str)]
        vectors = encoder.encode([r[text_field] for r in usable]) if usable else []
        keys = [r[pk] for r in usable]
        with lc.lock_for(vc.db, vc.name):
            current = {r[pk]: r.get(text_field)
                       for r in lc.data.get(st["source"], ids=keys, output_fields=[text_field],
                                            db_name=vc.db)}  # fmt: skip
            present = {r[pk] for r in lc.data.get(st["target"], ids=keys, output_fields=[pk],
                                                  db_name=vc.db)}  # fmt: skip
            out = []
            for row, vec in zip(usable, vectors):
                key = row[pk]
                if key in present or current.get(key) != row[text_field]:
                    continue  # deleted, changed or already written by a dual write
                out.append({k: v for k, v in row.items() if k != field} | {field: vec})
            if out:
                lc.data.upsert(st["target"], out, db_name=vc.db)


def read_checkpoint(lc: Any, job_id: str) -> dict[str, Any] | None:
    """A job's last checkpoint (None when there is no such job)."""
    return read_checked_json(lc.fs, _checkpoint_path(lc, job_id))
