"""Online experiments on a versioned collection: their definitions, their request logs,
and the per-arm figures folded from those logs.

Definitions are events in ``lifecycle/events.log``:

- ``experiment_started`` {experiment_id, db, name, mode: "shadow" | "split", champion,
  challenger, percent, k, reason}
- ``experiment_stopped`` {experiment_id, reason}

At most one experiment per versioned collection is running. Each experiment
has its own log, ``lifecycle/experiments/<id>/requests.log``, in the event-log
format (checksummed JSON lines, torn last line cut off on open), holding:

- ``request`` {request_id, arm, ids, latency_ms, shadow: {ids, latency_ms} | null,
  shadow_dropped}: one search. ``arm`` is the arm that served the user; in shadow
  mode ``shadow`` is the challenger's answer to the same query, run in the background;
- ``feedback`` {request_id, clicked: [id...], grades: {id: grade}}: what the user did.

Request lines are written by the background worker in groups (one fsync per
group), feedback lines at once. A request is known in memory from the moment
its search returns, so feedback may arrive before its line is on disk; on
reopen the fold ignores feedback whose request line was never written (counted
as ``orphan_feedback``).
"""

from __future__ import annotations

import hashlib
import posixpath
import threading
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from keeldb.errors import InvalidArgument, NotFound, did_you_mean
from keeldb.lifecycle import online_metrics as om
from keeldb.lifecycle.events import EventLog
from keeldb.lifecycle.metrics import paired_bootstrap, percentile_ms

__all__ = ["MODES", "Experiment", "ExperimentLog", "ExperimentTable", "assign_arm",
           "start_experiment", "stop_experiment"]  # fmt: skip

MODES = ("shadow", "split")
_BUCKETS = 10_000


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    db: str
    name: str
    mode: str
    champion: str
    challenger: str
    percent: float
    k: int
    started_ms: int
    reason: str = ""
    stopped_ms: int | None = None
    stop_reason: str = ""

    @property
    def running(self) -> bool:
        return self.stopped_ms is None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_experiment_args(mode: str, percent: float, k: int) -> None:
    if mode not in MODES:
        raise InvalidArgument(f"experiment mode {mode!r} is not known", hint=f"use one of {MODES}")
    if mode == "split" and not 0.0 < float(percent) < 100.0:
        raise InvalidArgument(
            f"split percent must be between 0 and 100 (exclusive), got {percent!r}",
            hint="the share of users the challenger serves, e.g. 10",
        )
    if not isinstance(k, int) or k < 1:
        raise InvalidArgument(f"experiment k must be a positive integer, got {k!r}")


def assign_arm(experiment: Experiment, user_key: str | None, fallback: str) -> str:
    """The arm serving ``user_key``: stable per (experiment, user), so users stay put.

    Shadow experiments always serve the champion. Without a user key the request's
    own id is hashed, so keyless traffic is split per request.
    """
    if experiment.mode == "shadow":
        return "champion"
    key = f"{experiment.experiment_id}\0{user_key if user_key is not None else fallback}"
    bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % _BUCKETS
    return "challenger" if bucket < experiment.percent * _BUCKETS / 100.0 else "champion"


class ExperimentTable:
    """Experiment definitions folded from the lifecycle event log."""

    def __init__(self) -> None:
        self._by_id: dict[str, Experiment] = {}

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "experiment_started":
            fields = {k: event[k] for k in ("experiment_id", "db", "name", "mode", "champion",
                                            "challenger", "percent", "k")}  # fmt: skip
            self._by_id[event["experiment_id"]] = Experiment(
                **fields, started_ms=event["time_ms"], reason=event.get("reason", "")
            )
        elif kind == "experiment_stopped":
            old = self._by_id[event["experiment_id"]]
            self._by_id[old.experiment_id] = Experiment(
                **{
                    **old.to_json(),
                    "stopped_ms": event["time_ms"],
                    "stop_reason": event.get("reason", ""),
                }  # fmt: skip
            )

    def __bool__(self) -> bool:
        return any(e.running for e in self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, experiment_id: str) -> Experiment:
        found = self._by_id.get(experiment_id)
        if found is None:
            raise NotFound(
                f"experiment {experiment_id!r} not found",
                hint=did_you_mean(experiment_id, self._by_id) or "list them with experiments()",
            )
        return found

    def running_on(self, db: str, name: str) -> Experiment | None:
        for e in self._by_id.values():
            if e.running and e.db == db and e.name == name:
                return e
        return None

    def all(self) -> list[Experiment]:
        return list(self._by_id.values())


class ExperimentLog:
    """The requests and feedback of one experiment: in memory, and durably in its log."""

    def __init__(self, fs: Any, root: str, experiment: Experiment) -> None:
        directory = posixpath.join(root, "experiments", experiment.experiment_id)
        fs.makedirs(directory)
        self.experiment = experiment
        self._log = EventLog(fs, posixpath.join(directory, "requests.log"))
        self._lock = threading.Lock()
        self.requests: dict[str, dict[str, Any]] = {}
        self.feedback: dict[str, dict[str, Any]] = {}
        self.orphan_feedback = 0
        for event in self._log.events:
            if event["type"] == "request":
                self.requests[event["request_id"]] = event
        for event in self._log.events:
            if event["type"] == "feedback":
                if event["request_id"] in self.requests:
                    self.feedback[event["request_id"]] = event
                else:
                    self.orphan_feedback += 1

    def remember(self, record: dict[str, Any]) -> None:
        """Know a request at once (before its line is written), so feedback can find it."""
        with self._lock:
            self.requests[record["request_id"]] = record

    def write_requests(self, records: list[dict[str, Any]]) -> None:
        """Append request lines as one group (one fsync); called by the worker."""
        if records:
            self._log.append_many([("request", _without_type(r)) for r in records])

    def add_feedback(
        self, request_id: str, clicked: list[Any] | None, grades: dict[str, float] | None
    ) -> dict[str, Any]:
        with self._lock:
            if request_id not in self.requests:
                raise NotFound(f"request {request_id!r} is not part of this experiment")
        clicked_ids = [_plain(x) for x in (clicked or [])]
        grade_map = {str(k): float(v) for k, v in (grades or {}).items()}
        event = self._log.append(
            "feedback", request_id=request_id, clicked=clicked_ids, grades=grade_map
        )
        with self._lock:
            self.feedback[request_id] = event
        return event

    def close(self) -> None:
        self._log.close()

    # -- figures ---------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Per-arm figures with 95% intervals, and (shadow) the agreement of the two arms."""
        with self._lock:
            requests = list(self.requests.values())
            feedback = dict(self.feedback)
        arms = {arm: _arm_summary(self.experiment, arm, requests, feedback)
                for arm in ("champion", "challenger")}  # fmt: skip
        out: dict[str, Any] = {
            "experiment": self.experiment.to_json(), "requests": len(requests),
            "feedback": len(feedback), "orphan_feedback": self.orphan_feedback,
            "shadow_dropped": sum(1 for r in requests if r.get("shadow_dropped")),
            "arms": arms, "diff": _diffs(self.experiment, requests, feedback),
        }  # fmt: skip
        if self.experiment.mode == "shadow":
            out["agreement"] = _agreement(requests, self.experiment.k)
        return out


def _without_type(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("type", "seq", "time_ms")}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _grades_of(fb: dict[str, Any]) -> dict[str, float]:
    """Graded judgements, or clicks as grade 1 when only clicks were given."""
    if fb.get("grades"):
        return fb["grades"]
    return {str(x): 1.0 for x in fb.get("clicked", [])}


def _arm_ranking(experiment: Experiment, record: dict[str, Any], arm: str) -> list[Any] | None:
    """What ``arm`` answered for this request (shadow: the challenger's background answer)."""
    if record["arm"] == arm:
        return record["ids"]
    if experiment.mode == "shadow" and arm == "challenger" and record.get("shadow"):
        return record["shadow"]["ids"]
    return None


def _arm_latencies(experiment: Experiment, requests: list[dict[str, Any]], arm: str) -> list[float]:
    out = [r["latency_ms"] for r in requests if r["arm"] == arm]
    if experiment.mode == "shadow" and arm == "challenger":
        out = [r["shadow"]["latency_ms"] for r in requests if r.get("shadow")]
    return out


def _arm_summary(
    experiment: Experiment, arm: str, requests: list[dict[str, Any]],
    feedback: dict[str, dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    latencies = _arm_latencies(experiment, requests, arm)
    served = [r for r in requests if r["arm"] == arm]
    clicked = sum(1 for r in served if _clicked(feedback.get(r["request_id"]), r["ids"]))
    ndcg = _ndcg_values(experiment, requests, feedback, arm)
    out: dict[str, Any] = {"served": len(served), "measured": len(latencies)}
    if latencies:
        p99 = lambda d: np.percentile(d, 99, axis=1)  # noqa: E731
        p50 = lambda d: np.percentile(d, 50, axis=1)  # noqa: E731
        out["p50_ms"] = percentile_ms(latencies, 50)
        out["p99_ms"] = percentile_ms(latencies, 99)
        out["p50_ms_ci"] = list(om.bootstrap_interval(latencies, p50))
        out["p99_ms_ci"] = list(om.bootstrap_interval(latencies, p99))
    if served:
        out["ctr"] = clicked / len(served)
        out["ctr_ci"] = list(om.wilson_interval(clicked, len(served)))
    if ndcg:
        out["ndcg@10"] = float(np.mean(ndcg))
        out["ndcg@10_ci"] = list(om.bootstrap_interval(ndcg))
        out["judged"] = len(ndcg)
    return out


def _clicked(fb: dict[str, Any] | None, shown: list[Any]) -> bool:
    if not fb:
        return False
    shown_ids = {str(x) for x in shown}
    return any(str(x) in shown_ids for x in fb.get("clicked", []))


def _ndcg_values(
    experiment: Experiment, requests: list[dict[str, Any]], feedback: dict[str, dict[str, Any]],
    arm: str,
) -> list[float]:  # fmt: skip
    values = []
    for r in requests:
        fb = feedback.get(r["request_id"])
        ranking = _arm_ranking(experiment, r, arm) if fb else None
        if ranking is not None:
            values.append(om.feedback_ndcg(ranking, _grades_of(fb), 10))  # type: ignore[arg-type]
    return values


def _diffs(
    experiment: Experiment, requests: list[dict[str, Any]], feedback: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    if experiment.mode == "shadow":  # both arms ranked every judged request: paired
        pairs = [(om.feedback_ndcg(r["ids"], _grades_of(feedback[r["request_id"]])),
                  om.feedback_ndcg(r["shadow"]["ids"], _grades_of(feedback[r["request_id"]])))
                 for r in requests if r["request_id"] in feedback and r.get("shadow")]  # fmt: skip
        if not pairs:
            return {}
        return {"ndcg@10": paired_bootstrap([p[0] for p in pairs], [p[1] for p in pairs])}
    a = _ndcg_values(experiment, requests, feedback, "champion")
    b = _ndcg_values(experiment, requests, feedback, "challenger")
    return {"ndcg@10": om.unpaired_difference(a, b)} if a and b else {}


def _agreement(requests: list[dict[str, Any]], k: int) -> dict[str, Any]:
    shadowed = [r for r in requests if r.get("shadow")]
    overlap = [om.overlap_at(r["ids"], r["shadow"]["ids"], k) for r in shadowed]
    rbo = [om.rank_biased_overlap(r["ids"][:k], r["shadow"]["ids"][:k]) for r in shadowed]
    taus = [t for r in shadowed
            if (t := om.kendall_tau(r["ids"][:k], r["shadow"]["ids"][:k])) is not None]  # fmt: skip
    out: dict[str, Any] = {"compared": len(shadowed), "k": k}
    for name, values in ((f"overlap@{k}", overlap), ("rbo", rbo), ("kendall_tau", taus)):
        if values:
            out[name] = float(np.mean(values))
            out[f"{name}_ci"] = list(om.bootstrap_interval(values))
    return out


def start_experiment(
    lc: Any, name: str, *, mode: str = "shadow", challenger: str | None = None,
    percent: float = 10.0, k: int = 10, reason: str = "", db: str = "",
) -> Experiment:  # fmt: skip
    """Start comparing ``name``'s serving version with ``challenger`` on live queries."""
    from keeldb.errors import FailedPrecondition
    from keeldb.lifecycle.promotion import _physical

    check_experiment_args(mode, percent, k)
    db = db or lc.default_db()
    vc = lc.versioned.require(db, name)
    running = lc.experiments.running_on(db, name)
    if running is not None:
        raise FailedPrecondition(
            f"experiment {running.experiment_id} is already running on '{name}'",
            hint=f"stop it first: stop_experiment({running.experiment_id!r})",
        )
    champion = vc.serving
    if challenger is None:
        others = [p for p in vc.versions if p != champion]
        if not others:
            raise InvalidArgument(f"'{name}' has only one version; add a challenger first")
        challenger = others[-1]
    target = _physical(vc, challenger)
    if target == champion:
        raise InvalidArgument(f"the challenger '{target}' is what '{name}' serves already")
    if vc.versions[target].build == "building":
        raise FailedPrecondition(f"'{target}' is still being re-embedded", hint="wait for the job")
    experiment_id = f"ex-{len(lc.experiments) + 1:04d}"
    lc.append(
        "experiment_started", experiment_id=experiment_id, db=db, name=name, mode=mode,
        champion=champion, challenger=target, percent=float(percent) if mode == "split" else 0.0,
        k=k, reason=reason,
    )  # fmt: skip
    return lc.experiments.get(experiment_id)


def stop_experiment(lc: Any, experiment_id: str, reason: str = "") -> Experiment:
    from keeldb.errors import FailedPrecondition

    experiment = lc.experiments.get(experiment_id)
    if not experiment.running:
        raise FailedPrecondition(f"experiment {experiment_id} was already stopped")
    lc.online.flush()
    lc.append("experiment_stopped", experiment_id=experiment_id, reason=reason)
    return lc.experiments.get(experiment_id)
