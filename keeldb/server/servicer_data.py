"""Data RPCs: Insert, Upsert, Delete, Query, Search.

Writes decode ``FieldData`` columns (``data_codec``) and call the embedded
client's columnar insert, which validates, logs and fsyncs before it returns,
so an acknowledged write survives a crash. A write that carries the
``schema_timestamp`` of an older incarnation of the collection (dropped and
re-created under the same name) is answered with ``SchemaMismatch``, on which
pymilvus refreshes its schema cache and retries once.

Reads call ``query`` / ``search`` and encode the row dicts back into columns.
Queries with a limit come back in primary-key order, which pymilvus's
``query_iterator`` relies on; its pages read one pinned snapshot per session
(``query_sessions.QuerySnapshots``, keyed by the ``session_ts`` it sends back as
``guarantee_timestamp``). Search iterators are served by
``iterators.SearchIteratorSessions``.
"""

from __future__ import annotations

from typing import Any

from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

from keeldb.client.embedded import Client
from keeldb.errors import InvalidArgument, Unimplemented
from keeldb.expr import compile_filter
from keeldb.schema.collection import CollectionSchema
from keeldb.server.clock import HybridClock
from keeldb.server.data_codec import count_field, decode_columns, encode_rows, output_columns
from keeldb.server.iterators import ResumableIterator, SearchIteratorSessions
from keeldb.server.query_sessions import QuerySnapshots
from keeldb.server.search_codec import (
    SearchCall,
    decode_search_params,
    decode_template_values,
    decode_vectors,
    encode_search_results,
    int_param,
    key_values,
)
from keeldb.server.status import rpc
from keeldb.types import DataType, MetricType

Status = common_pb2.Status
_COUNT = "count(*)"


class DataRpcs:
    _client: Client
    _clock: HybridClock
    _search_sessions: SearchIteratorSessions
    _query_snapshots: QuerySnapshots

    # -- writes ----------------------------------------------------------------------
    @rpc(milvus_pb2.MutationResult)
    def Insert(self, request: Any, db: str) -> Any:
        return self._write(request, db, upsert=False)

    @rpc(milvus_pb2.MutationResult)
    def Upsert(self, request: Any, db: str) -> Any:
        if request.partial_update:
            raise Unimplemented("partial upserts (partial_update=True) are not supported yet")
        return self._write(request, db, upsert=True)

    def _write(self, request: Any, db: str, *, upsert: bool) -> Any:
        name = request.collection_name
        stale = self._stale_schema(name, request.schema_timestamp, db)
        if stale is not None:
            return milvus_pb2.MutationResult(status=stale)
        schema = self._client.get_collection_schema(name, db_name=db)
        columns = decode_columns(schema, request.fields_data, request.num_rows)
        write = self._client.upsert if upsert else self._client.insert
        result = write(name, columns, partition_name=request.partition_name, db_name=db)
        out = milvus_pb2.MutationResult(status=Status(), timestamp=self._clock.now())
        _set_ids(out.IDs, schema, result["ids"])
        out.succ_index.extend(range(len(result["ids"])))
        if upsert:
            out.upsert_cnt = result["upsert_count"]
        else:
            out.insert_cnt = result["insert_count"]
        return out

    def _stale_schema(self, name: str, schema_ts: int, db: str) -> Any:
        if not schema_ts:
            return None
        current = self._client.describe_collection(name, db_name=db)["update_timestamp"]
        if schema_ts == current:
            return None
        return Status(
            code=common_pb2.SchemaMismatch,
            error_code=common_pb2.SchemaMismatch,
            reason=f"collection {name} was re-created; its schema changed (schema mismatch)",
        )

    @rpc(milvus_pb2.MutationResult)
    def Delete(self, request: Any, db: str) -> Any:
        name = request.collection_name
        params = decode_template_values(request.expr_template_values)
        schema = self._client.get_collection_schema(name, db_name=db)
        partition = request.partition_name or None
        keys = _primary_keys(schema, request.expr, params)
        if keys is not None:  # Milvus counts the keys named, found or not
            result = self._client.delete(name, ids=keys, partition_name=partition, db_name=db)
        else:
            result = self._client.delete(
                name,
                filter=request.expr,
                partition_name=partition,
                filter_params=params,
                db_name=db,
            )
        return milvus_pb2.MutationResult(
            status=Status(), delete_cnt=result["delete_count"], timestamp=self._clock.now()
        )

    # -- reads -------------------------------------------------------------------------
    @rpc(milvus_pb2.QueryResults)
    def Query(self, request: Any, db: str) -> Any:
        name = request.collection_name
        schema = self._client.get_collection_schema(name, db_name=db)
        options = key_values(request.query_params)
        kwargs: dict[str, Any] = {
            "filter": request.expr,
            "partition_names": list(request.partition_names) or None,
            "filter_params": decode_template_values(request.expr_template_values),
            "db_name": db,
        }
        if "limit" in options:
            kwargs["limit"] = int_param(options, "limit", 0)
        if "offset" in options:
            kwargs["offset"] = int_param(options, "offset", 0)
        session_ts = self._clock.now()
        if "iterator" in options:  # a query_iterator page: read the session's pinned snapshot
            kwargs["snapshot"], session_ts = self._query_snapshots.session(
                db,
                name,
                request.guarantee_timestamp,
                self._clock.now,
                lambda: self._client.pin_snapshot(name, db_name=db),
            )
        requested = list(request.output_fields)
        out = milvus_pb2.QueryResults(
            status=Status(),
            collection_name=name,
            session_ts=session_ts,
            primary_field_name=schema.primary_field.name,
        )
        if _COUNT in requested:
            rows = self._client.query(name, output_fields=[_COUNT], **kwargs)
            out.fields_data.append(count_field(rows[0][_COUNT]))
            out.output_fields.append(_COUNT)
            return out
        names = requested or [schema.primary_field.name]
        columns = output_columns(schema, names, include_pk=True)
        rows = self._client.query(name, output_fields=names, **kwargs)
        out.fields_data.extend(encode_rows(rows, columns))
        out.output_fields.extend(columns.names)
        return out

    @rpc(milvus_pb2.SearchResults)
    def Search(self, request: Any, db: str) -> Any:
        name = request.collection_name
        schema = self._client.get_collection_schema(name, db_name=db)
        call = decode_search_params(request.search_params)
        names = list(request.output_fields)
        columns = output_columns(schema, names, include_pk=False)
        vectors = self._query_vectors(request, schema, call, db)
        common: dict[str, Any] = {
            "filter": request.dsl,
            "output_fields": names,
            "search_params": call.search_params,
            "partition_names": list(request.partition_names) or None,
            "anns_field": call.anns_field,
            "filter_params": decode_template_values(request.expr_template_values),
            "db_name": db,
        }
        if call.iterator_v2:
            return self._search_page(name, schema, vectors, call, columns, common)
        hits = self._client.search(
            name, data=vectors, limit=call.limit, offset=call.offset, **common
        )
        return encode_search_results(hits, schema, columns, call, name, self._clock.now())

    def _search_page(
        self,
        name: str,
        schema: CollectionSchema,
        vectors: Any,
        call: SearchCall,
        columns: Any,
        common: dict[str, Any],
    ) -> Any:
        if call.offset:
            raise InvalidArgument(
                "Setting an offset is not permitted when using a search iterator v2"
            )
        batch = call.batch_size or call.limit

        def open_iterator() -> ResumableIterator:
            inner = self._client.search_iterator(
                name, vectors, batch_size=batch, limit=-1, **common
            )
            return ResumableIterator(inner, batch)

        def metric() -> MetricType:
            return self._index_metric(name, schema, call, common["db_name"])

        hits, token, bound = self._search_sessions.next_page(
            call.token, call.last_bound, open_iterator, metric
        )
        out = encode_search_results([hits], schema, columns, call, name, self._clock.now())
        out.results.search_iterator_v2_results.token = token
        out.results.search_iterator_v2_results.last_bound = bound
        return out

    def _index_metric(
        self, name: str, schema: CollectionSchema, call: SearchCall, db: str
    ) -> MetricType:
        if call.metric_type:
            return MetricType(call.metric_type.upper())
        field = schema.vector_field(call.anns_field).name
        for index in self._client.list_indexes(name, field_name=field, db_name=db):
            info = self._client.describe_index(name, index, db_name=db)
            if info and info.get("metric_type"):
                return MetricType(info["metric_type"].upper())
        return MetricType.COSINE

    def _query_vectors(
        self, request: Any, schema: CollectionSchema, call: SearchCall, db: str
    ) -> Any:
        if request.placeholder_group:
            return decode_vectors(request.placeholder_group)
        which = request.ids.WhichOneof("id_field")
        if which is None:
            raise InvalidArgument("search needs query vectors (data=) or primary keys (ids=)")
        keys = list(getattr(request.ids, which).data)
        field = schema.vector_field(call.anns_field).name
        rows = self._client.get(
            request.collection_name, ids=keys, output_fields=[field], db_name=db
        )
        by_key = {row[schema.primary_field.name]: row[field] for row in rows}
        missing = [k for k in keys if k not in by_key]
        if missing:
            raise InvalidArgument(
                f"search by primary keys: no entity with primary key {missing[0]!r}"
            )
        return [by_key[k] for k in keys]


def _set_ids(ids: schema_pb2.IDs, schema: CollectionSchema, keys: list[Any]) -> None:
    if schema.primary_field.dtype == DataType.INT64:
        ids.int_id.data.extend(keys)
    else:
        ids.str_id.data.extend(keys)


def _primary_keys(
    schema: CollectionSchema, expr: str, params: dict[str, Any] | None
) -> list[Any] | None:
    """The keys of a pure primary-key filter (``pk in [...]``), else None."""
    if not expr:
        return None
    compiled = compile_filter(
        expr, schema.by_name(), dynamic=schema.enable_dynamic_field, params=params
    )
    if compiled is None:
        return None
    return compiled.primary_key_values(schema.primary_field.name)
