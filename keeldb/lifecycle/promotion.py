"""Promotion and rollback of a versioned collection's serving version.

    promote:  [gate on the evaluation and/or the online experiment]
              → engine.alter_alias(name → challenger) (one commit)
              → collection_alias_moved {action: "promote", old, new, evaluation_id, reason}
              → a running experiment on ``name`` is stopped (its arms no longer mean
                what they meant)
    rollback: target = old of the move that installed the current target
              → engine.alter_alias → collection_alias_moved {action: "rollback"}

Invariants: the engine's alias is the truth for what serves (queries resolve it
under the catalog lock, so a query sees the old or the new target, never a mix);
the event log is the history. If the process dies between the catalog commit
and the event append, :func:`reconcile_aliases` (run when the lifecycle opens)
appends a ``recovered`` move, so the history always ends at what serves.
"""

from __future__ import annotations

from typing import Any

from keeldb.errors import AliasNotFound, FailedPrecondition, InvalidArgument
from keeldb.lifecycle.gate import Gate, GateResult
from keeldb.lifecycle.registry import AliasMove

__all__ = ["promote", "reconcile_aliases", "rollback"]


def promote(
    lc: Any,
    name: str,
    *,
    to: str | None = None,
    evaluation_id: str | None = None,
    experiment_id: str | None = None,
    gate: str | None = None,
    reason: str = "",
    db: str = "",
) -> AliasMove:
    """Point ``name`` at ``to`` (a physical version or a model reference).

    Without ``to`` the challenger of ``evaluation_id`` (or of ``experiment_id``) is
    promoted. With ``gate`` the evaluation (plain clauses) and the experiment
    (``online.`` clauses) must pass it, else ``FailedPrecondition`` and nothing moves.
    """
    db = db or lc.default_db()
    vc = lc.versioned.require(db, name)
    online = _online(lc, name, experiment_id)
    if to is None and evaluation_id is None and online is not None:
        to = online["experiment"]["challenger"]
    record = None
    if evaluation_id is not None:
        from keeldb.lifecycle.evaluation import load_evaluation

        record = load_evaluation(lc, evaluation_id)
        if record["collection"] != name:
            raise InvalidArgument(f"evaluation {evaluation_id} is about '{record['collection']}'")
    if to is None:
        if record is None:
            raise InvalidArgument("promote needs to= (a version) or evaluation_id=")
        to = record["challenger"]["physical"]
    target = _physical(vc, to)
    if gate:
        checked = Gate.parse(gate)
        if record is None and online is None:
            raise InvalidArgument(
                "a gate needs evaluation_id= and/or experiment_id= (what it is checked on)"
            )
        result: GateResult = checked.check(record, online)
        if not result.passed:
            raise FailedPrecondition(
                f"promotion of '{target}' blocked by the gate: {result.summary()}",
                hint="improve the challenger or change the gate",
            )
        if record is not None and record["challenger"]["physical"] != target:
            raise InvalidArgument(f"evaluation {evaluation_id} did not evaluate '{target}'")
        if online is not None and online["experiment"]["challenger"] != target:
            raise InvalidArgument(f"experiment {experiment_id} did not test '{target}'")
    if vc.versions[target].build == "building":
        raise FailedPrecondition(f"'{target}' is still being re-embedded", hint="wait for the job")
    return _move(lc, vc, target, "promote", reason, evaluation_id)


def _online(lc: Any, name: str, experiment_id: str | None) -> dict[str, Any] | None:
    if experiment_id is None:
        return None
    summary: dict[str, Any] = lc.experiment_metrics(experiment_id)
    if summary["experiment"]["name"] != name:
        raise InvalidArgument(
            f"experiment {experiment_id} is about '{summary['experiment']['name']}', not '{name}'"
        )
    return summary


def rollback(lc: Any, name: str, *, reason: str = "", db: str = "") -> AliasMove:
    """Point ``name`` back at the version that served before the current one."""
    db = db or lc.default_db()
    vc = lc.versioned.require(db, name)
    previous = vc.previous()
    if previous is None:
        raise FailedPrecondition(f"'{name}' has no earlier version to roll back to")
    if previous not in vc.versions:
        raise FailedPrecondition(f"the earlier version '{previous}' of '{name}' no longer exists")
    return _move(lc, vc, previous, "rollback", reason, None)


def _physical(vc: Any, to: str) -> str:
    if to in vc.versions:
        return to
    for version in vc.versions.values():
        if version.model_ref == to:
            return version.physical
    return vc.version(to).physical  # raises NotFound with a hint


def _move(
    lc: Any, vc: Any, target: str, action: str, reason: str, evaluation_id: str | None
) -> AliasMove:
    with lc.lock_for(vc.db, vc.name):
        old = vc.serving
        if old == target:
            raise FailedPrecondition(f"'{vc.name}' already serves '{target}'")
        lc.data.alter_alias(target, vc.name, db_name=vc.db)  # the atomic switch
        lc.append(
            "collection_alias_moved", db=vc.db, name=vc.name, old=old, new=target,
            action=action, reason=reason, evaluation_id=evaluation_id,
        )  # fmt: skip
        move = vc.moves[-1]
        running = lc.experiments.running_on(vc.db, vc.name)
        if running is not None:
            lc.stop_experiment(running.experiment_id, reason=f"{action} of '{vc.name}'")
    return move


def reconcile_aliases(lc: Any) -> None:
    """Append a ``recovered`` move where the engine's alias and the history disagree."""
    for vc in lc.versioned.all():
        try:
            actual = lc.engine.describe_alias(vc.db, vc.name)
        except AliasNotFound:
            actual = None
        if actual is not None and actual != vc.serving:
            lc.append(
                "collection_alias_moved", db=vc.db, name=vc.name, old=vc.serving, new=actual,
                action="recovered", reason="alias moved before its event was written",
                evaluation_id=None,
            )  # fmt: skip
