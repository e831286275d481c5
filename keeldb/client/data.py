"""Data calls of ``keeldb.Client``: insert, upsert, delete, get, query, search.

Shapes follow pymilvus's ``MilvusClient``: ``insert`` returns
``{"insert_count": n, "ids": [...]}``, ``delete`` returns ``{"delete_count": n}``,
``query``/``get`` return row dicts (dynamic keys flattened), ``search`` returns
one list of hits per query vector, each hit ``{"id", "distance", "entity"}``.
"""

from __future__ import annotations

import math
import re
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from keeldb.client.boundary import translates_storage_errors
from keeldb.client.filter_cache import cached_filter
from keeldb.client.query_vectors import (
    field_search_metric,
    fit_magnitudes,
    refuse_zero_cosine_queries,
    typed_query_vectors,
)
from keeldb.client.search_options import (
    GROUP_KEYS,
    group_by_option,
    index_search_params,
    with_tuned_defaults,
)
from keeldb.engine.catalog import DEFAULT_PARTITION, CollectionEntry, IndexSpec
from keeldb.engine.collection import Collection
from keeldb.engine.database import Engine
from keeldb.errors import InvalidArgument, NotLoaded
from keeldb.expr import CompiledFilter
from keeldb.index.range_search import parse_range
from keeldb.lifecycle import Lifecycle
from keeldb.query.grouping import execute_grouped_search
from keeldb.query.output import resolve_output_fields
from keeldb.query.retrieve import QueryRequest, execute_count, execute_query, explain_query
from keeldb.query.search import Hit, SearchRequest, check_limit, execute_search
from keeldb.query.snapshot import Snapshot
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.values import coerce_keys, to_batch
from keeldb.storage.fs import storage_error
from keeldb.types import DataType, MetricType

_COUNT = "count(*)"
# The batch-1 fast path's dot product overflows to inf on huge rows, which then take
# the full checks (``fit_magnitudes``); numpy's warning about it tells the caller nothing.
warnings.filterwarnings(
    "ignore", "overflow encountered in dot", RuntimeWarning, module=re.escape(__name__)
)
#: the query vectors of a memoised search template (``SearchRequest.with_queries`` fills them)
_NO_QUERIES = np.empty((0, 0), dtype=np.float32)
_FLOAT32 = np.dtype(np.float32)


@dataclass(frozen=True)
class PinnedSnapshot:
    """A collection as of one moment, for reads that must agree with each other.

    ``Client.pin_snapshot`` makes one; ``query(..., snapshot=pinned)`` reads it
    instead of the current data. Holding it keeps the segments it names in memory.
    """

    collection_id: int
    snapshot: Snapshot


class DataMixin:
    _engine: Engine
    _db_name: str
    _lifecycle: Lifecycle
    #: ``_search_template``'s memo: key -> (catalog generation, (entry, collection, request))
    _search_memo: dict[tuple[Any, ...], tuple[int, Any]]

    def _db(self, kw: dict[str, Any]) -> str:  # provided by DdlMixin
        raise NotImplementedError

    # -- writes ----------------------------------------------------------------
    def insert(
        self,
        collection_name: str,
        data: Any,
        timeout: float | None = None,
        partition_name: str = "",
        **kw: Any,
    ) -> dict[str, Any]:
        ids = self._write(collection_name, data, partition_name, kw)
        return {"insert_count": len(ids), "ids": ids, "cost": 0}

    def upsert(
        self,
        collection_name: str,
        data: Any,
        timeout: float | None = None,
        partition_name: str = "",
        **kw: Any,
    ) -> dict[str, Any]:
        ids = self._write(collection_name, data, partition_name, kw)
        return {"upsert_count": len(ids), "ids": ids, "cost": 0}

    def _write(self, name: str, data: Any, partition_name: str, kw: dict[str, Any]) -> list[Any]:
        db = self._db(kw)
        route = self._lifecycle.route(db, name)  # None unless a model makes this name's vectors
        if route is not None:
            return route.write(
                data, lambda target, rows: self._write_to(db, target, rows, partition_name)
            )
        return self._write_to(db, name, data, partition_name)

    def _write_to(self, db: str, name: str, data: Any, partition_name: str) -> list[Any]:
        entry, coll = self._engine.collection(db, name)
        batch = to_batch(entry.schema, data, allocate_ids=coll.ids.allocate)
        partition = self._route(entry, batch.table, partition_name)
        coll.write(batch, partition)
        return batch.table.column(entry.schema.primary_field.name).to_pylist()

    def _route(
        self, entry: CollectionEntry, table: pa.Table, partition_name: str
    ) -> int | np.ndarray:
        key_field = entry.schema.partition_key_field
        if key_field is None:
            return self._engine.partition_id(entry, partition_name or DEFAULT_PARTITION)
        if partition_name:
            raise InvalidArgument(
                "not support manually specifying the partition names if partition key mode is used"
            )
        return partition_buckets(table.column(key_field.name), entry.num_partitions)

    def delete(
        self,
        collection_name: str,
        ids: Any = None,
        timeout: float | None = None,
        filter: str | None = None,
        partition_name: str | None = None,
        **kw: Any,
    ) -> dict[str, int]:
        route = self._lifecycle.route(self._db(kw), collection_name)
        if route is not None and route.fan_out:  # a versioned collection: delete in every version
            return route.delete(
                lambda target: self._delete_in(target, ids, filter, partition_name, kw)
            )
        return self._delete_in(collection_name, ids, filter, partition_name, kw)

    def _delete_in(
        self, collection_name: str, ids: Any, filter: str | None, partition_name: str | None,
        kw: dict[str, Any],
    ) -> dict[str, int]:  # fmt: skip
        entry, coll = self._engine.collection(self._db(kw), collection_name)
        if ids is not None and filter:
            raise InvalidArgument("pass either ids or filter to delete, not both")
        partitions = self._partition_ids(entry, [partition_name] if partition_name else None)
        if ids is not None:
            keys = coerce_keys(entry.schema.primary_field, _as_list(ids))
            # Milvus reports the number of keys named, whether or not they existed
            if partitions is None:
                coll.delete_keys(keys)
            else:
                coll.delete_matching(None, partitions, pk_values=keys)
            return {"delete_count": len(keys)}
        if not filter:
            raise InvalidArgument("delete needs ids or a filter expression")
        row_filter = self._filter(entry, filter, kw.get("filter_params"))
        return {"delete_count": coll.delete_matching(row_filter, partitions)}

    # -- reads -----------------------------------------------------------------
    def get(
        self,
        collection_name: str,
        ids: Any,
        output_fields: list[str] | None = None,
        timeout: float | None = None,
        partition_names: list[str] | None = None,
        **kw: Any,
    ) -> list[dict[str, Any]]:
        entry, coll = self._loaded(collection_name, kw)
        keys = coerce_keys(entry.schema.primary_field, _as_list(ids))
        if not keys:
            return []
        request = QueryRequest(
            output=resolve_output_fields(entry.schema, output_fields or ["*"], include_pk=True),
            pk_values=keys,
            partition_ids=self._partition_ids(entry, partition_names),
        )
        return execute_query(coll.snapshot(), request)

    def query(
        self,
        collection_name: str,
        filter: str = "",
        output_fields: list[str] | None = None,
        timeout: float | None = None,
        ids: Any = None,
        partition_names: list[str] | None = None,
        **kw: Any,
    ) -> list[dict[str, Any]]:
        """Rows matching ``filter`` / ``ids``; ``snapshot=`` (from ``pin_snapshot``) reads
        the collection as of that snapshot instead of now (keeldb extension)."""
        entry, coll = self._loaded(collection_name, kw)
        fields = list(output_fields or ["*"])
        counting = _COUNT in fields
        if counting:
            fields.remove(_COUNT)
        limit = kw.get("limit")
        offset = kw.get("offset") or 0
        if counting and limit is not None:
            raise InvalidArgument("count entities with pagination is not allowed")
        if not filter and ids is None and limit is None and not counting:
            raise InvalidArgument(
                "empty expression should be used with limit",
                hint="pass filter=..., ids=... or limit=...",
            )
        if limit is not None:
            check_limit(limit, offset)
        request = QueryRequest(
            output=resolve_output_fields(entry.schema, fields, include_pk=True),
            filter=self._filter(entry, filter, kw.get("filter_params")),
            pk_values=(
                coerce_keys(entry.schema.primary_field, _as_list(ids)) if ids is not None else None
            ),
            partition_ids=self._partition_ids(entry, partition_names),
            limit=limit,
            offset=offset,
        )
        snapshot = self._read_view(entry, coll, kw.get("snapshot"))
        if counting:
            return [{_COUNT: execute_count(snapshot, request)}]
        return execute_query(snapshot, request)

    def explain(
        self,
        collection_name: str,
        filter: str = "",
        partition_names: list[str] | None = None,
        filter_params: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> str:
        """How keeldb runs ``filter`` on this collection, segment by segment (keeldb extension).

        Shows the checked filter tree, then per segment whether it was skipped
        (partitions, min/max statistics) and each step taken: a scalar-index lookup
        with the rows it found, or a scan of all rows or of the candidate rows
        earlier steps left; then the matching row count. Search uses the same plan
        to build its filter bitmap.
        """
        entry, coll = self._loaded(collection_name, kw)
        request = QueryRequest(
            output=resolve_output_fields(entry.schema, [], include_pk=True),
            filter=self._filter(entry, filter, filter_params),
            partition_ids=self._partition_ids(entry, partition_names),
        )
        return explain_query(coll.snapshot(), request)

    @translates_storage_errors
    def search(
        self,
        collection_name: str,
        data: Any = None,
        filter: str = "",
        limit: int = 10,
        output_fields: list[str] | None = None,
        search_params: dict[str, Any] | None = None,
        timeout: float | None = None,
        partition_names: list[str] | None = None,
        anns_field: str | None = None,
        **kw: Any,
    ) -> list[list[Hit]]:
        try:
            entry, coll, template = self._search_template(
                collection_name, filter, limit, output_fields, search_params, partition_names,
                anns_field, kw,
            )  # fmt: skip
            # text is embedded with the field's model; vectors of another space are refused
            given = data
            data = self._lifecycle.search_data(
                self._db(kw), entry, anns_field, data, kw.get("model")
            )
            blank = _blank_texts(given, data, template.metric)
            if blank is not None:
                data = data[~blank]
                if len(data) == 0:
                    return [[] for _ in blank]
            queries = _query_vectors(
                data, template.field, template.dim, template.vector_type, template.metric
            )
            if coll.record_queries(template.field, queries):
                # enough real queries to tune on: an index tuned on sampled ones is redone
                self._engine.builder.request_tuning(coll, template.field)
            request = template.with_queries(queries)
            if request.group_by is not None:
                hits = execute_grouped_search(coll.snapshot(), request)
            else:
                hits = execute_search(coll.snapshot(), request)
            return hits if blank is None else _with_blank_rows(hits, blank)
        except OSError as exc:
            raise storage_error("search", exc) from exc

    def _search_template(
        self,
        name: str,
        filter: str,
        limit: int,
        output_fields: list[str] | None,
        search_params: dict[str, Any] | None,
        partition_names: list[str] | None,
        anns_field: str | None,
        kw: dict[str, Any],
    ) -> tuple[CollectionEntry, Collection, SearchRequest]:
        """The collection and the search request, less its query vectors, memoised.

        Applications repeat the same search with new vectors, and deriving the request
        costs about as much as a small HNSW search. A memo entry is valid while the
        catalog is unchanged (any DDL bumps ``catalog_generation``); calls with extra
        keyword options are not memoised (their values need not have a faithful repr).
        """
        generation = self._engine.catalog_generation
        key = None
        if not kw:
            key = (
                self._db_name, name, filter, limit, anns_field,
                repr(output_fields), repr(search_params), repr(partition_names),
            )  # fmt: skip
            found = self._search_memo.get(key)
            if found is not None and found[0] == generation:
                return found[1]
        entry, coll = self._loaded(name, kw)
        template = self._search_request(
            entry, None, filter, limit, output_fields, search_params, partition_names,
            anns_field, kw,
        )  # fmt: skip
        if key is not None:
            if len(self._search_memo) >= 1024:
                self._search_memo.clear()
            self._search_memo[key] = (generation, (entry, coll, template))
        return entry, coll, template

    def _search_request(
        self,
        entry: CollectionEntry,
        data: Any,
        filter: str,
        limit: int,
        output_fields: list[str] | None,
        search_params: dict[str, Any] | None,
        partition_names: list[str] | None,
        anns_field: str | None,
        kw: dict[str, Any],
        *,
        check: bool = True,
    ) -> SearchRequest:
        schema = entry.schema
        field = schema.vector_field(anns_field)
        dim = field.dim or 0
        queries = (
            _NO_QUERIES if data is None else _query_vectors(data, field.name, dim, field.dtype)
        )
        search_params = dict(search_params or {})
        offset = kw.get("offset", search_params.get("offset", 0)) or 0
        if check:
            check_limit(limit, offset)
        spec = entry.vector_index(field.name)
        metric, params, bounds, group_by = _search_options(
            schema, spec, search_params, limit + offset, kw
        )
        if group_by is not None and not check:  # check=False: an iterator's request
            raise InvalidArgument("Not allowed to do groupBy when doing iteration")
        if field.dtype is not DataType.FLOAT_VECTOR:
            metric = field_search_metric(field.dtype, spec, search_params, metric)
            bounds = parse_range(params, metric)
        return SearchRequest(
            queries=queries,
            field=field.name,
            vector_type=field.dtype,
            dim=dim,
            metric=metric,
            limit=limit,
            offset=offset,
            output=resolve_output_fields(schema, output_fields, include_pk=False),
            filter=self._filter(entry, filter, kw.get("filter_params")),
            partition_ids=self._partition_ids(entry, partition_names),
            params=params,
            range=bounds,
            group_by=group_by,
        )

    # -- helpers ---------------------------------------------------------------
    def _read_view(
        self, entry: CollectionEntry, coll: Collection, pinned: PinnedSnapshot | None
    ) -> Snapshot:
        """The snapshot a read runs on: a pinned one (same collection only), else a fresh one."""
        if pinned is None:
            return coll.snapshot()
        if pinned.collection_id != entry.collection_id:
            raise InvalidArgument(
                f"the pinned snapshot belongs to collection id {pinned.collection_id}, "
                f"not to '{entry.name}' (id {entry.collection_id}): "
                "was the collection dropped and re-created?",
                hint="start the iterator again",
            )
        return pinned.snapshot

    def _loaded(self, name: str, kw: dict[str, Any]) -> tuple[CollectionEntry, Collection]:
        entry, coll = self._engine.collection(self._db(kw), name)
        if not entry.loaded:
            raise NotLoaded(
                f"collection not loaded[collection={entry.collection_id}]",
                hint="call load_collection first",
            )
        return entry, coll

    def _filter(
        self, entry: CollectionEntry, expression: str | None, params: Mapping[str, Any] | None
    ) -> CompiledFilter | None:
        if not expression:
            return None
        return cached_filter(entry.schema, expression, params)

    def _partition_ids(
        self, entry: CollectionEntry, names: list[str] | None
    ) -> frozenset[int] | None:
        if not names:
            return None
        return frozenset(self._engine.partition_id(entry, n) for n in _as_list(names))


def partition_buckets(keys: pa.ChunkedArray | pa.Array, count: int) -> np.ndarray:
    """Partition-key routing: a stable hash of each key modulo the partition count."""
    values = keys.to_pylist()
    if values and isinstance(values[0], str):
        hashed = np.fromiter((zlib.crc32(v.encode()) for v in values), np.int64, len(values))
    else:
        hashed = np.abs(np.asarray(values, dtype=np.int64))
    return (hashed % count).astype(np.int32)


def _search_options(
    schema: CollectionSchema,
    spec: IndexSpec | None,
    search_params: dict[str, Any],
    k: int,
    kw: Mapping[str, Any],
) -> tuple[MetricType, dict[str, Any], Any, Any]:
    """(metric, index params, range bounds, grouping) of a search, memoised per index spec.

    The same few search settings recur on every call, and deriving them costs
    more than a small HNSW search. Specs are immutable and replaced when they
    change (tuning, re-indexing), so a cache kept on the spec cannot go stale.
    """
    # repr is a cheap, exact key for the small dicts of plain values callers send
    key = (repr(search_params), k, tuple(kw.get(g) for g in GROUP_KEYS))
    cache = spec.__dict__.setdefault("_options_cache", {}) if spec is not None else None
    if cache is not None:
        found = cache.get(key)
        if found is not None:
            return found
    metric = _search_metric(spec.metric_type if spec else "COSINE", search_params)
    params = with_tuned_defaults(spec, index_search_params(search_params), k)
    bounds = parse_range(params, metric)
    group_by = group_by_option(schema, search_params, kw)
    if group_by is not None and bounds is not None:
        raise InvalidArgument("grouping search does not support range search (radius)")
    options = (metric, params, bounds, group_by)
    if cache is not None and len(cache) < 256:
        cache[key] = options
    return options


def _query_vectors(
    data: Any,
    field: str,
    dim: int,
    vector_type: DataType = DataType.FLOAT_VECTOR,
    metric: MetricType | None = None,
) -> Any:
    if vector_type is not DataType.FLOAT_VECTOR:
        return typed_query_vectors(data, field, dim, vector_type, metric)
    if type(data) is list and len(data) == 1:
        # batch 1 of a float32 numpy row, the commonest call: skip asarray's list walk;
        # a finite, non-zero dot product proves every value finite and the row non-zero
        # (else the full checks below run)
        row = data[0]
        if (
            type(row) is np.ndarray
            and row.dtype == _FLOAT32
            and row.shape == (dim,)
            and row.flags.c_contiguous
        ):
            square = row.dot(row)
            if math.isfinite(square) and square > 0:
                return row.reshape(1, dim)
    if data is None:
        raise InvalidArgument("search needs data=: a list of query vectors")
    try:
        arr = np.asarray(data, dtype=np.float32)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"query vectors for field '{field}' must be lists of {dim} floats"
        ) from exc
    if arr.ndim == 1 and arr.size == dim:
        arr = arr.reshape(1, dim)
    if arr.ndim != 2 or arr.shape[1] != dim:
        got = arr.shape[-1] if arr.ndim else 0
        raise InvalidArgument(
            f"vector dimension mismatch: the query vector has dim {got}, "
            f"field '{field}' has dim {dim}"
        )
    if arr.shape[0] == 0:
        raise InvalidArgument("search needs at least one query vector")
    if not np.isfinite(arr).all():
        raise InvalidArgument("query vectors must not contain NaN or infinite values")
    if metric is MetricType.COSINE:
        refuse_zero_cosine_queries(arr, field)
    return fit_magnitudes(np.ascontiguousarray(arr), field, metric)


def _blank_texts(given: Any, embedded: Any, metric: MetricType) -> np.ndarray | None:
    """Under COSINE, the texts a model embedded as zero vectors (none of their terms
    known to it, e.g. TF-IDF): they match nothing and get no hits, where a zero
    vector given as such is refused. None when there are none."""
    if embedded is given or metric is not MetricType.COSINE or type(embedded) is not np.ndarray:
        return None
    blank = ~embedded.any(axis=1)
    return blank if blank.any() else None


def _with_blank_rows(hits: list[list[Hit]], blank: np.ndarray) -> list[list[Hit]]:
    """``hits`` of the non-blank queries, with an empty answer at each blank one."""
    found = iter(hits)
    return [[] if is_blank else next(found) for is_blank in blank.tolist()]


def _search_metric(index_metric: str, search_params: dict[str, Any]) -> MetricType:
    requested = search_params.get("metric_type") or index_metric
    if str(requested).upper() != index_metric.upper():
        raise InvalidArgument(
            "metric type not match: invalid parameter"
            f"[expected={index_metric}][actual={requested}]",
            hint="search with the metric the index was built with",
        )
    return MetricType(index_metric.upper())


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return [value]
