"""Embedding spaces: a vector field of a collection bound to one model version.

An :class:`EmbeddingSpace` fixes (model version, dim, metric, normalisation,
preprocessing) for ``(database, collection id, vector field)`` and names the
VARCHAR field the vectors are made from. Bindings are ``space_bound`` events
keyed by collection **id**: a collection that is dropped and re-created under
the same name is a new collection and is not bound.

Invariants checked at bind time: the field is a float vector whose dim equals
the model's output dim; if the field has an index its metric equals the
model's metric; the text field exists and is VARCHAR. Vectors tagged with a
space (:class:`SpaceVectors`) may only be searched in that same space.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from keeldb.engine.catalog import CollectionEntry
from keeldb.errors import InvalidArgument, SchemaError
from keeldb.lifecycle.registry import ModelVersion
from keeldb.types import DataType

__all__ = ["EmbeddingSpace", "SpaceTable", "SpaceVectors", "check_binding"]


@dataclass(frozen=True)
class EmbeddingSpace:
    db: str
    collection_id: int
    collection: str
    field: str
    text_field: str
    model: str
    version: int
    dim: int
    metric: str
    normalize: bool
    preprocessing: dict[str, Any] = field(default_factory=dict)

    @property
    def model_ref(self) -> str:
        return f"{self.model}:{self.version}"

    @property
    def key(self) -> str:
        """What makes two spaces the same: model version, dim, metric, normalisation."""
        norm = "unit" if self.normalize else "raw"
        return f"{self.model}:{self.version}/{self.dim}/{self.metric}/{norm}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SpaceVectors(np.ndarray):
    """Query vectors that remember the embedding space they were made in."""

    space_key: str
    model_ref: str

    def __new__(cls, vectors: np.ndarray, space_key: str, model_ref: str) -> SpaceVectors:
        obj = np.asarray(vectors, dtype=np.float32).view(cls)
        obj.space_key = space_key
        obj.model_ref = model_ref
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.space_key = getattr(obj, "space_key", "")
        self.model_ref = getattr(obj, "model_ref", "")


def check_binding(
    entry: CollectionEntry, field_name: str, text_field: str, mv: ModelVersion
) -> None:
    """Raise unless ``mv`` can fill ``entry``'s ``field_name`` from ``text_field``."""
    field_schema = entry.schema.field(field_name)
    if field_schema.dtype != DataType.FLOAT_VECTOR:
        raise SchemaError(f"field '{field_name}' of '{entry.name}' is not a float vector field")
    if field_schema.dim != mv.dim:
        raise InvalidArgument(
            f"model {mv.ref} makes {mv.dim}-d vectors but field '{field_name}' of "
            f"'{entry.name}' has dim {field_schema.dim}",
            hint="create the collection with the model's dim",
        )
    spec = entry.vector_index(field_name)
    if spec is not None and spec.metric_type.upper() != mv.metric:
        raise InvalidArgument(
            f"model {mv.ref} is meant for {mv.metric} but the index on '{field_name}' of "
            f"'{entry.name}' uses {spec.metric_type}",
            hint=f"index the field with metric_type='{mv.metric}'",
        )
    text = entry.schema.field(text_field)
    if text.dtype != DataType.VARCHAR:
        raise SchemaError(f"text field '{text_field}' of '{entry.name}' must be VARCHAR")


class SpaceTable:
    """Current bindings, folded from ``space_bound`` events."""

    def __init__(self) -> None:
        self._spaces: dict[tuple[str, int, str], EmbeddingSpace] = {}

    def apply(self, event: dict[str, Any]) -> None:
        if event["type"] == "space_bound":
            space = EmbeddingSpace(**event["space"])
            self._spaces[(space.db, space.collection_id, space.field)] = space

    def __bool__(self) -> bool:
        return bool(self._spaces)

    def get(
        self, db: str, collection_id: int, field_name: str | None = None
    ) -> EmbeddingSpace | None:
        if field_name is not None:
            return self._spaces.get((db, collection_id, field_name))
        for (d, cid, _), space in self._spaces.items():
            if d == db and cid == collection_id:
                return space
        return None

    def all(self) -> list[EmbeddingSpace]:
        return list(self._spaces.values())
