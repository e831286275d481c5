"""Retention: dropping the physical versions of a versioned collection nobody needs.

Every model version a collection was re-embedded with keeps a physical
collection, and every live version receives dual writes, so old versions cost
disk, memory and write throughput. ``drop_old_versions`` drops the *spare*
ones beyond the ``keep`` most recently added. Never spare:

- the version that serves (the alias target);
- the rollback target (the version that served before it), so ``rollback``
  always works after a retention pass;
- a version a re-embedding job is building;
- the arms of a running experiment.

Order of effects: the ``collection_version_dropped`` event is appended first
(from then on no write is routed to the version), then the physical collection
is dropped. A crash between the two leaves a collection no version names;
:func:`drop_leftover_versions`, run when the lifecycle opens, drops it.
"""

from __future__ import annotations

from typing import Any

from keeldb.errors import InvalidArgument

__all__ = ["drop_leftover_versions", "drop_old_versions", "protected_versions"]


def protected_versions(lc: Any, vc: Any) -> set[str]:
    """The physical versions of ``vc`` retention must keep (module docstring)."""
    keep = {vc.serving, vc.previous()}
    keep |= {p for p, v in vc.versions.items() if v.build == "building"}
    running = lc.experiments.running_on(vc.db, vc.name)
    if running is not None:
        keep |= {running.champion, running.challenger}
    keep.discard(None)
    return keep


def drop_old_versions(
    lc: Any, name: str, *, keep: int = 1, db: str = "", reason: str = ""
) -> list[str]:
    """Drop the spare versions of ``name`` but the ``keep`` most recently added ones.

    Returns the physical names dropped, oldest first.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise InvalidArgument(
            f"keep must be an integer >= 0 (spare versions to keep), got {keep!r}"
        )
    db = db or lc.default_db()
    with lc.lock_for(db, name):
        vc = lc.versioned.require(db, name)
        protected = protected_versions(lc, vc)
        spares = [p for p in vc.versions if p not in protected]  # in the order they were added
        doomed = spares[: max(0, len(spares) - keep)]
        for physical in doomed:
            lc.append(
                "collection_version_dropped", db=db, name=name, physical=physical,
                reason=reason or f"retention: keep {keep} spare version(s)",
            )  # fmt: skip
            lc.engine.drop_collection(db, physical)  # a missing one is no error
    return doomed


def drop_leftover_versions(lc: Any) -> None:
    """Drop the physical collections of versions whose drop event was written but
    whose collection outlived a crash."""
    for vc in lc.versioned.all():
        for physical in vc.dropped:
            if lc.engine.has_collection(vc.db, physical):
                lc.engine.drop_collection(vc.db, physical)
