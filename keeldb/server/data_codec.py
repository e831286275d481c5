"""Column data on the wire: ``schema_pb2.FieldData`` ↔ keeldb columns and rows.

Decoding (insert / upsert): each ``FieldData`` becomes one column of the
columnar form ``keeldb.Client.insert`` takes — Arrow arrays for scalars (nulls
where ``valid_data`` says so; the wire carries only the valid values of a
nullable column), a float32 ``(n, dim)`` matrix for a float vector (the other
vector types: ``keeldb.server.vector_codec``), parsed
objects for JSON, and the dynamic ``$meta`` column as one JSON object per row.
All further validation happens in ``keeldb.schema.values``.

Encoding (query / search): row dicts (dynamic keys flattened, as the embedded
client returns them) become one ``FieldData`` per output field, every column
exactly one entry per row — nullable columns carry a placeholder plus
``valid_data=False`` — and the dynamic keys are packed back into ``$meta``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from pymilvus.grpc_gen import schema_pb2

from keeldb.errors import DataError, Unimplemented
from keeldb.query.output import resolve_output_fields
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.field import META_COLUMN, FieldSchema
from keeldb.server.vector_codec import decode_vector_field, encode_vector_field
from keeldb.types import DataType

#: the ScalarField member that carries each scalar type (arrays use the element's)
SCALAR_MEMBER = {
    DataType.BOOL: "bool_data",
    DataType.INT8: "int_data",
    DataType.INT16: "int_data",
    DataType.INT32: "int_data",
    DataType.INT64: "long_data",
    DataType.FLOAT: "float_data",
    DataType.DOUBLE: "double_data",
    DataType.VARCHAR: "string_data",
    DataType.JSON: "json_data",
}
_PLACEHOLDER = {"bool_data": False, "string_data": "", "json_data": b"null"}


# -- decoding -------------------------------------------------------------------


def decode_columns(
    schema: CollectionSchema, fields_data: Sequence[schema_pb2.FieldData], num_rows: int
) -> dict[str, Any]:
    """Columns for ``Client.insert`` / ``upsert`` from the request's ``fields_data``."""
    by_name = schema.by_name()
    columns: dict[str, Any] = {}
    for fd in fields_data:
        name = fd.field_name
        if fd.is_dynamic or name == META_COLUMN:
            columns[META_COLUMN] = list(fd.scalars.json_data.data)
            continue
        field = by_name.get(name)
        if field is None:  # let the client report it (dynamic key or unknown field)
            columns[name] = _values_of(fd, fd.type)
            continue
        columns[name] = _decode_field(field, fd, num_rows)
    for name, column in columns.items():
        if len(column) != num_rows:
            raise DataError(
                f"the column of field '{name}' has {len(column)} values, expected {num_rows}"
            )
    return columns


def _decode_field(field: FieldSchema, fd: schema_pb2.FieldData, num_rows: int) -> Any:
    if field.is_vector:
        return _decode_vectors(field, fd, num_rows)
    if fd.type != field.dtype:
        raise DataError(
            f"field '{field.name}' is {field.dtype.name} but the data sent is {_type_name(fd.type)}"
        )
    values = _values_of(fd, field.dtype, int(field.element_type or 0))
    valid = list(fd.valid_data)
    if valid:
        values = _expand_nulls(field.name, values, valid)
    if field.dtype == DataType.JSON:
        return [orjson.loads(v) if v is not None else None for v in values]
    try:
        return pa.array(values, type=field.arrow_type())
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise DataError(
            f"field '{field.name}': values do not fit type {field.dtype.name}: {exc}"
        ) from exc


def _values_of(fd: schema_pb2.FieldData, dtype: int, element: int = 0) -> list[Any]:
    if dtype == DataType.ARRAY:
        return [_array_cell(cell, element) for cell in fd.scalars.array_data.data]
    if dtype == DataType.FLOAT_VECTOR:
        return _decode_vectors_any(fd)
    member = SCALAR_MEMBER.get(_data_type(dtype))
    if member is None:
        raise Unimplemented(
            f"field '{fd.field_name}': data type {_type_name(dtype)} is not supported"
        )
    return list(getattr(fd.scalars, member).data)


def _array_cell(cell: schema_pb2.ScalarField, element: int) -> list[Any]:
    """One ARRAY value; pymilvus leaves ``element_type`` unset, so the schema says it."""
    member = SCALAR_MEMBER.get(_data_type(element)) if element else cell.WhichOneof("data")
    if member is None:
        return []
    return list(getattr(cell, member).data)


def _expand_nulls(name: str, values: list[Any], valid: list[bool]) -> list[Any]:
    """The wire sends only the valid values of a nullable column; put the nulls back."""
    present = sum(valid)
    if len(values) == len(valid):  # some clients send placeholders as well
        return [v if ok else None for v, ok in zip(values, valid)]
    if len(values) != present:
        raise DataError(
            f"field '{name}': {len(values)} values for {present} valid rows (valid_data)"
        )
    it = iter(values)
    return [next(it) if ok else None for ok in valid]


def _decode_vectors(field: FieldSchema, fd: schema_pb2.FieldData, num_rows: int) -> Any:
    if field.dtype != DataType.FLOAT_VECTOR:
        return decode_vector_field(field, fd, num_rows)
    if fd.type != DataType.FLOAT_VECTOR:
        raise DataError(
            f"field '{field.name}' is {field.dtype.name} but the data sent is {_type_name(fd.type)}"
        )
    flat = np.asarray(fd.vectors.float_vector.data, dtype=np.float32)
    dim = field.dim or 0
    if fd.vectors.dim and fd.vectors.dim != dim:
        raise DataError(
            f"the dim ({fd.vectors.dim}) of field data({field.name}) is not equal to schema "
            f"dim ({dim}): invalid parameter[expected={dim}][actual={fd.vectors.dim}]"
        )
    if flat.size != dim * num_rows:
        raise DataError(
            f"the length({flat.size}) of float data should divide the dim({dim}) "
            f"and hold {num_rows} rows"
        )
    return flat.reshape(num_rows, dim)


def _decode_vectors_any(fd: schema_pb2.FieldData) -> list[list[float]]:
    dim = fd.vectors.dim or 1
    flat = list(fd.vectors.float_vector.data)
    return [flat[i : i + dim] for i in range(0, len(flat), dim)]


def _data_type(value: int) -> DataType:
    try:
        return DataType(value)
    except ValueError:
        return DataType.UNKNOWN


def _type_name(dtype: int) -> str:
    try:
        return DataType(dtype).name
    except ValueError:
        return str(dtype)


# -- encoding -------------------------------------------------------------------


@dataclass(frozen=True)
class OutputColumns:
    """What a result carries: schema fields in schema order, and the dynamic part."""

    fields: tuple[FieldSchema, ...]
    #: "$meta" is sent (all dynamic keys, or the named ones)
    meta: bool
    #: the names to report as ``output_fields`` (pymilvus picks dynamic keys from them)
    names: tuple[str, ...]


def output_columns(
    schema: CollectionSchema, requested: Sequence[str], *, include_pk: bool
) -> OutputColumns:
    spec = resolve_output_fields(schema, list(requested), include_pk=include_pk)
    wanted = set(spec.scalar_fields) | set(spec.vector_fields)
    fields = tuple(f for f in schema.fields if f.name in wanted)
    dynamic = (META_COLUMN,) if spec.all_dynamic else spec.dynamic_keys
    return OutputColumns(
        fields=fields,
        meta=spec.needs_meta,
        names=tuple(f.name for f in fields) + tuple(dynamic),
    )


def encode_rows(
    rows: Sequence[dict[str, Any]], columns: OutputColumns
) -> list[schema_pb2.FieldData]:
    """One ``FieldData`` per output column for ``rows`` (flattened dynamic keys)."""
    out = [encode_field(f, [row.get(f.name) for row in rows]) for f in columns.fields]
    if columns.meta:
        known = {f.name for f in columns.fields}
        metas = [orjson.dumps({k: v for k, v in row.items() if k not in known}) for row in rows]
        out.append(
            schema_pb2.FieldData(
                type=int(DataType.JSON),
                field_name=META_COLUMN,
                is_dynamic=True,
                scalars=schema_pb2.ScalarField(json_data=schema_pb2.JSONArray(data=metas)),
            )
        )
    return out


def encode_field(field: FieldSchema, values: list[Any]) -> schema_pb2.FieldData:
    fd = schema_pb2.FieldData(type=int(field.dtype), field_name=field.name, field_id=field.field_id)
    if field.is_vector and field.dtype != DataType.FLOAT_VECTOR:
        encode_vector_field(fd, field, values)
        return fd
    if field.is_vector:
        fd.vectors.dim = field.dim or 0
        if values:
            flat = np.asarray(values, dtype=np.float32).ravel()
            fd.vectors.float_vector.data.extend(flat.tolist())
        else:
            fd.vectors.float_vector.SetInParent()
        return fd
    if field.nullable:
        fd.valid_data.extend(v is not None for v in values)
    if field.dtype == DataType.ARRAY:
        _encode_array(fd, field, values)
        return fd
    member = SCALAR_MEMBER[field.dtype]
    if field.dtype == DataType.JSON:
        values = [orjson.dumps(v) if v is not None else None for v in values]
    placeholder = _PLACEHOLDER.get(member, 0)
    target = getattr(fd.scalars, member)
    target.SetInParent()
    target.data.extend(placeholder if v is None else v for v in values)
    return fd


def _encode_array(fd: schema_pb2.FieldData, field: FieldSchema, values: list[Any]) -> None:
    element = field.element_type or DataType.NONE
    member = SCALAR_MEMBER[element]
    array = fd.scalars.array_data
    array.SetInParent()
    array.element_type = int(element)
    for value in values:
        cell = array.data.add()
        getattr(cell, member).SetInParent()
        if value:
            getattr(cell, member).data.extend(value)


def count_field(count: int) -> schema_pb2.FieldData:
    """The ``count(*)`` column Milvus returns: one INT64 value."""
    return schema_pb2.FieldData(
        type=int(DataType.INT64),
        field_name="count(*)",
        scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=[count])),
    )
