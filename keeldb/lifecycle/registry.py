"""The model registry: models, their immutable integer versions, and model aliases.

On disk (under ``<data>/lifecycle/models/<model>/<version>/``): ``version.json``
(checked JSON, the :class:`ModelVersion` fields, see ``docs/lifecycle.md``) and,
for a stored artifact, ``artifact/`` with the copied files.

Invariants:

- Versions of a model are numbered 1, 2, … in registration order and never
  change or disappear; a version exists exactly when its
  ``model_version_registered`` event does. The directory is written under
  ``.tmp-<version>`` and renamed into place before the event is appended, so a
  crash leaves at most debris that the next registration replaces.
- Every alias move is a ``model_alias_moved`` event (``old``, ``new``, ``reason``);
  the current target and the target at any past time are folds of those events.
- Model references: ``name:<version>``, ``name@<alias>``, or ``name`` (latest version).
"""

from __future__ import annotations

import posixpath
import re
import time
from dataclasses import dataclass, field
from typing import Any

from keeldb.errors import InvalidArgument, NotFound, did_you_mean
from keeldb.lifecycle.artifacts import ArtifactRef, copy_artifact, hash_artifact, tree_hash
from keeldb.lifecycle.artifacts import verify_artifact as _verify_files
from keeldb.lifecycle.events import EventLog
from keeldb.storage import FileSystem, read_checked_json, write_checked_json
from keeldb.storage.fs import translate_os_error
from keeldb.types import MetricType

__all__ = ["AliasMove", "ModelRegistry", "ModelVersion", "parse_model_ref"]

_MODEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")
_ALIAS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
KINDS = ("tfidf_svd", "sentence_transformers", "hashing", "entry_point")


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: int
    kind: str
    dim: int
    metric: str
    normalize: bool
    artifact: ArtifactRef
    preprocessing: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    lineage: dict[str, Any] = field(default_factory=dict)
    created_ms: int = 0

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "artifact"}
        out["artifact"] = self.artifact.to_json()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelVersion:
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "artifact"}
        return cls(artifact=ArtifactRef.from_json(data["artifact"]), **fields)


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias, as the event log recorded it."""

    alias: str
    old: Any
    new: Any
    time_ms: int
    seq: int
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def parse_model_ref(ref: str) -> tuple[str, int | None, str | None]:
    """``name:3`` → (name, 3, None); ``name@champion`` → (name, None, "champion")."""
    text = str(ref).strip()
    if "@" in text:
        name, alias = text.split("@", 1)
        return name, None, alias
    if ":" in text:
        name, version = text.rsplit(":", 1)
        if not version.isdigit():
            raise InvalidArgument(f"model reference {ref!r}: version must be an integer")
        return name, int(version), None
    return text, None, None


def check_metric(metric: str) -> str:
    upper = str(metric).upper()
    if upper not in MetricType.__members__:
        raise InvalidArgument(f"metric {metric!r} is not valid", hint="use COSINE, IP or L2")
    return upper


class ModelRegistry:
    """Models and versions folded from the event log; registration writes files then events."""

    def __init__(self, fs: FileSystem, root: str, log: EventLog) -> None:
        self._fs = fs
        self._root = posixpath.join(root, "models")
        self._log = log
        self._versions: dict[str, dict[int, ModelVersion]] = {}
        self._moves: dict[tuple[str, str], list[AliasMove]] = {}

    # -- folding -------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "model_version_registered":
            path = posixpath.join(self._root, event["model"], str(event["version"]), "version.json")
            data = read_checked_json(self._fs, path)
            if data is None:
                raise NotFound(f"model version file '{path}' is missing", hint="restore a backup")
            mv = ModelVersion.from_json(data)
            self._versions.setdefault(mv.model, {})[mv.version] = mv
        elif kind == "model_alias_moved":
            move = AliasMove(
                event["alias"], event["old"], event["new"], event["time_ms"], event["seq"],
                event.get("reason", ""),
            )  # fmt: skip
            self._moves.setdefault((event["model"], event["alias"]), []).append(move)

    # -- registration ----------------------------------------------------------
    def register(
        self,
        model: str,
        *,
        kind: str,
        dim: int,
        metric: str,
        normalize: bool,
        artifact: str,
        store: bool = True,
        **meta: Any,
    ) -> ModelVersion:
        """Register the next version of ``model`` with the artifact at ``artifact``.

        ``store=True`` copies it into the data directory; ``store=False`` keeps a
        reference to the path (its hash is recorded and checked on every load).
        """
        if not _MODEL_NAME.match(model or ""):
            raise InvalidArgument(
                f"model name {model!r} is not valid",
                hint="start with a letter; use letters, digits, '_', '-', '.'",
            )
        if kind not in KINDS:
            raise InvalidArgument(f"model kind {kind!r} is not known", hint=f"use one of {KINDS}")
        if not isinstance(dim, int) or dim <= 0:
            raise InvalidArgument(f"model output dim must be a positive integer, got {dim!r}")
        version = max(self._versions.get(model, {0: None}), default=0) + 1
        final = posixpath.join(self._root, model, str(version))
        tmp = posixpath.join(self._root, model, f".tmp-{version}")
        with translate_os_error(f"registering model {model}:{version}"):
            self._fs.remove_tree(tmp)
            self._fs.remove_tree(final)  # debris of a registration that never got its event
            if store:
                files = copy_artifact(self._fs, artifact, posixpath.join(tmp, "artifact"))
                ref = ArtifactRef("stored", "artifact", tree_hash(files), files)
            else:
                sha, files = hash_artifact(self._fs, artifact)
                ref = ArtifactRef("reference", posixpath.abspath(artifact), sha, files)
            mv = ModelVersion(
                model=model, version=version, kind=kind, dim=dim, metric=check_metric(metric),
                normalize=bool(normalize), artifact=ref, created_ms=time.time_ns() // 1_000_000,
                **{k: v for k, v in meta.items() if v is not None},
            )  # fmt: skip
            self._fs.makedirs(tmp)
            write_checked_json(self._fs, posixpath.join(tmp, "version.json"), mv.to_json())
            self._fs.rename(tmp, final)
            self._fs.fsync_dir(posixpath.join(self._root, model))
        self.apply(self._log.append("model_version_registered", model=model, version=version))
        return mv

    # -- lookups -----------------------------------------------------------------
    def models(self) -> list[str]:
        return sorted(self._versions)

    def versions(self, model: str) -> list[ModelVersion]:
        return [v for _, v in sorted(self._model(model).items())]

    def _model(self, model: str) -> dict[int, ModelVersion]:
        versions = self._versions.get(model)
        if versions is None:
            raise NotFound(
                f"model {model!r} is not registered", hint=did_you_mean(model, self._versions)
            )
        return versions

    def get(self, ref: str) -> ModelVersion:
        """The version a reference names (``name:3``, ``name@alias``, ``name`` = latest)."""
        name, version, alias = parse_model_ref(ref)
        versions = self._model(name)
        if alias is not None:
            version = self.alias_target(name, alias)
            if version is None:
                raise NotFound(
                    f"model alias {name}@{alias} is not set",
                    hint=did_you_mean(alias, self.aliases(name)),
                )
        if version is None:
            version = max(versions)
        if version not in versions:
            raise NotFound(
                f"model {name} has no version {version}", hint=f"latest is {max(versions)}"
            )
        return versions[version]

    def artifact_path(self, mv: ModelVersion) -> str:
        if mv.artifact.mode == "reference":
            return mv.artifact.path
        return posixpath.join(self._root, mv.model, str(mv.version), mv.artifact.path)

    def verify(self, mv: ModelVersion) -> str:
        """Check the artifact's files against their recorded hashes; return its path."""
        path = self.artifact_path(mv)
        _verify_files(self._fs, path, mv.artifact)
        return path

    # -- aliases -----------------------------------------------------------------
    def set_alias(self, model: str, alias: str, version: int | None, reason: str = "") -> AliasMove:
        """Point ``model@alias`` at ``version`` (None drops it); the move is recorded."""
        if not _ALIAS_NAME.match(alias or ""):
            raise InvalidArgument(
                f"alias name {alias!r} is not valid", hint="use letters, digits, '_', '-'"
            )
        if version is not None:
            self.get(f"{model}:{int(version)}")
        else:
            self._model(model)
        old = self.alias_target(model, alias)
        event = self._log.append(
            "model_alias_moved", model=model, alias=alias, old=old,
            new=None if version is None else int(version), reason=reason,
        )  # fmt: skip
        self.apply(event)
        return self._moves[(model, alias)][-1]

    def aliases(self, model: str) -> dict[str, int]:
        out = {}
        for (name, alias), moves in self._moves.items():
            if name == model and moves[-1].new is not None:
                out[alias] = moves[-1].new
        return out

    def alias_target(self, model: str, alias: str) -> int | None:
        moves = self._moves.get((model, alias))
        return moves[-1].new if moves else None

    def alias_history(self, model: str, alias: str) -> list[AliasMove]:
        return list(self._moves.get((model, alias), []))

    def alias_at(self, model: str, alias: str, time_ms: int) -> int | None:
        """The version ``model@alias`` pointed to at ``time_ms`` (None if unset then)."""
        return target_at(self._moves.get((model, alias), []), time_ms)


def target_at(moves: list[AliasMove], time_ms: int) -> Any:
    """The ``new`` of the last move at or before ``time_ms`` (None before the first)."""
    current = None
    for move in moves:
        if move.time_ms > time_ms:
            break
        current = move.new
    return current
