"""REST endpoints ``/v2/vectordb/entities/*`` and ``/v2/vectordb/indexes/*``.

Shapes follow Milvus's RESTful API v2:

- ``insert`` / ``upsert``: ``data`` is a list of row objects (one object is
  accepted too); replies ``{"insertCount", "insertIds"}`` /
  ``{"upsertCount", "upsertIds"}``. Int64 keys are JSON numbers (Milvus's
  default, ``acceptTypeAllowInt64``).
- ``delete``: ``filter`` (required). A pure primary-key filter (``id in [..]``)
  counts the keys named, found or not, as Milvus does; any other filter counts
  the rows it matched. Replies ``{"deleteCount"}``.
- ``get``: ``id`` (one key or a list); ``query``: ``filter``, ``limit``
  (default 100, as Milvus's REST layer sets it; not applied to ``count(*)``),
  ``offset``. Both default ``outputFields`` to ``["*"]`` and reply with a list
  of row objects, dynamic keys flattened.
- ``search``: ``data`` (query vectors), ``annsField``, ``limit`` (default
  100), ``offset``, ``filter``, ``outputFields``, ``searchParams``
  (``{"metricType", "params": {...}}``; other keys join ``params``). The reply
  is one flat list of hits ``{<pk>: .., "distance": .., <output fields>..}``,
  query after query; with several query vectors ``topks`` says how many hits
  each one got.

Every entity reply carries ``"cost": 0`` beside ``data``, as Milvus's does.
"""

from __future__ import annotations

from typing import Any

from keeldb.client.embedded import Client
from keeldb.errors import IndexNotFound
from keeldb.expr import compile_filter
from keeldb.server.rest import schema_codec, vector_json
from keeldb.server.rest.models import (
    CreateIndexBody,
    DeleteBody,
    Endpoint,
    GetBody,
    IndexBody,
    InsertBody,
    ListIndexesBody,
    QueryBody,
    SearchBody,
    endpoint,
)
from keeldb.server.rest.replies import Reply

ROUTES: list[Endpoint] = []
_COUNT = "count(*)"
#: what Milvus's REST layer fills in when a query or search body leaves them out
DEFAULT_LIMIT = 100
_COST = {"cost": 0}


# -- writes -----------------------------------------------------------------------------
@endpoint(ROUTES, "entities/insert", InsertBody)
def insert(client: Client, body: InsertBody) -> Reply:
    rows = _rows_in(client, body)
    result = client.insert(
        body.collection_name, rows, partition_name=body.partition_name, db_name=body.db_name
    )
    return Reply({"insertCount": result["insert_count"], "insertIds": result["ids"]}, _COST)


@endpoint(ROUTES, "entities/upsert", InsertBody)
def upsert(client: Client, body: InsertBody) -> Reply:
    rows = _rows_in(client, body)
    result = client.upsert(
        body.collection_name, rows, partition_name=body.partition_name, db_name=body.db_name
    )
    return Reply({"upsertCount": result["upsert_count"], "upsertIds": result["ids"]}, _COST)


def _rows_in(client: Client, body: InsertBody) -> list[Any]:
    """The body's rows, base64 vector strings decoded (``vector_json``)."""
    rows = body.data if isinstance(body.data, list) else [body.data]
    schema = client.get_collection_schema(body.collection_name, db_name=body.db_name)
    return vector_json.decode_rows(schema, rows)


@endpoint(ROUTES, "entities/delete", DeleteBody)
def delete(client: Client, body: DeleteBody) -> Reply:
    name, db = body.collection_name, body.db_name
    schema = client.get_collection_schema(name, db_name=db)
    compiled = compile_filter(
        body.filter, schema.by_name(), dynamic=schema.enable_dynamic_field, params=None
    )
    keys = compiled.primary_key_values(schema.primary_field.name) if compiled else None
    partition = body.partition_name or None
    if keys is not None:
        result = client.delete(name, ids=keys, partition_name=partition, db_name=db)
    else:
        result = client.delete(name, filter=body.filter, partition_name=partition, db_name=db)
    return Reply({"deleteCount": result["delete_count"]}, _COST)


# -- reads ------------------------------------------------------------------------------
@endpoint(ROUTES, "entities/get", GetBody)
def get(client: Client, body: GetBody) -> Reply:
    keys = body.id if isinstance(body.id, list) else [body.id]
    rows = client.get(
        body.collection_name,
        ids=keys,
        output_fields=body.output_fields or None,
        partition_names=body.partition_names or None,
        db_name=body.db_name,
    )
    return Reply(vector_json.encode_rows(rows), _COST)


@endpoint(ROUTES, "entities/query", QueryBody)
def query(client: Client, body: QueryBody) -> Reply:
    fields = body.output_fields or ["*"]
    options: dict[str, Any] = {"offset": body.offset}
    if _COUNT not in fields:
        options["limit"] = DEFAULT_LIMIT if body.limit is None else body.limit
    rows = client.query(
        body.collection_name,
        filter=body.filter,
        output_fields=fields,
        partition_names=body.partition_names or None,
        db_name=body.db_name,
        **options,
    )
    return Reply(vector_json.encode_rows(rows), _COST)


@endpoint(ROUTES, "entities/search", SearchBody)
def search(client: Client, body: SearchBody) -> Reply:
    grouping: dict[str, Any] = {}
    if body.grouping_field:
        grouping = {
            "group_by_field": body.grouping_field,
            "group_size": body.group_size or 1,
            "strict_group_size": body.strict_group_size,
        }
    data = body.data
    if isinstance(data, list) and any(isinstance(v, str) for v in data):
        data = [vector_json.decode_base64(v, "search data") for v in data]
    hits = client.search(
        body.collection_name,
        data=data,
        filter=body.filter,
        limit=body.limit,
        output_fields=body.output_fields or None,
        search_params=_search_params(body.search_params),
        partition_names=body.partition_names or None,
        anns_field=body.anns_field or None,
        offset=body.offset,
        db_name=body.db_name,
        **grouping,
    )
    flat = [_flat_hit(hit) for per_query in hits for hit in per_query]
    extra: dict[str, Any] = dict(_COST)
    if len(hits) > 1:
        extra["topks"] = [len(per_query) for per_query in hits]
    return Reply(flat, extra)


def _search_params(raw: dict[str, Any]) -> dict[str, Any]:
    rest = dict(raw)
    metric = rest.pop("metricType", None) or rest.pop("metric_type", None)
    rest.pop("metric_type", None)
    params = dict(rest.pop("params", None) or {})
    params.update(rest)  # radius, range_filter, ef ... given beside params
    out: dict[str, Any] = {"params": params}
    if metric:
        out["metric_type"] = metric
    return out


def _flat_hit(hit: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in hit.items() if key != "entity"}
    out.update({k: vector_json.encode_value(v) for k, v in (hit.get("entity") or {}).items()})
    return out


# -- indexes ----------------------------------------------------------------------------
@endpoint(ROUTES, "indexes/create", CreateIndexBody)
def create_index(client: Client, body: CreateIndexBody) -> None:
    client.create_index(
        body.collection_name,
        schema_codec.index_entries(body.index_params),
        db_name=body.db_name,
    )


@endpoint(ROUTES, "indexes/describe", IndexBody)
def describe_index(client: Client, body: IndexBody) -> list[dict[str, Any]]:
    info = client.describe_index(body.collection_name, body.index_name, db_name=body.db_name)
    if info is None:
        raise IndexNotFound(f"index not found[indexName={body.index_name}]")
    return [schema_codec.describe_index(info)]


@endpoint(ROUTES, "indexes/list", ListIndexesBody)
def list_indexes(client: Client, body: ListIndexesBody) -> list[str]:
    return client.list_indexes(
        body.collection_name, field_name=body.field_name, db_name=body.db_name
    )


@endpoint(ROUTES, "indexes/drop", IndexBody)
def drop_index(client: Client, body: IndexBody) -> None:
    client.drop_index(body.collection_name, body.index_name, db_name=body.db_name)
