"""The catalog: databases, collections, partitions, indexes and aliases.

One checked JSON file, ``<data dir>/catalog.json``, written atomically
(temporary file, fsync, rename, fsync of the directory) after every DDL change,
so after a crash it is either the old or the new version. Its body:

    {"format": 1, "next_collection_id": int,
     "databases": {db: {"created_ms": int, "aliases": {alias: collection},
                        "collections": {name: CollectionEntry.to_json()}}}}

Collection data lives in ``<data dir>/collections/<id>/``; ids are never reused,
so a dropped and re-created collection never sees the old one's files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keeldb.schema.collection import CollectionSchema

FORMAT = 1
DEFAULT_DATABASE = "default"
DEFAULT_PARTITION = "_default"


@dataclass(frozen=True)
class IndexSpec:
    field: str
    index_name: str
    index_type: str
    metric_type: str
    params: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "index_name": self.index_name,
            "index_type": self.index_type,
            "metric_type": self.metric_type,
            "params": self.params,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexSpec:
        return cls(**data)


@dataclass
class CollectionEntry:
    collection_id: int
    name: str
    schema: CollectionSchema
    created_ms: int
    partitions: dict[str, int] = field(default_factory=lambda: {DEFAULT_PARTITION: 0})
    next_partition_id: int = 1
    indexes: dict[str, IndexSpec] = field(default_factory=dict)
    loaded: bool = False
    properties: dict[str, Any] = field(default_factory=dict)
    consistency_level: str = "Strong"
    num_partitions: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "collection_id": self.collection_id,
            "name": self.name,
            "schema": self.schema.to_json(),
            "created_ms": self.created_ms,
            "partitions": self.partitions,
            "next_partition_id": self.next_partition_id,
            "indexes": {name: spec.to_json() for name, spec in self.indexes.items()},
            "loaded": self.loaded,
            "properties": self.properties,
            "consistency_level": self.consistency_level,
            "num_partitions": self.num_partitions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CollectionEntry:
        return cls(
            collection_id=data["collection_id"],
            name=data["name"],
            schema=CollectionSchema.from_json(data["schema"]),
            created_ms=data["created_ms"],
            partitions=dict(data["partitions"]),
            next_partition_id=data["next_partition_id"],
            indexes={n: IndexSpec.from_json(s) for n, s in data["indexes"].items()},
            loaded=data["loaded"],
            properties=data.get("properties", {}),
            consistency_level=data.get("consistency_level", "Strong"),
            num_partitions=data.get("num_partitions", 1),
        )

    def vector_index(self, field_name: str) -> IndexSpec | None:
        return next((s for s in self.indexes.values() if s.field == field_name), None)
