"""Schemas, index parameters and descriptions in the REST API's JSON shapes.

Data types travel by Milvus's names (``"Int64"``, ``"VarChar"``,
``"FloatVector"``; matched case-insensitively here). A field's type parameters
sit in ``elementTypeParams`` (``dim``, ``max_length``, ``max_capacity``, as
numbers or numeric strings); an array's element type in ``elementDataType``.
Decoding goes through keeldb's ``CollectionSchema.add_field``, so the same rules
apply as for the embedded and gRPC paths.

Describing a collection gives Milvus's REST shape: ``collectionName``,
``collectionID``, ``autoId``, ``enableDynamicField``, ``fields`` (``name``,
``id``, ``type``, ``primaryKey``, ``params`` as ``[{"key", "value"}]`` strings,
...), ``indexes``, ``load`` (``LoadStateLoaded``, ...), ``aliases``,
``consistencyLevel``, ``properties``, ``partitionsNum``, ``shardsNum``.
"""

from __future__ import annotations

from typing import Any

from keeldb.errors import SchemaError, Unimplemented, did_you_mean
from keeldb.schema.collection import CollectionSchema
from keeldb.server.rest.models import FieldBody, IndexParamBody, SchemaBody
from keeldb.types import DataType, LoadState

#: Milvus's data type names (its protobuf enum) → keeldb types
TYPE_NAMES: dict[str, DataType] = {
    "Bool": DataType.BOOL,
    "Int8": DataType.INT8,
    "Int16": DataType.INT16,
    "Int32": DataType.INT32,
    "Int64": DataType.INT64,
    "Float": DataType.FLOAT,
    "Double": DataType.DOUBLE,
    "String": DataType.STRING,
    "VarChar": DataType.VARCHAR,
    "Array": DataType.ARRAY,
    "JSON": DataType.JSON,
    "Geometry": DataType.GEOMETRY,
    "Text": DataType.TEXT,
    "Timestamptz": DataType.TIMESTAMPTZ,
    "BinaryVector": DataType.BINARY_VECTOR,
    "FloatVector": DataType.FLOAT_VECTOR,
    "Float16Vector": DataType.FLOAT16_VECTOR,
    "BFloat16Vector": DataType.BFLOAT16_VECTOR,
    "SparseFloatVector": DataType.SPARSE_FLOAT_VECTOR,
    "Int8Vector": DataType.INT8_VECTOR,
}
_BY_LOWER = {name.lower(): dtype for name, dtype in TYPE_NAMES.items()}
_NAME_OF = {dtype: name for name, dtype in TYPE_NAMES.items()}
_TYPE_PARAMS = ("dim", "max_length", "max_capacity")


def data_type(name: str, where: str) -> DataType:
    """The keeldb type of a Milvus type name; an unknown name is an invalid parameter."""
    dtype = _BY_LOWER.get(name.lower())
    if dtype is None:
        raise SchemaError(
            f"{where}: data type {name} is invalid",
            hint=did_you_mean(name, TYPE_NAMES) or f"use one of {', '.join(TYPE_NAMES)}",
        )
    return dtype


def type_name(dtype: DataType) -> str:
    return _NAME_OF.get(dtype, dtype.name)


# -- decoding ---------------------------------------------------------------------------
def decode_schema(body: SchemaBody, *, auto_id: bool = False) -> CollectionSchema:
    if body.functions:
        raise Unimplemented(
            "collection functions (BM25, text embedding) are not supported by keeldb yet"
        )
    schema = CollectionSchema(
        description=body.description,
        auto_id=body.auto_id or auto_id,
        enable_dynamic_field=body.enable_dynamic_field,
    )
    for field in body.fields:
        _add_field(schema, field)
    return schema


def _add_field(schema: CollectionSchema, field: FieldBody) -> None:
    where = f"field '{field.field_name}'"
    params = {k: v for k, v in field.element_type_params.items() if k in _TYPE_PARAMS}
    unknown = sorted(set(field.element_type_params) - set(_TYPE_PARAMS))
    if unknown:
        raise SchemaError(
            f"{where}: unknown elementTypeParams key(s) {', '.join(unknown)}",
            hint=did_you_mean(unknown[0], _TYPE_PARAMS) or "use dim, max_length, max_capacity",
        )
    element = None
    if field.element_data_type:
        element = data_type(field.element_data_type, f"{where} elementDataType")
    schema.add_field(
        field.field_name,
        data_type(field.data_type, where),
        is_primary=field.is_primary,
        auto_id=field.auto_id,
        element_type=element,
        nullable=field.nullable,
        default_value=field.default_value,
        is_partition_key=field.is_partition_key,
        description=field.description,
        **params,
    )


def index_entries(params: list[IndexParamBody]) -> list[dict[str, Any]]:
    """``indexParams`` as the entries ``Client.create_index`` takes.

    The index type may be given as ``indexType`` or inside ``params`` as
    ``index_type`` (both forms appear in Milvus's docs); likewise the metric.
    """
    out = []
    for item in params:
        build = dict(item.params)
        index_type = str(build.pop("index_type", "") or "")
        metric = str(build.pop("metric_type", "") or "")
        out.append(
            {
                "field_name": item.field_name,
                "index_name": item.index_name,
                "index_type": item.index_type or index_type,
                "metric_type": item.metric_type or metric,
                "params": build,
            }
        )
    return out


# -- encoding ---------------------------------------------------------------------------
def describe_collection(
    desc: dict[str, Any], indexes: list[dict[str, Any]], state: LoadState
) -> dict[str, Any]:
    """Milvus's REST description of a collection from the client's ``describe_collection``."""
    return {
        "collectionName": desc["collection_name"],
        "collectionID": desc["collection_id"],
        "description": desc["description"],
        "autoId": desc["auto_id"],
        "enableDynamicField": desc["enable_dynamic_field"],
        "fields": [_field_json(f) for f in desc["fields"]],
        "functions": [],
        "indexes": [
            {
                "fieldName": i["field_name"],
                "indexName": i["index_name"],
                "metricType": i.get("metric_type", ""),
            }
            for i in indexes
        ],  # fmt: skip
        "load": load_state_name(state),
        "aliases": list(desc["aliases"]),
        "consistencyLevel": desc["consistency_level_name"],
        "properties": [{"key": k, "value": str(v)} for k, v in desc["properties"].items()],
        "partitionsNum": desc["num_partitions"],
        "shardsNum": desc["num_shards"],
        "createTime": desc.get("created_timestamp", 0),
    }


def _field_json(field: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": field["name"],
        "id": field["field_id"],
        "type": type_name(field["type"]),
        "description": field["description"],
        "primaryKey": field.get("is_primary", False),
        "autoId": field.get("auto_id", False),
        "partitionKey": field.get("is_partition_key", False),
        "clusteringKey": False,
        "nullable": field.get("nullable", False),
        "params": [{"key": k, "value": str(v)} for k, v in field["params"].items()],
    }
    if "element_type" in field:
        out["elementType"] = type_name(field["element_type"])
    if "default_value" in field:
        out["defaultValue"] = field["default_value"]
    return out


def describe_index(info: dict[str, Any]) -> dict[str, Any]:
    """Milvus's REST description of one index from the client's ``describe_index``."""
    reserved = {
        "index_type", "metric_type", "field_name", "index_name", "total_rows", "indexed_rows",
        "pending_index_rows", "state", "index_state_fail_reason",
    }  # fmt: skip
    return {
        "fieldName": info["field_name"],
        "indexName": info["index_name"],
        "indexType": info["index_type"],
        "metricType": info.get("metric_type", ""),
        "params": {k: v for k, v in info.items() if k not in reserved},
        "indexState": info.get("state", "Finished"),
        "totalRows": info.get("total_rows", 0),
        "indexedRows": info.get("indexed_rows", 0),
        "pendingRows": info.get("pending_index_rows", 0),
        "failReason": info.get("index_state_fail_reason", ""),
    }


def load_state_name(state: LoadState) -> str:
    """``LoadStateLoaded`` and friends (Milvus's ``commonpb.LoadState`` names)."""
    return f"LoadState{LoadState(state).name}"
