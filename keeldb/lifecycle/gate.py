"""Promotion gates: conditions a challenger's evaluation must meet.

Syntax: clauses joined by ``,`` or ``and``; each clause is

    <metric> <op> <number>
    <metric> <op> champion [(+|-|*) <number>]

metrics: ``recall@<k>``, ``ndcg@10``, ``mrr``, ``ann_recall``, ``p50_ms``,
``p99_ms``; ops: ``>=``, ``>``, ``<=``, ``<``, ``==``. The left side is always
the challenger's value; ``champion`` is the champion's value of the same metric
on the same queries. Example: ``ndcg@10 >= champion - 0.01, p99_ms <= champion * 1.2``.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

from keeldb.errors import InvalidArgument

__all__ = ["Gate", "GateResult"]

_CLAUSE = re.compile(
    r"^\s*(?P<metric>[a-z][a-z0-9_]*(?:@\d+)?)\s*(?P<op>>=|<=|==|>|<)\s*"
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

    def check(self, record: dict[str, Any]) -> GateResult:
        """Check the clauses against an evaluation record's champion/challenger summaries."""
        results = []
        for clause in self.clauses:
            champion = _metric(record["champion"]["summary"], clause.metric)
            challenger = _metric(record["challenger"]["summary"], clause.metric)
            threshold = clause.threshold(champion)
            passed = bool(_OPS[clause.op](challenger, threshold))
            results.append(ClauseResult(clause.text, challenger, threshold, passed))
        return GateResult(results)


def _metric(summary: dict[str, float], name: str) -> float:
    if name not in summary:
        raise InvalidArgument(
            f"gate metric {name!r} is not in the evaluation",
            hint=f"known: {', '.join(sorted(summary))}",
        )
    return float(summary[name])
