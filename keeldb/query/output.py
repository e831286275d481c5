"""Output fields: which columns a result carries, and turning rows into dicts.

Milvus semantics: the primary key is always returned by query/get; ``"*"``
means every field (vectors included) plus every dynamic key; a name that is not
a schema field names a dynamic key when dynamic fields are enabled, and is an
error otherwise. Dynamic keys are flattened into the row dict, not nested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from keeldb.errors import FieldNotFound, did_you_mean
from keeldb.query.snapshot import SegmentView
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.field import META_COLUMN, FieldSchema
from keeldb.schema.vector_values import as_query_value, vector_values
from keeldb.types import DataType


@dataclass(frozen=True)
class OutputSpec:
    scalar_fields: tuple[str, ...]
    vector_fields: tuple[str, ...]
    json_fields: frozenset[str]
    dynamic_keys: tuple[str, ...]
    all_dynamic: bool
    #: vector fields whose values are not float lists (see keeldb.schema.vector_values)
    typed_vectors: tuple[FieldSchema, ...] = ()

    @property
    def needs_meta(self) -> bool:
        return self.all_dynamic or bool(self.dynamic_keys)

    @property
    def is_empty(self) -> bool:
        return not (self.scalar_fields or self.vector_fields or self.needs_meta)


def resolve_output_fields(
    schema: CollectionSchema, output_fields: Sequence[str] | None, *, include_pk: bool
) -> OutputSpec:
    # schemas are immutable once a collection exists, so the answer can be cached
    key = (tuple(output_fields or ()), include_pk)
    cache = schema.__dict__.setdefault("_output_specs", {})
    spec = cache.get(key)
    if spec is None:
        spec = cache[key] = _resolve(schema, key[0], include_pk=include_pk)
    return spec


def _resolve(
    schema: CollectionSchema, output_fields: Sequence[str], *, include_pk: bool
) -> OutputSpec:
    names: list[str] = []
    dynamic: list[str] = []
    all_dynamic = False
    by_name = schema.by_name()
    if include_pk:
        names.append(schema.primary_field.name)
    for name in output_fields or ():
        if name == "*":
            names.extend(schema.field_names)
            all_dynamic = schema.enable_dynamic_field
        elif name in by_name:
            names.append(name)
        elif name == META_COLUMN and schema.enable_dynamic_field:
            all_dynamic = True
        elif schema.enable_dynamic_field:
            dynamic.append(name)
        else:
            raise FieldNotFound(
                f"field {name} not exist",
                hint=did_you_mean(name, schema.field_names)
                or "enable dynamic fields to return keys that are not in the schema",
            )
    ordered = [f for f in schema.field_names if f in set(names)]
    return OutputSpec(
        scalar_fields=tuple(f for f in ordered if not by_name[f].is_vector),
        vector_fields=tuple(f for f in ordered if by_name[f].is_vector),
        json_fields=frozenset(f for f in ordered if by_name[f].dtype == DataType.JSON),
        dynamic_keys=tuple(dict.fromkeys(dynamic)),
        all_dynamic=all_dynamic,
        typed_vectors=tuple(
            by_name[f]
            for f in ordered
            if by_name[f].is_vector and by_name[f].dtype != DataType.FLOAT_VECTOR
        ),
    )


def materialize(
    view: SegmentView, local_ids: np.ndarray, spec: OutputSpec, *, query_shapes: bool = False
) -> list[dict[str, Any]]:
    """Row dicts for ``local_ids`` of one segment, in the given order.

    Byte-stored vectors come as ``bytes`` (a search hit's shape) or, with
    ``query_shapes``, as ``[bytes]`` (what pymilvus's query and get return).
    """
    n = len(local_ids)
    if n == 0:
        return []
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    if spec.scalar_fields or spec.needs_meta:
        cols = list(spec.scalar_fields) + ([META_COLUMN] if spec.needs_meta else [])
        taken = view.table.select(cols).take(pa.array(local_ids, type=pa.int64()))
        for name in spec.scalar_fields:
            values = taken.column(name).to_pylist()
            if name in spec.json_fields:
                values = [orjson.loads(v) if v is not None else None for v in values]
            for row, value in zip(rows, values):
                row[name] = value
        if spec.needs_meta:
            _add_dynamic(rows, taken.column(META_COLUMN).to_pylist(), spec)
    typed = {f.name: f for f in spec.typed_vectors}
    for name in spec.vector_fields:
        field = typed.get(name)
        if field is None:
            values = view.vectors[name][local_ids].tolist()
        else:
            values = vector_values(field, view.vectors[name], local_ids)
            if query_shapes:
                values = [as_query_value(v) for v in values]
        for row, value in zip(rows, values):
            row[name] = value
    return rows


def _add_dynamic(rows: list[dict[str, Any]], metas: list[str | None], spec: OutputSpec) -> None:
    for row, text in zip(rows, metas):
        if not text:
            continue
        meta = orjson.loads(text)
        if spec.all_dynamic:
            for key, value in meta.items():
                row.setdefault(key, value)
        else:
            for key in spec.dynamic_keys:
                if key in meta:
                    row[key] = meta[key]
