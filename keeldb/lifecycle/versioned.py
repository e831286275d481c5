"""Versioned collections: a logical name (an engine alias) over one physical collection
per model version, and the history of what the alias served.

State is folded from events:

- ``versioned_collection_created`` {db, name, field, text_field, schema, index}
- ``collection_version_added`` {db, name, physical, model, version}
- ``collection_alias_moved`` {db, name, old, new, action, reason, evaluation_id}
- ``collection_version_dropped`` {db, name, physical, reason}: retention dropped it
  (see :mod:`keeldb.lifecycle.retention`); it is no longer live.
- ``reembed_started`` / ``reembed_finished`` {job_id, ...}: a version's build state.

Invariants: physical names are ``<name>__<model>_<version>`` (non-identifier
characters of the model name become ``_``); every physical version is *live*
(receives dual writes) from the event that adds it; the alias's current target
is the ``new`` of its last move, and a rollback target is the ``old`` of the move
that installed the current target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from keeldb.errors import NotFound, did_you_mean
from keeldb.lifecycle.registry import AliasMove, target_at

__all__ = ["CollectionVersion", "VersionedCollection", "VersionedTable", "physical_name"]


def physical_name(name: str, model: str, version: int) -> str:
    return f"{name}__{re.sub(r'[^A-Za-z0-9_]', '_', model)}_{version}"


@dataclass
class CollectionVersion:
    physical: str
    model: str
    version: int
    build: str = "empty"  # empty | building | ready
    job_id: str | None = None

    @property
    def model_ref(self) -> str:
        return f"{self.model}:{self.version}"


@dataclass
class VersionedCollection:
    db: str
    name: str
    field: str
    text_field: str
    schema: dict[str, Any]
    index: dict[str, Any]
    versions: dict[str, CollectionVersion] = field(default_factory=dict)
    moves: list[AliasMove] = field(default_factory=list)
    #: physical versions retention dropped (their collections must not exist)
    dropped: list[str] = field(default_factory=list)

    @property
    def serving(self) -> str | None:
        return self.moves[-1].new if self.moves else None

    def previous(self) -> str | None:
        """The target that served before the current one started serving."""
        return self.moves[-1].old if self.moves else None

    def target_at(self, time_ms: int) -> str | None:
        return target_at(self.moves, time_ms)

    def version(self, physical: str) -> CollectionVersion:
        found = self.versions.get(physical)
        if found is None:
            raise NotFound(
                f"'{physical}' is not a version of collection '{self.name}'",
                hint=did_you_mean(physical, self.versions),
            )
        return found

    def by_model(self, model_ref: str) -> CollectionVersion | None:
        for v in self.versions.values():
            if v.model_ref == model_ref:
                return v
        return None


class VersionedTable:
    def __init__(self) -> None:
        self._by_name: dict[tuple[str, str], VersionedCollection] = {}
        self._jobs: dict[str, tuple[str, str, str]] = {}  # job id -> (db, name, physical)

    def __bool__(self) -> bool:
        return bool(self._by_name)

    def get(self, db: str, name: str) -> VersionedCollection | None:
        return self._by_name.get((db, name))

    def require(self, db: str, name: str) -> VersionedCollection:
        vc = self._by_name.get((db, name))
        if vc is None:
            names = [n for d, n in self._by_name if d == db]
            raise NotFound(
                f"'{name}' is not a versioned collection",
                hint=did_you_mean(name, names) or "create it with create_versioned_collection",
            )
        return vc

    def all(self) -> list[VersionedCollection]:
        return list(self._by_name.values())

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "versioned_collection_created":
            self._by_name[(event["db"], event["name"])] = VersionedCollection(
                event["db"], event["name"], event["field"], event["text_field"],
                event["schema"], event["index"],
            )  # fmt: skip
        elif kind == "collection_version_added":
            vc = self._by_name[(event["db"], event["name"])]
            vc.versions[event["physical"]] = CollectionVersion(
                event["physical"], event["model"], event["version"]
            )
        elif kind == "collection_alias_moved":
            vc = self._by_name[(event["db"], event["name"])]
            extra = {k: event.get(k) for k in ("action", "evaluation_id")}
            vc.moves.append(
                AliasMove(
                    event["name"],
                    event["old"],
                    event["new"],
                    event["time_ms"],
                    event["seq"],
                    event.get("reason", ""),
                    extra,
                )  # fmt: skip
            )
        elif kind == "collection_version_dropped":
            vc = self._by_name[(event["db"], event["name"])]
            vc.versions.pop(event["physical"], None)
            vc.dropped.append(event["physical"])
        elif kind in ("reembed_started", "reembed_finished"):
            self._apply_job(event)

    def _apply_job(self, event: dict[str, Any]) -> None:
        if event["type"] == "reembed_started":
            self._jobs[event["job_id"]] = (event["db"], event["name"], event["target"])
        db, name, physical = self._jobs[event["job_id"]]
        version = self._by_name[(db, name)].versions[physical]
        version.job_id = event["job_id"]
        version.build = "building" if event["type"] == "reembed_started" else "ready"
