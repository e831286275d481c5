"""Collection schemas: the ordered fields of a collection and the rules between them.

``CollectionSchema`` mirrors pymilvus's object of the same name (``add_field``
returns the schema so calls chain; ``to_dict`` has the same shape) and adds what
the engine needs: field lookup with did-you-mean hints and the Arrow schema of a
segment. Field ids are assigned on :meth:`finalize`, from 100 upwards, in field
order, as Milvus does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from keeldb.errors import FieldNotFound, SchemaError, did_you_mean
from keeldb.schema.field import (
    META_COLUMN,
    PARTITION_COLUMN,
    RESERVED_FIELD_NAMES,
    SEQ_COLUMN,
    FieldSchema,
)
from keeldb.types import DataType

FIRST_FIELD_ID = 100
MAX_FIELDS = 64
MAX_VECTOR_FIELDS = 4
DEFAULT_PARTITION_KEY_PARTITIONS = 16


class CollectionSchema:
    def __init__(
        self,
        fields: Iterable[FieldSchema] | None = None,
        description: str = "",
        *,
        auto_id: bool = False,
        enable_dynamic_field: bool = False,
        **_ignored: Any,
    ) -> None:
        self.description = description
        self.auto_id = auto_id
        self.enable_dynamic_field = enable_dynamic_field
        self.fields: list[FieldSchema] = []
        for f in fields or ():
            self._append(f)

    # -- building -----------------------------------------------------------
    def add_field(
        self,
        field_name: str,
        datatype: Any,
        is_primary: bool = False,
        **kwargs: Any,
    ) -> CollectionSchema:
        """Add a field the way pymilvus's ``CollectionSchema.add_field`` does."""
        dtype = _coerce_type(field_name, datatype)
        element = kwargs.pop("element_type", None)
        auto_id = bool(kwargs.pop("auto_id", False)) or (is_primary and self.auto_id)
        known = {
            "dim", "max_length", "max_capacity", "nullable", "default_value",
            "is_partition_key", "description", "is_clustering_key", "mmap_enabled",
            "enable_analyzer", "enable_match", "analyzer_params",
        }  # fmt: skip
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise SchemaError(
                f"field '{field_name}': unknown parameter(s) {', '.join(unknown)}",
                hint=did_you_mean(unknown[0], known),
            )
        extra = {k: kwargs[k] for k in ("enable_analyzer", "enable_match") if k in kwargs}
        f = FieldSchema(
            name=field_name,
            dtype=dtype,
            is_primary=bool(is_primary),
            auto_id=auto_id,
            dim=_as_int(field_name, "dim", kwargs.get("dim")),
            max_length=_as_int(field_name, "max_length", kwargs.get("max_length")),
            element_type=_coerce_type(field_name, element) if element is not None else None,
            max_capacity=_as_int(field_name, "max_capacity", kwargs.get("max_capacity")),
            nullable=bool(kwargs.get("nullable", False)),
            default_value=kwargs.get("default_value"),
            is_partition_key=bool(kwargs.get("is_partition_key", False)),
            description=kwargs.get("description", "") or "",
            params=extra,
        )
        self._append(f)
        return self

    def _append(self, f: FieldSchema) -> None:
        if f.name in RESERVED_FIELD_NAMES:
            raise SchemaError(f"field name '{f.name}' is reserved by keeldb")
        if any(existing.name == f.name for existing in self.fields):
            raise SchemaError(f"duplicated field name: '{f.name}'")
        f.validate()
        self.fields.append(f)

    def finalize(self) -> CollectionSchema:
        """Check the rules between fields and assign field ids; returns self."""
        if not self.fields:
            raise SchemaError("the schema has no fields", hint="add a primary key and a vector")
        if len(self.fields) > MAX_FIELDS:
            raise SchemaError(f"a collection can have at most {MAX_FIELDS} fields")
        primaries = [f for f in self.fields if f.is_primary]
        if not primaries:
            raise SchemaError(
                "schema does not contain primary key field",
                hint="mark one INT64 or VARCHAR field with is_primary=True",
            )
        if len(primaries) > 1:
            names = ", ".join(f.name for f in primaries)
            raise SchemaError(f"expected only one primary key field, got {names}")
        vectors = [f for f in self.fields if f.is_vector]
        if not vectors:
            raise SchemaError(
                "schema does not contain vector field",
                hint="add a FLOAT_VECTOR field with dim=...",
            )
        if len(vectors) > MAX_VECTOR_FIELDS:
            raise SchemaError(f"a collection can have at most {MAX_VECTOR_FIELDS} vector fields")
        if sum(f.is_partition_key for f in self.fields) > 1:
            raise SchemaError("there can only be one partition key field")
        if self.auto_id and not primaries[0].auto_id:
            self.fields = [
                f if not f.is_primary else _replace(f, auto_id=True) for f in self.fields
            ]
        self.fields = [f.with_id(FIRST_FIELD_ID + i) for i, f in enumerate(self.fields)]
        self.auto_id = self.primary_field.auto_id
        return self

    # -- lookup ---------------------------------------------------------------
    def _derived(self) -> _Derived:
        """Lookups computed once per field list (they sit on every request's path)."""
        key = (id(self.fields), len(self.fields))
        derived = self.__dict__.get("_derived_cache")
        if derived is None or derived.key != key:
            derived = self.__dict__["_derived_cache"] = _Derived(key, self.fields)
        return derived

    @property
    def primary_field(self) -> FieldSchema:
        primary = self._derived().primary
        if primary is None:
            raise SchemaError("schema does not contain primary key field")
        return primary

    @property
    def vector_fields(self) -> list[FieldSchema]:
        return list(self._derived().vectors)

    @property
    def scalar_fields(self) -> list[FieldSchema]:
        return [f for f in self.fields if not f.is_vector]

    @property
    def partition_key_field(self) -> FieldSchema | None:
        return next((f for f in self.fields if f.is_partition_key), None)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def by_name(self) -> dict[str, FieldSchema]:
        return dict(self._derived().by_name)

    def field(self, name: str) -> FieldSchema:
        for f in self.fields:
            if f.name == name:
                return f
        raise FieldNotFound(
            f"field '{name}' does not exist in the collection schema",
            hint=did_you_mean(name, self.field_names),
        )

    def vector_field(self, name: str | None) -> FieldSchema:
        """The vector field ``name``, or the only vector field when name is empty."""
        vectors = self._derived().vectors
        if not name and len(vectors) == 1:
            return vectors[0]
        if name:
            f = self.field(name)
            if not f.is_vector:
                raise SchemaError(f"field '{name}' is not a vector field (it is {f.dtype.name})")
            return f
        vectors = self.vector_fields
        if len(vectors) > 1:
            names = ", ".join(v.name for v in vectors)
            raise SchemaError(
                "the collection has several vector fields; say which one to search",
                hint=f"pass anns_field= one of {names}",
            )
        return vectors[0]

    # -- Arrow ----------------------------------------------------------------
    def arrow_schema(self) -> pa.Schema:
        """Schema of a segment's scalar table: scalar fields + hidden columns."""
        cols = [pa.field(f.name, f.arrow_type(), nullable=True) for f in self.scalar_fields]
        if self.enable_dynamic_field:
            cols.append(pa.field(META_COLUMN, pa.string()))
        cols.append(pa.field(SEQ_COLUMN, pa.int64(), nullable=False))
        cols.append(pa.field(PARTITION_COLUMN, pa.int32(), nullable=False))
        return pa.schema(cols)

    # -- serialisation --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "auto_id": self.auto_id,
            "description": self.description,
            "fields": [f.to_dict() for f in self.fields],
            "enable_dynamic_field": self.enable_dynamic_field,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "auto_id": self.auto_id,
            "description": self.description,
            "enable_dynamic_field": self.enable_dynamic_field,
            "fields": [f.to_json() for f in self.fields],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CollectionSchema:
        schema = cls(
            description=data.get("description", ""),
            auto_id=data.get("auto_id", False),
            enable_dynamic_field=data.get("enable_dynamic_field", False),
        )
        schema.fields = [FieldSchema.from_json(f) for f in data["fields"]]
        return schema

    @classmethod
    def coerce(cls, schema: Any) -> CollectionSchema:
        """A private copy of a keeldb schema, or a pymilvus ``CollectionSchema`` converted.

        The copy keeps a caller who goes on editing their schema object from
        changing a collection that already exists.
        """
        if isinstance(schema, cls):
            return copy.deepcopy(schema)
        to_dict = getattr(schema, "to_dict", None)
        if to_dict is None:
            raise SchemaError(f"expected a CollectionSchema, got {type(schema).__name__}")
        data = to_dict()
        out = cls(
            description=data.get("description", ""),
            auto_id=data.get("auto_id", False),
            enable_dynamic_field=data.get("enable_dynamic_field", False),
        )
        for fd in data.get("fields", []):
            params = dict(fd.get("params") or {})
            default = fd.get("default_value")
            if default is not None and not isinstance(default, (int, float, str, bool)):
                default = _unwrap_proto_default(default)
            out.add_field(
                fd["name"],
                fd["type"],
                is_primary=fd.get("is_primary", False),
                auto_id=fd.get("auto_id", False),
                element_type=fd.get("element_type"),
                nullable=fd.get("nullable", False),
                default_value=default,
                is_partition_key=fd.get("is_partition_key", False),
                description=fd.get("description", ""),
                **{k: params[k] for k in ("dim", "max_length", "max_capacity") if k in params},
            )
        return out

    def __repr__(self) -> str:
        return f"CollectionSchema({self.to_dict()!r})"


class _Derived:
    __slots__ = ("key", "primary", "vectors", "by_name")

    def __init__(self, key: tuple[int, int], fields: list[FieldSchema]) -> None:
        self.key = key
        self.primary = next((f for f in fields if f.is_primary), None)
        self.vectors = tuple(f for f in fields if f.is_vector)
        self.by_name = {f.name: f for f in fields}


def _coerce_type(field_name: str, value: Any) -> DataType:
    try:
        return DataType.coerce(value)
    except ValueError:
        raise SchemaError(f"field '{field_name}': unknown data type {value!r}") from None


def _as_int(field_name: str, param: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise SchemaError(f"field '{field_name}': {param} must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SchemaError(
            f"field '{field_name}': {param} must be an integer, got {value!r}"
        ) from None


def _replace(f: FieldSchema, **changes: Any) -> FieldSchema:
    from dataclasses import replace

    return replace(f, **changes)


def _unwrap_proto_default(value: Any) -> Any:
    """pymilvus stores default values as a protobuf ValueField; take its payload."""
    which = getattr(value, "WhichOneof", None)
    if which is None:
        return value
    kind = which("data")
    return getattr(value, kind) if kind else None
