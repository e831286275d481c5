"""``Lifecycle``: the model lifecycle of one data directory (``client.lifecycle``).

It owns ``<data>/lifecycle/`` (layout in ``docs/lifecycle.md``): the event log,
the model registry, embedding spaces, versioned collections, re-embedding jobs
and evaluations. State is the fold of the event log, rebuilt on open.

Layering: this is L5. It reads the engine's catalog (L4) directly and reaches
data through ``data``, an object with the MilvusClient data and DDL methods
(the embedded client passes itself), so it never imports the client.

Invariants: one ``Lifecycle`` per open data directory (the engine's directory
lock covers it); every state change is an appended event; the client's hot
paths call :meth:`route` / :meth:`search_data`, which return at once when
nothing is bound.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

from keeldb.engine.catalog import DEFAULT_DATABASE, CollectionEntry
from keeldb.engine.database import Engine
from keeldb.errors import AlreadyExists, CollectionNotFound, InvalidArgument, SchemaError
from keeldb.lifecycle.drift import DriftMonitor
from keeldb.lifecycle.encoders import Encoder
from keeldb.lifecycle.events import EventLog
from keeldb.lifecycle.experiments import ExperimentTable
from keeldb.lifecycle.loading import EncoderCache
from keeldb.lifecycle.registry import AliasMove, ModelRegistry, ModelVersion
from keeldb.lifecycle.routing import WriteRoute, query_vectors
from keeldb.lifecycle.service_online import OnlineFacade
from keeldb.lifecycle.spaces import EmbeddingSpace, SpaceTable, SpaceVectors, check_binding
from keeldb.lifecycle.versioned import VersionedCollection, VersionedTable, physical_name
from keeldb.schema.collection import CollectionSchema
from keeldb.types import DataType

__all__ = ["Lifecycle"]


class Lifecycle(OnlineFacade):
    def __init__(self, engine: Engine, data: Any) -> None:
        self.engine = engine
        self.fs = engine.fs
        self.root = posixpath.join(engine.path, "lifecycle")
        self.data = data
        self._log = EventLog(self.fs, posixpath.join(self.root, "events.log"))
        self.registry = ModelRegistry(self.fs, self.root, self._log)
        self.spaces = SpaceTable()
        self.versioned = VersionedTable()
        self.experiments = ExperimentTable()
        self.drift = DriftMonitor(self)
        self.encoders = EncoderCache(self.registry)
        self._locks: dict[tuple[str, str], threading.RLock] = {}
        self._mutex = threading.RLock()
        self.jobs: dict[str, Any] = {}
        for event in self._log.events:
            self._apply(event)
        from keeldb.lifecycle.online import OnlineRouter

        self.online = OnlineRouter(self)
        if self.versioned:
            from keeldb.lifecycle.promotion import reconcile_aliases
            from keeldb.lifecycle.retention import drop_leftover_versions

            reconcile_aliases(self)
            drop_leftover_versions(self)

    # -- events --------------------------------------------------------------
    def _apply(self, event: dict[str, Any]) -> None:
        self.registry.apply(event)
        self.spaces.apply(event)
        self.versioned.apply(event)
        self.experiments.apply(event)
        self.drift.apply(event)

    def append(self, event_type: str, **fields: Any) -> dict[str, Any]:
        """Append an event durably and fold it into the state."""
        self.fs.makedirs(self.root)
        if event_type in ("model_version_registered", "model_alias_moved"):
            raise InvalidArgument("model events are appended by the registry")
        event = self._log.append(event_type, **fields)
        self._apply(event)
        return event

    def events(self) -> list[dict[str, Any]]:
        return list(self._log.events)

    # -- models ----------------------------------------------------------------
    def register_model(self, model: str, artifact: str, **kwargs: Any) -> ModelVersion:
        """Register the next version of ``model``; see :meth:`ModelRegistry.register`."""
        self.fs.makedirs(self.root)
        return self.registry.register(model, artifact=artifact, **kwargs)

    def train_tfidf_svd(
        self, model: str, texts: Sequence[str], *, dim: int = 256, description: str = "",
        lineage: dict[str, Any] | None = None, tags: dict[str, Any] | None = None, **params: Any,
    ) -> ModelVersion:  # fmt: skip
        """Fit TF-IDF + truncated SVD on ``texts`` and register it as a new version."""
        from keeldb.lifecycle.tfidf_svd import train_tfidf_svd

        encoder, info = train_tfidf_svd(texts, dim=dim, **params)
        tmp = tempfile.mkdtemp(prefix="keeldb-tfidf-")
        try:
            encoder.save(tmp)
            mv = self.register_model(
                model, tmp, kind="tfidf_svd", dim=encoder.dim, metric="COSINE", normalize=True,
                preprocessing={"lowercase": True, "tokens": "\\b\\w\\w+\\b",
                               "ngram_max": info["params"]["ngram_max"]},
                params=info["params"], metrics=info["metrics"], tags=tags or {},
                description=description,
                lineage={**info["lineage"], **(lineage or {})},
            )  # fmt: skip
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.encoders.put(mv, encoder)
        return mv

    def register_sentence_transformer(
        self, model: str, path: str | None = None, *, dim: int = 384,
        max_seq_length: int | None = 256, store: bool = False, **meta: Any,
    ) -> ModelVersion:  # fmt: skip
        """Register a local sentence-transformers directory (default: the bundled MiniLM)."""
        from keeldb.lifecycle.sentence_transformers import (
            bundled_minilm_path,
            check_model_directory,
        )

        path = path or bundled_minilm_path()
        check_model_directory(path)
        meta.setdefault("description", f"sentence-transformers model from {os.path.basename(path)}")
        return self.register_model(
            model, path, kind="sentence_transformers", dim=dim, metric="COSINE",
            normalize=True, store=store,
            preprocessing={"max_seq_length": max_seq_length, "tokenizer": "model's own"},
            **meta,
        )  # fmt: skip

    def register_entry_point(
        self, model: str, entry_point: str, *, dim: int, metric: str = "COSINE",
        normalize: bool = True, params: dict[str, Any] | None = None, **meta: Any,
    ) -> ModelVersion:  # fmt: skip
        """Register Python code ``module:callable`` as a version (loading needs allowing)."""
        from keeldb.lifecycle.entry_points import check_entry_point, distribution_version

        module, _ = check_entry_point(entry_point)
        lineage = {"code": entry_point, "distribution": distribution_version(module),
                   **meta.pop("lineage", {})}  # fmt: skip
        tmp = tempfile.mkdtemp(prefix="keeldb-entry-point-")
        try:
            path = os.path.join(tmp, "entry_point.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"entry_point": entry_point, "params": params or {}}, f, sort_keys=True)
            return self.register_model(
                model, path, kind="entry_point", dim=dim, metric=metric, normalize=normalize,
                params=params or {}, lineage=lineage, **meta,
            )  # fmt: skip
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def allow_entry_points(self, references: Sequence[str]) -> None:
        """Let this process run these ``module:callable`` (or ``module:*``) entry points."""
        self.encoders.entry_points.allow(references)

    def model(self, ref: str) -> ModelVersion:
        return self.registry.get(ref)

    def set_model_alias(
        self, model: str, alias: str, version: int | None, reason: str = ""
    ) -> AliasMove:
        self.fs.makedirs(self.root)
        return self.registry.set_alias(model, alias, version, reason)

    def encoder(self, ref: str | ModelVersion) -> Encoder:
        mv = ref if isinstance(ref, ModelVersion) else self.registry.get(ref)
        return self.encoders.get(mv)

    def embed(self, ref: str, texts: Sequence[str] | str) -> SpaceVectors:
        """Embed texts with a model version; the vectors remember their space."""
        mv = self.registry.get(ref)
        texts = [texts] if isinstance(texts, str) else list(texts)
        vectors = self.encoders.get(mv).encode(texts)
        return SpaceVectors(vectors, _space_key(mv), mv.ref)

    def _encoder_for_space(self, space: EmbeddingSpace) -> Encoder:
        return self.encoders.get(self.registry.get(space.model_ref))

    # -- spaces ----------------------------------------------------------------
    def bind_space(
        self, collection: str, model: str, *, field: str | None = None,
        text_field: str = "text", db: str = "",
    ) -> EmbeddingSpace:  # fmt: skip
        """Bind a collection's vector field to a model version (checks dim and metric)."""
        db = db or self.default_db()
        entry = self.engine.resolve(db, collection)
        mv = self.registry.get(model)
        field_name = entry.schema.vector_field(field).name
        check_binding(entry, field_name, text_field, mv)
        space = EmbeddingSpace(
            db=db, collection_id=entry.collection_id, collection=entry.name, field=field_name,
            text_field=text_field, model=mv.model, version=mv.version, dim=mv.dim,
            metric=mv.metric, normalize=mv.normalize, preprocessing=dict(mv.preprocessing),
        )  # fmt: skip
        self.append("space_bound", space=space.to_json())
        return space

    def space_of(
        self, collection: str, field: str | None = None, db: str = ""
    ) -> EmbeddingSpace | None:
        db = db or self.default_db()
        entry = self.engine.resolve(db, collection)
        return self.spaces.get(db, entry.collection_id, field)

    def default_db(self) -> str:
        return getattr(self.data, "_db_name", DEFAULT_DATABASE)

    # -- client hooks -------------------------------------------------------------
    def route(self, db: str, name: str) -> WriteRoute | None:
        """Where writes to ``name`` go, or None when no model is involved (the common case)."""
        if not self.spaces:
            return None
        vc = self.versioned.get(db, name) if self.versioned else None
        if vc is not None and vc.versions:
            return self._versioned_route(vc)
        try:
            entry = self.engine.resolve(db, name)
        except CollectionNotFound:
            return None
        space = self.spaces.get(db, entry.collection_id)
        if space is None:
            return None
        return WriteRoute(
            [(entry.name, space)], entry.name, self._encoder_for_space, observe=self._observe_rows
        )

    def _versioned_route(self, vc: VersionedCollection) -> WriteRoute:
        targets = []
        for physical in vc.versions:
            entry = self.engine.resolve(vc.db, physical)
            space = self.spaces.get(vc.db, entry.collection_id, vc.field)
            if space is not None:
                targets.append((physical, space))
        primary = vc.serving or targets[0][0]
        return WriteRoute(
            targets, primary, self._encoder_for_space, self.lock_for(vc.db, vc.name),
            observe=self._observe_rows,
        )  # fmt: skip

    def _observe_rows(self, space: EmbeddingSpace, vectors: Any) -> None:
        self.drift.observe(space, "vectors", vectors)

    def lock_for(self, db: str, name: str) -> threading.RLock:
        with self._mutex:
            return self._locks.setdefault((db, name), threading.RLock())

    def search_data(
        self, db: str, entry: CollectionEntry, anns_field: str | None, data: Any, model: str | None
    ) -> Any:
        """Search ``data`` as vectors: embeds text, rejects vectors of another space."""
        if not self.spaces and model is None and not _maybe_text(data):
            return data  # nothing bound, plain vectors: the common case costs nothing
        field_name = entry.schema.vector_field(anns_field).name
        space = self.spaces.get(db, entry.collection_id, field_name)
        key = _space_key(self.registry.get(model)) if model else None
        vectors = query_vectors(space, entry.name, field_name, data, key, self._encoder_for_space)
        if space is not None:
            self.drift.observe(space, "queries", vectors)
        return vectors

    # -- versioned collections ------------------------------------------------------
    def create_versioned_collection(
        self, name: str, model: str, schema: CollectionSchema, *, text_field: str = "text",
        field: str = "vector", index_type: str = "AUTOINDEX",
        index_params: dict[str, Any] | None = None, db: str = "", reason: str = "created",
    ) -> VersionedCollection:  # fmt: skip
        """Create ``name`` as an alias over a first physical version embedded by ``model``."""
        db = db or self.default_db()
        if self.versioned.get(db, name) is not None or self.engine.has_collection(db, name):
            raise AlreadyExists(f"collection '{name}' already exists")
        schema = CollectionSchema.coerce(schema)
        if schema.auto_id or any(f.auto_id for f in schema.fields):
            raise SchemaError(
                "a versioned collection needs user-assigned primary keys (auto_id=False)",
                hint="the same row must carry the same key in every version",
            )
        schema.field(text_field)
        self.append(
            "versioned_collection_created", db=db, name=name, field=field, text_field=text_field,
            schema=schema.to_json(), index={"index_type": index_type, "params": index_params or {}},
        )  # fmt: skip
        physical = self.add_collection_version(name, model, db=db)
        self.data.create_alias(physical, name, db_name=db)
        vc = self.versioned.require(db, name)
        self.append(
            "collection_alias_moved", db=db, name=name, old=None, new=physical,
            action="create", reason=reason, evaluation_id=None,
        )  # fmt: skip
        return vc

    def add_collection_version(self, name: str, model: str, *, db: str = "") -> str:
        """Create (or find) the physical version of ``name`` for ``model``; live at once."""
        db = db or self.default_db()
        vc = self.versioned.require(db, name)
        mv = self.registry.get(model)
        existing = vc.by_model(mv.ref)
        if existing is not None:
            return existing.physical
        physical = physical_name(name, mv.model, mv.version)
        schema = CollectionSchema.from_json(vc.schema)
        schema.fields = [_with_dim(f, mv.dim) if f.name == vc.field else f for f in schema.fields]
        if schema.by_name()[vc.field].dtype != DataType.FLOAT_VECTOR:
            raise SchemaError(f"field '{vc.field}' must be a FLOAT_VECTOR field")
        index = [{"field_name": vc.field, "index_type": vc.index["index_type"],
                  "metric_type": mv.metric, "params": dict(vc.index["params"])}]  # fmt: skip
        with self.lock_for(db, name):
            self.data.create_collection(physical, schema=schema, index_params=index, db_name=db)
            self.bind_space(physical, mv.ref, field=vc.field, text_field=vc.text_field, db=db)
            self.append(
                "collection_version_added", db=db, name=name, physical=physical,
                model=mv.model, version=mv.version,
            )  # fmt: skip
        return physical

    # -- jobs, evaluation, promotion (implemented in their own modules) ----------------
    def start_reembed(self, name: str, model: str, **kwargs: Any) -> Any:
        """Build (or resume building) the version of ``name`` for ``model``; a ReembedJob."""
        from keeldb.lifecycle.reembed import start_reembed

        return start_reembed(self, name, model, **kwargs)

    def evaluate(self, name: str, queries: Any, **kwargs: Any) -> dict[str, Any]:
        """Champion vs challenger on labelled queries; the stored evaluation record."""
        from keeldb.lifecycle.evaluation import evaluate

        return evaluate(self, name, queries, **kwargs)

    def evaluation(self, evaluation_id: str) -> dict[str, Any]:
        from keeldb.lifecycle.evaluation import load_evaluation

        return load_evaluation(self, evaluation_id)

    def promote(self, name: str, **kwargs: Any) -> AliasMove:
        """Move ``name`` to the challenger (optionally gated); see ``promotion.promote``."""
        from keeldb.lifecycle.promotion import promote

        return promote(self, name, **kwargs)

    def rollback(self, name: str, **kwargs: Any) -> AliasMove:
        from keeldb.lifecycle.promotion import rollback

        return rollback(self, name, **kwargs)

    def drop_old_versions(self, name: str, **kwargs: Any) -> list[str]:
        """Retention: drop spare physical versions of ``name``; see ``retention``."""
        from keeldb.lifecycle.retention import drop_old_versions

        return drop_old_versions(self, name, **kwargs)

    def collection_history(self, name: str, db: str = "") -> list[AliasMove]:
        return list(self.versioned.require(db or self.default_db(), name).moves)

    def serving_at(self, name: str, time_ms: int, db: str = "") -> str | None:
        """The physical version ``name`` served at ``time_ms`` (None before it existed)."""
        return self.versioned.require(db or self.default_db(), name).target_at(time_ms)

    def close(self) -> None:
        for job in list(self.jobs.values()):
            job.stop()
        self.online.close()
        self.drift.close()
        self._log.close()


def _maybe_text(data: Any) -> bool:
    if isinstance(data, (str, SpaceVectors)):
        return True
    return isinstance(data, (list, tuple)) and bool(data) and isinstance(data[0], str)


def _space_key(mv: ModelVersion) -> str:
    return f"{mv.ref}/{mv.dim}/{mv.metric}/{'unit' if mv.normalize else 'raw'}"


def _with_dim(f: Any, dim: int) -> Any:
    from dataclasses import replace

    return replace(f, dim=dim)
