"""What ``Lifecycle.describe`` reports about a collection: its versions, what serves,
the running experiment, and the drift of each version's embedding space.

Shape (JSON-ready)::

    {"name", "db", "versioned": bool, "serving", "history": <moves>,
     "versions": [{"physical", "model", "build", "space", "drift": {"queries": {...},
                   "vectors": {...}}}],
     "experiment": <running experiment> | null}

A collection that is bound but not versioned reports one version (itself).
"""

from __future__ import annotations

from typing import Any

from keeldb.errors import NotFound

__all__ = ["describe_collection"]


def describe_collection(lc: Any, name: str, db: str = "") -> dict[str, Any]:
    db = db or lc.default_db()
    vc = lc.versioned.get(db, name)
    if vc is None:
        return _describe_bound(lc, name, db)
    versions = []
    for physical, version in vc.versions.items():
        entry = lc.engine.resolve(db, physical)
        space = lc.spaces.get(db, entry.collection_id, vc.field)
        versions.append({
            "physical": physical, "model": version.model_ref, "build": version.build,
            "space": space.key if space else None,
            "drift": _drift(lc, space) if space else None,
        })  # fmt: skip
    running = lc.experiments.running_on(db, name)
    return {
        "name": name, "db": db, "versioned": True, "serving": vc.serving,
        "history": len(vc.moves), "versions": versions,
        "experiment": running.to_json() if running else None,
    }  # fmt: skip


def _describe_bound(lc: Any, name: str, db: str) -> dict[str, Any]:
    entry = lc.engine.resolve(db, name)
    space = lc.spaces.get(db, entry.collection_id)
    if space is None:
        raise NotFound(
            f"'{name}' is neither versioned nor bound to a model",
            hint="bind it with lifecycle.bind_space(...) or create_versioned_collection(...)",
        )
    version = {"physical": entry.name, "model": space.model_ref, "build": "ready",
               "space": space.key, "drift": _drift(lc, space)}  # fmt: skip
    return {"name": name, "db": db, "versioned": False, "serving": entry.name, "history": 0,
            "versions": [version], "experiment": None}  # fmt: skip


def _drift(lc: Any, space: Any) -> dict[str, Any]:
    return {stream: lc.drift.report(space, stream) for stream in ("queries", "vectors")}
