"""REST endpoints ``/v2/vectordb/collections/*`` and ``/v2/vectordb/partitions/*``.

Each handler calls the one shared ``keeldb.Client`` (thread-safe; it does the
validation) with the body's ``dbName`` and returns the reply's ``data``.

``collections/create`` has Milvus's two forms:

- quick setup: ``dimension`` (+ ``metricType`` COSINE, ``idType`` Int64 or
  VarChar, ``autoId``, ``primaryFieldName`` "id", ``vectorFieldName``
  "vector"); the collection gets an AUTOINDEX on the vector, is loaded, and has
  dynamic fields on unless ``params.enableDynamicField`` says otherwise;
- full: ``schema`` (+ optional ``indexParams``); it is loaded only when every
  vector field got an index.

``params`` may carry ``consistencyLevel``, ``partitionsNum`` (partition-key
collections), ``max_length`` (a VarChar quick-setup key), ``ttlSeconds``
(stored as the ``collection.ttl.seconds`` property) and ``enableDynamicField``.
"""

from __future__ import annotations

from typing import Any

from keeldb.client.embedded import Client
from keeldb.errors import InvalidArgument, PartitionNotFound
from keeldb.server.rest import schema_codec
from keeldb.server.rest.models import (
    Body,
    CollectionBody,
    CreateCollectionBody,
    Endpoint,
    LoadStateBody,
    PartitionBody,
    PartitionsBody,
    RenameBody,
    endpoint,
)
from keeldb.server.rest.replies import CODE_MISSING_PARAMETER, RequestError
from keeldb.types import LoadState

ROUTES: list[Endpoint] = []
_ID_TYPES = {"int64": "int", "int": "int", "varchar": "string", "string": "string"}


# -- collections ------------------------------------------------------------------------
@endpoint(ROUTES, "collections/create", CreateCollectionBody)
def create_collection(client: Client, body: CreateCollectionBody) -> None:
    options = _create_options(body.params)
    if body.collection_schema is not None:
        schema = schema_codec.decode_schema(body.collection_schema, auto_id=body.auto_id)
        client.create_collection(
            body.collection_name,
            schema=schema,
            index_params=schema_codec.index_entries(body.index_params) or None,
            db_name=body.db_name,
            **options,
        )
        return
    if body.dimension is None:
        raise RequestError(
            CODE_MISSING_PARAMETER,
            "missing required parameters, error: dimension is required "
            "(or give a schema with fields)",
        )
    id_type = _ID_TYPES.get(body.id_type.lower())
    if id_type is None:
        raise InvalidArgument(
            f"idType {body.id_type!r} is invalid: the primary key must be Int64 or VarChar"
        )
    if "max_length" in body.params:
        options["max_length"] = body.params["max_length"]
    options.setdefault("enable_dynamic_field", True)
    client.create_collection(
        body.collection_name,
        dimension=body.dimension,
        primary_field_name=body.primary_field_name,
        id_type=id_type,
        vector_field_name=body.vector_field_name,
        metric_type=body.metric_type,
        auto_id=body.auto_id,
        db_name=body.db_name,
        **options,
    )


def _create_options(params: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "consistencyLevel" in params:
        options["consistency_level"] = params["consistencyLevel"]
    if "partitionsNum" in params:
        options["num_partitions"] = _int_param(params, "partitionsNum")
    if "enableDynamicField" in params:
        options["enable_dynamic_field"] = str(params["enableDynamicField"]).lower() == "true"
    if "ttlSeconds" in params:
        ttl = _int_param(params, "ttlSeconds")
        options["properties"] = {"collection.ttl.seconds": str(ttl)}
    return options


def _int_param(params: dict[str, Any], key: str) -> int:
    value = params[key]
    if isinstance(value, bool):
        raise InvalidArgument(f"params.{key} must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"params.{key} must be an integer, got {value!r}") from None


@endpoint(ROUTES, "collections/describe", CollectionBody)
def describe_collection(client: Client, body: CollectionBody) -> dict[str, Any]:
    name, db = body.collection_name, body.db_name
    desc = client.describe_collection(name, db_name=db)
    indexes = [client.describe_index(name, index, db_name=db)
               for index in client.list_indexes(name, db_name=db)]  # fmt: skip
    state = client.get_load_state(name, db_name=db)["state"]
    return schema_codec.describe_collection(desc, [i for i in indexes if i], state)


@endpoint(ROUTES, "collections/list", Body)
def list_collections(client: Client, body: Body) -> list[str]:
    return client.list_collections(db_name=body.db_name)


@endpoint(ROUTES, "collections/has", CollectionBody)
def has_collection(client: Client, body: CollectionBody) -> dict[str, bool]:
    return {"has": client.has_collection(body.collection_name, db_name=body.db_name)}


@endpoint(ROUTES, "collections/drop", CollectionBody)
def drop_collection(client: Client, body: CollectionBody) -> None:
    client.drop_collection(body.collection_name, db_name=body.db_name)


@endpoint(ROUTES, "collections/rename", RenameBody)
def rename_collection(client: Client, body: RenameBody) -> None:
    client.rename_collection(
        body.collection_name, body.new_collection_name, body.new_db_name, db_name=body.db_name
    )


@endpoint(ROUTES, "collections/get_stats", CollectionBody)
def collection_stats(client: Client, body: CollectionBody) -> dict[str, int]:
    stats = client.get_collection_stats(body.collection_name, db_name=body.db_name)
    return {"rowCount": stats["row_count"]}


@endpoint(ROUTES, "collections/load", CollectionBody)
def load_collection(client: Client, body: CollectionBody) -> None:
    client.load_collection(body.collection_name, db_name=body.db_name)


@endpoint(ROUTES, "collections/release", CollectionBody)
def release_collection(client: Client, body: CollectionBody) -> None:
    client.release_collection(body.collection_name, db_name=body.db_name)


@endpoint(ROUTES, "collections/get_load_state", LoadStateBody)
def load_state(client: Client, body: LoadStateBody) -> dict[str, Any]:
    name, db = body.collection_name, body.db_name
    state = client.get_load_state(name, db_name=db)["state"]
    for partition in body.partition_names:  # checks that each exists
        state = client.get_load_state(name, partition_name=partition, db_name=db)["state"]
    out: dict[str, Any] = {"loadState": schema_codec.load_state_name(state)}
    if state == LoadState.Loaded:
        out["loadProgress"] = 100
    return out


@endpoint(ROUTES, "collections/flush", CollectionBody)
def flush(client: Client, body: CollectionBody) -> None:
    client.flush(body.collection_name, db_name=body.db_name)


@endpoint(ROUTES, "collections/compact", CollectionBody)
def compact(client: Client, body: CollectionBody) -> dict[str, int]:
    return {"compactionID": client.compact(body.collection_name, db_name=body.db_name)}


# -- partitions -------------------------------------------------------------------------
@endpoint(ROUTES, "partitions/create", PartitionBody)
def create_partition(client: Client, body: PartitionBody) -> None:
    client.create_partition(body.collection_name, body.partition_name, db_name=body.db_name)


@endpoint(ROUTES, "partitions/drop", PartitionBody)
def drop_partition(client: Client, body: PartitionBody) -> None:
    client.drop_partition(body.collection_name, body.partition_name, db_name=body.db_name)


@endpoint(ROUTES, "partitions/list", CollectionBody)
def list_partitions(client: Client, body: CollectionBody) -> list[str]:
    return client.list_partitions(body.collection_name, db_name=body.db_name)


@endpoint(ROUTES, "partitions/has", PartitionBody)
def has_partition(client: Client, body: PartitionBody) -> dict[str, bool]:
    found = client.has_partition(body.collection_name, body.partition_name, db_name=body.db_name)
    return {"has": found}


@endpoint(ROUTES, "partitions/load", PartitionsBody)
def load_partitions(client: Client, body: PartitionsBody) -> None:
    _check_partitions(client, body)
    client.load_partitions(body.collection_name, body.partition_names, db_name=body.db_name)


@endpoint(ROUTES, "partitions/release", PartitionsBody)
def release_partitions(client: Client, body: PartitionsBody) -> None:
    _check_partitions(client, body)
    client.release_partitions(body.collection_name, body.partition_names, db_name=body.db_name)


def _check_partitions(client: Client, body: PartitionsBody) -> None:
    existing = client.list_partitions(body.collection_name, db_name=body.db_name)
    for name in body.partition_names:
        if name not in existing:
            raise PartitionNotFound(f"partition not found[partition={name}]")


@endpoint(ROUTES, "partitions/get_stats", PartitionBody)
def partition_stats(client: Client, body: PartitionBody) -> dict[str, int]:
    stats = client.get_partition_stats(
        body.collection_name, body.partition_name, db_name=body.db_name
    )
    return {"rowCount": stats["row_count"]}
