"""Promotion gates: conditions a challenger's evaluation must meet.

Syntax: clauses joined by ``,`` or ``and``; each clause is

    <metric> <op> <number>
    <metric> <op> champion [(+|-|*) <number>]

metrics: ``recall@<k>``, ``ndcg@10``, ``mrr``, ``ann_recall``, ``p50_ms``,
``p99_ms`` from the offline evaluation; with the prefix ``online.`` the same
kind of figure from an online experiment (``online.p99_ms``, ``online.p50_ms``,
``online.ctr``, ``online.ndcg@10``). Ops: ``>=``, ``>``, ``<=``, ``<``, ``==``.
The left side is always the challenger's value; ``champion`` is the champion's
value of the same metric on the same queries (offline) or traffic (online).
Example: ``ndcg@10 >= champion - 0.01, online.p99_ms <= champion * 1.2``.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

from keeldb.errors import InvalidArgument

__all__ = ["Gate", "GateResult"]

_CLAUSE = re.compile(
    r"^\s*(?P<metric>(?:online\.)?[a-z][a-z0-9_]*(?:@\d+)?)\s*(?P<op>>=|<=|==|>|<)\s*"
    r"(?:(?P<number>-?\d+(?:\.\d+)?)|champion\s*(?:(?P<arith>[-+*])\s*(?P<amount>\d+(?:\.\d+)?))?)"
    r"\s*$"
)
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
        "==": operator.eq}  # fmt: skip
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}


@dataclass(frozen=True)
class Clause:
    text: str
    metric: str
    op: str
    number: float | None
    arith: str | None
    amount: float | None

    def threshold(self, champion: float) -> float:
        if self.number is not None:
            return self.number
        if self.arith is None:
            return champion
        return _ARITH[self.arith](champion, self.amount)


@dataclass(frozen=True)
class ClauseResult:
    clause: str
    challenger: float
    threshold: float
    passed: bool


@dataclass(frozen=True)
class GateResult:
    clauses: list[ClauseResult]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.clauses)

    def summary(self) -> str:
        return "; ".join(
            f"{c.clause}: {c.challenger:.4f} vs {c.threshold:.4f} {'ok' if c.passed else 'FAIL'}"
            for c in self.clauses
        )

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "clauses": [c.__dict__ for c in self.clauses]}


@dataclass(frozen=True)
class Gate:
    clauses: list[Clause]

    @classmethod
    def parse(cls, text: str) -> Gate:
        parts = [p for p in re.split(r",|\band\b", text or "") if p.strip()]
        if not parts:
            raise InvalidArgument("empty gate", hint='e.g. "ndcg@10 >= champion - 0.01"')
        clauses = []
        for part in parts:
            m = _CLAUSE.match(part.lower())
            if m is None:
                raise InvalidArgument(
                    f"cannot parse gate clause {part.strip()!r}",
                    hint='write "<metric> <op> <number>" or "<metric> <op> champion - <number>"',
                )
            clauses.append(
                Clause(
                    part.strip(),
                    m["metric"],
                    m["op"],
                    float(m["number"]) if m["number"] is not None else None,
                    m["arith"],
                    float(m["amount"]) if m["amount"] is not None else None,
                )  # fmt: skip
            )
        return cls(clauses)

    @property
    def needs_offline(self) -> bool:
        return any(not c.metric.startswith("online.") for c in self.clauses)

    @property
    def needs_online(self) -> bool:
        return any(c.metric.startswith("online.") for c in self.clauses)

    def check(
        self, record: dict[str, Any] | None, online: dict[str, Any] | None = None
    ) -> GateResult:
        """Check the clauses against an evaluation record's champion/challenger summaries
        and (``online.`` clauses) an experiment's per-arm figures."""
        results = []
        for clause in self.clauses:
            champion, challenger = _sides(clause.metric, record, online)
            threshold = clause.threshold(champion)
            passed = bool(_OPS[clause.op](challenger, threshold))
            results.append(ClauseResult(clause.text, challenger, threshold, passed))
        return GateResult(results)


def _sides(
    metric: str, record: dict[str, Any] | None, online: dict[str, Any] | None
) -> tuple[float, float]:
    if metric.startswith("online."):
        if online is None:
            raise InvalidArgument(
                f"gate clause on {metric!r} needs an online experiment",
                hint="pass experiment_id= (or --experiment) of an experiment on this collection",
            )
        name = metric.removeprefix("online.")
        arms = online["arms"]
        return (_metric(arms["champion"], name, "the experiment's champion arm"),
                _metric(arms["challenger"], name, "the experiment's challenger arm"))  # fmt: skip
    if record is None:
        raise InvalidArgument(
            f"gate clause on {metric!r} needs an offline evaluation",
            hint="pass evaluation_id= (or --evaluation), or gate on online.<metric> only",
        )
    return (_metric(record["champion"]["summary"], metric, "the evaluation"),
            _metric(record["challenger"]["summary"], metric, "the evaluation"))  # fmt: skip


def _metric(summary: dict[str, Any], name: str, where: str) -> float:
    if name not in summary:
        known = sorted(k for k, v in summary.items() if isinstance(v, (int, float)))
        raise InvalidArgument(
            f"gate metric {name!r} is not in {where} (not measured yet?)",
            hint=f"known: {', '.join(known)}",
        )
    return float(summary[name])
