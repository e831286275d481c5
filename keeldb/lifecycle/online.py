"""Serving a versioned collection's queries under an experiment, without slowing them.

    search(name, text, user_key)
      → request id → arm = assign_arm(experiment, user_key)   (no experiment: the champion)
      → search the arm (champion: through the alias; challenger: its physical version), timed
      → remember the request (feedback can name it at once)
      → hand the rest to the worker: shadow mode queues the challenger search; both modes
        queue the request line → return {request_id, arm, results}

The worker is one daemon thread. Shadow searches wait in a bounded queue
(``max_pending``); when it is full the user's query does not wait: that request
loses its shadow (its line says ``shadow_dropped``) — the experiment loses a
sample, the user loses nothing. Request lines (a shadowed one after its shadow
ran) are written in groups, one fsync per group. ``flush()`` waits until every
request handed over so far has its line written.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from keeldb.errors import InvalidArgument, NotFound
from keeldb.lifecycle.experiments import Experiment, ExperimentLog, assign_arm

__all__ = ["OnlineRouter"]

_GROUP = 256  # request lines written per fsync at most


class OnlineRouter:
    """Experiment-aware search and feedback for one ``Lifecycle``."""

    def __init__(self, lc: Any, max_pending: int = 10_000) -> None:
        self._lc = lc
        self._logs: dict[str, ExperimentLog] = {}
        self._mutex = threading.Lock()
        # shadow searches wait here (bounded: when full, a request loses its shadow, never time)
        self._shadows: queue.Queue[tuple[ExperimentLog, dict[str, Any], Callable]] = queue.Queue(
            maxsize=max_pending
        )
        self._pending: list[tuple[ExperimentLog, dict[str, Any]]] = []  # request lines to write
        self._outstanding = 0  # requests whose line is not written yet
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.worker_errors: list[str] = []

    # -- experiment logs -------------------------------------------------------------
    def log_for(self, experiment: Experiment) -> ExperimentLog:
        with self._mutex:
            log = self._logs.get(experiment.experiment_id)
            if log is None or log.experiment != experiment:
                if log is not None:
                    log.experiment = experiment  # stopped: same log, new definition
                else:
                    log = ExperimentLog(self._lc.fs, self._lc.root, experiment)
                    self._logs[experiment.experiment_id] = log
            return log

    def find_request(self, request_id: str) -> ExperimentLog:
        with self._mutex:
            logs = list(self._logs.values())
        for log in logs:
            if request_id in log.requests:
                return log
        for experiment in self._lc.experiments.all():  # an experiment not opened since restart
            log = self.log_for(experiment)
            if request_id in log.requests:
                return log
        raise NotFound(
            f"request {request_id!r} is not part of any experiment",
            hint="feedback counts only for searches made while an experiment ran",
        )

    # -- the query path ----------------------------------------------------------------
    def search(
        self, db: str, name: str, text: Any, *, user_key: str | None = None, limit: int = 10,
        **search_kw: Any,
    ) -> dict[str, Any]:  # fmt: skip
        if not isinstance(text, str) or not text:
            raise InvalidArgument(
                f"experiment search takes one non-empty query text as data, got "
                f"{type(text).__name__}",
                hint="each arm embeds the text with its own model; a vector fits one space only",
            )
        if user_key is not None and not isinstance(user_key, str):
            raise InvalidArgument(f"user_key must be a string, got {type(user_key).__name__}")
        vc = self._lc.versioned.require(db, name)
        experiment = self._lc.experiments.running_on(db, name)
        request_id = f"rq-{uuid.uuid4().hex[:20]}"
        arm = assign_arm(experiment, user_key, request_id) if experiment else "champion"
        target = experiment.challenger if arm == "challenger" else name  # type: ignore[union-attr]
        t0 = time.perf_counter()
        hits = self._lc.data.search(
            target, data=[text], limit=limit, anns_field=vc.field, db_name=db, **search_kw
        )
        latency_ms = (time.perf_counter() - t0) * 1000.0
        out = {"request_id": request_id, "arm": arm, "results": hits[0]}
        if experiment is None:
            return out
        log = self.log_for(experiment)
        record = {"request_id": request_id, "arm": arm, "ids": [h["id"] for h in hits[0]],
                  "latency_ms": round(latency_ms, 4), "shadow": None,
                  "shadow_dropped": False}  # fmt: skip
        log.remember(record)
        shadow = None
        if experiment.mode == "shadow":
            shadow = self._shadow_task(experiment, vc.field, db, text, search_kw)
        self._enqueue(log, record, shadow)
        return out

    def _shadow_task(
        self, experiment: Experiment, field: str, db: str, text: str, search_kw: dict[str, Any]
    ) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            t0 = time.perf_counter()
            hits = self._lc.data.search(
                experiment.challenger, data=[text], limit=experiment.k, anns_field=field,
                db_name=db, **search_kw,
            )  # fmt: skip
            ms = (time.perf_counter() - t0) * 1000.0
            return {"ids": [h["id"] for h in hits[0]], "latency_ms": round(ms, 4)}

        return run

    def _enqueue(self, log: ExperimentLog, record: dict[str, Any], shadow: Callable | None) -> None:
        self._start_worker()
        with self._cond:
            self._outstanding += 1
        if shadow is not None:
            try:
                self._shadows.put_nowait((log, record, shadow))
                with self._cond:
                    self._cond.notify()
                return
            except queue.Full:  # never make the user wait: this request loses its shadow
                record["shadow_dropped"] = True
        with self._cond:
            self._pending.append((log, record))
            self._cond.notify()

    def feedback(
        self, request_id: str, clicked: list[Any] | None = None,
        grades: dict[str, float] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        if not isinstance(request_id, str) or not request_id:
            raise InvalidArgument(f"request_id must be a non-empty string, got {request_id!r}")
        if clicked is None and grades is None:
            raise InvalidArgument("feedback needs clicked ids or relevance grades (or both)")
        if clicked is not None and not isinstance(clicked, (list, tuple)):
            raise InvalidArgument(f"clicked must be a list of ids, got {type(clicked).__name__}")
        if grades is not None:
            _check_grades(grades)
        log = self.find_request(request_id)
        return log.add_feedback(request_id, list(clicked) if clicked is not None else None, grades)

    # -- the worker ------------------------------------------------------------------------
    def _start_worker(self) -> None:
        with self._mutex:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="keeldb-experiments", daemon=True
                )
                self._thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and self._shadows.empty() and not self._closed:
                    self._cond.wait(timeout=0.5)
                if self._closed and not self._pending and self._shadows.empty():
                    return
            self._run_shadows()
            with self._cond:
                batch, self._pending = self._pending[:_GROUP], self._pending[_GROUP:]
            self._write(batch)
            with self._cond:
                self._outstanding -= len(batch)
                self._cond.notify_all()

    def _run_shadows(self) -> None:
        """Run the queued challenger searches; each finished request joins the pending lines."""
        for _ in range(_GROUP):
            try:
                log, record, shadow = self._shadows.get_nowait()
            except queue.Empty:
                return
            try:
                record["shadow"] = shadow()
            except Exception as exc:  # a failing challenger must not stop the experiment
                record["shadow_dropped"] = True
                self.worker_errors.append(f"{type(exc).__name__}: {exc}")
            with self._cond:
                self._pending.append((log, record))

    def _write(self, batch: list[tuple[ExperimentLog, dict[str, Any]]]) -> None:
        by_log: dict[int, tuple[ExperimentLog, list[dict[str, Any]]]] = {}
        for log, record in batch:
            by_log.setdefault(id(log), (log, []))[1].append(record)
        for log, records in by_log.values():
            try:
                log.write_requests(records)
            except Exception as exc:  # disk trouble: counted, the records stay in memory
                self.worker_errors.append(f"{type(exc).__name__}: {exc}")

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued shadow search has run and every request line is written."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._outstanding and time.monotonic() < deadline:
                self._cond.notify_all()
                self._cond.wait(timeout=0.05)

    def close(self) -> None:
        self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._mutex:
            for log in self._logs.values():
                log.close()
            self._logs.clear()


def _check_grades(grades: Any) -> None:
    if not isinstance(grades, dict):
        raise InvalidArgument(f"grades must be a map id → grade, got {type(grades).__name__}")
    for key, grade in grades.items():
        if isinstance(grade, bool) or not isinstance(grade, (int, float)) or grade < 0:
            raise InvalidArgument(
                f"grades[{key!r}] = {grade!r}: a grade must be a number >= 0",
                hint="0 = not relevant, 1 = relevant, higher = more relevant",
            )
