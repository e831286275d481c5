"""Collection schemas on the wire: ``schema_pb2.CollectionSchema`` ↔ keeldb schemas.

Decoding builds a keeldb :class:`~keeldb.schema.collection.CollectionSchema`
through ``add_field``, so every field rule keeldb checks applies to schemas that
arrive over gRPC too. Type parameters travel as strings (``dim="128"``) and are
turned back into integers; a default value travels as a ``ValueField`` whose
member depends on the field type.

Encoding builds a ``DescribeCollectionResponse`` from the embedded client's
``describe_collection`` dict: field ids from 100 in schema order, the collection
id, hybrid timestamps (physical ms << 18), aliases, consistency level and
properties. The dynamic ``$meta`` field is hidden, as Milvus hides it; pymilvus
learns about dynamic fields from ``enable_dynamic_field``.
"""

from __future__ import annotations

from typing import Any

import orjson
from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

from keeldb.errors import SchemaError, Unimplemented
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.field import META_COLUMN
from keeldb.types import DataType

_INT_PARAMS = ("dim", "max_length", "max_capacity")
_BOOL_PARAMS = ("enable_analyzer", "enable_match")

#: the ValueField member that carries a default value of each type
_VALUE_MEMBER = {
    DataType.BOOL: "bool_data",
    DataType.INT8: "int_data",
    DataType.INT16: "int_data",
    DataType.INT32: "int_data",
    DataType.INT64: "long_data",
    DataType.FLOAT: "float_data",
    DataType.DOUBLE: "double_data",
    DataType.VARCHAR: "string_data",
}


# -- decoding -------------------------------------------------------------------


def decode_schema(raw: bytes | schema_pb2.CollectionSchema) -> CollectionSchema:
    """A keeldb schema from a serialised (or parsed) ``CollectionSchema`` message."""
    if isinstance(raw, (bytes, bytearray)):
        message = schema_pb2.CollectionSchema()
        message.ParseFromString(bytes(raw))
    else:
        message = raw
    if message.functions:
        raise Unimplemented(
            "collection functions (BM25, text embedding) are not supported by keeldb yet"
        )
    schema = CollectionSchema(
        description=message.description,
        auto_id=message.autoID,
        enable_dynamic_field=message.enable_dynamic_field,
    )
    for field in message.fields:
        if field.is_dynamic or field.name == META_COLUMN:
            schema.enable_dynamic_field = True
            continue
        if field.is_function_output:
            raise Unimplemented(f"field '{field.name}': function output fields are not supported")
        schema.add_field(
            field.name, field.data_type, is_primary=field.is_primary_key, **_field_kwargs(field)
        )
    return schema


def _field_kwargs(field: schema_pb2.FieldSchema) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "auto_id": field.autoID,
        "nullable": field.nullable,
        "is_partition_key": field.is_partition_key,
        "is_clustering_key": field.is_clustering_key,
        "description": field.description,
    }
    if field.data_type == DataType.ARRAY:
        kwargs["element_type"] = field.element_type
    if field.HasField("default_value"):
        kind = field.default_value.WhichOneof("data")
        if kind is not None:
            kwargs["default_value"] = getattr(field.default_value, kind)
    for pair in field.type_params:
        key, value = pair.key, pair.value
        if key in _INT_PARAMS:
            kwargs[key] = _int_param(field.name, key, value)
        elif key in _BOOL_PARAMS:
            kwargs[key] = value.strip().lower() == "true"
        elif key == "analyzer_params":
            kwargs[key] = _json_param(field.name, key, value)
        # other type params (mmap.enabled, ...) have no meaning in keeldb
    return kwargs


def _int_param(field: str, key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SchemaError(
            f"field '{field}': type param {key} must be an integer, got {value!r}"
        ) from None


def _json_param(field: str, key: str, value: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        raise SchemaError(
            f"field '{field}': type param {key} is not valid JSON: {value!r}"
        ) from None


def consistency_name(level: int) -> str:
    """The name of a ``common_pb2.ConsistencyLevel`` value."""
    try:
        return common_pb2.ConsistencyLevel.Name(level)
    except ValueError:
        raise SchemaError(f"invalid consistency level {level}") from None


def properties_of(pairs: Any) -> dict[str, str]:
    return {p.key: p.value for p in pairs}


# -- encoding -------------------------------------------------------------------


def encode_describe(desc: dict[str, Any], db_name: str) -> milvus_pb2.DescribeCollectionResponse:
    """``DescribeCollectionResponse`` from the embedded ``describe_collection`` dict."""
    schema = schema_pb2.CollectionSchema(
        name=desc["collection_name"],
        description=desc["description"],
        autoID=desc["auto_id"],
        enable_dynamic_field=desc["enable_dynamic_field"],
        fields=[encode_field(f) for f in desc["fields"]],
        dbName=db_name,
    )
    created = desc.get("created_timestamp", 0)
    return milvus_pb2.DescribeCollectionResponse(
        status=common_pb2.Status(),
        schema=schema,
        collectionID=desc["collection_id"],
        collection_name=desc["collection_name"],
        created_timestamp=created,
        created_utc_timestamp=created >> 18,
        update_timestamp=desc.get("update_timestamp", created),
        shards_num=desc["num_shards"],
        aliases=desc["aliases"],
        consistency_level=desc["consistency_level"],
        properties=encode_pairs(desc["properties"]),
        db_name=db_name,
        num_partitions=desc["num_partitions"],
        virtual_channel_names=[f"keeldb-dml_{desc['collection_id']}v0"],
        physical_channel_names=["keeldb-dml"],
    )


def encode_field(field: dict[str, Any]) -> schema_pb2.FieldSchema:
    dtype = DataType.coerce(field["type"])
    out = schema_pb2.FieldSchema(
        fieldID=field["field_id"],
        name=field["name"],
        description=field.get("description", ""),
        data_type=int(dtype),
        is_primary_key=field.get("is_primary", False),
        autoID=field.get("auto_id", False),
        nullable=field.get("nullable", False),
        is_partition_key=field.get("is_partition_key", False),
        type_params=encode_pairs(field.get("params", {})),
    )
    if field.get("element_type") is not None:
        out.element_type = int(DataType.coerce(field["element_type"]))
    default = field.get("default_value")
    if default is not None and dtype in _VALUE_MEMBER:
        setattr(out.default_value, _VALUE_MEMBER[dtype], default)
    return out


def encode_pairs(values: dict[str, Any]) -> list[common_pb2.KeyValuePair]:
    """Key/value pairs as Milvus sends them: strings, JSON for containers."""
    return [common_pb2.KeyValuePair(key=str(k), value=pair_value(v)) for k, v in values.items()]


def pair_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)
