"""Search and query requests on the wire: parameters in, ``SearchResults`` out.

pymilvus sends search parameters as string key/value pairs: ``topk``,
``round_decimal``, ``ignore_growing``, ``offset``, ``metric_type``,
``anns_field``, ``params`` (a JSON object that also repeats the top-level keys),
and the iterator keys (``iterator``, ``search_iter_v2``,
``search_iter_batch_size``, ``search_iter_id``, ``search_iter_last_bound``).
Values went through ``str()``, so booleans arrive as ``"True"``. Query vectors
arrive in a serialised ``PlaceholderGroup`` as little-endian float32 bytes, or
in the other vector types' encodings (``keeldb.server.vector_codec``).
Filter template values (``{name}`` in an expression) arrive as ``TemplateValue``
messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

from keeldb.errors import InvalidArgument, Unimplemented
from keeldb.schema.collection import CollectionSchema
from keeldb.server.data_codec import OutputColumns, encode_rows
from keeldb.server.vector_codec import decode_placeholder
from keeldb.types import DataType

#: keys of the ``params`` JSON that are not index search parameters
_NOT_INDEX_PARAMS = {
    "metric_type", "offset", "hints", "round_decimal", "ignore_growing",
    "page_retain_order", "analyzer_name", "topk", "limit",
}  # fmt: skip
_UNSUPPORTED_KEYS = ("group_by_fields", "search_aggregation", "order_by_fields")
_GROUP_KEYS = ("group_by_field", "group_size", "strict_group_size")


@dataclass
class SearchCall:
    """A decoded ``SearchRequest``, in the terms of ``keeldb.Client.search``."""

    limit: int
    offset: int = 0
    metric_type: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    anns_field: str | None = None
    round_decimal: int = -1
    iterator_v2: bool = False
    batch_size: int = 0
    token: str = ""
    last_bound: float | None = None
    #: grouping options (group_by_field, group_size, strict_group_size) as sent
    grouping: dict[str, str] = field(default_factory=dict)

    @property
    def search_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"params": dict(self.params), **self.grouping}
        if self.metric_type:
            out["metric_type"] = self.metric_type
        return out


def key_values(pairs: Sequence[common_pb2.KeyValuePair]) -> dict[str, str]:
    return {p.key: p.value for p in pairs}


def is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


def int_param(values: dict[str, str], key: str, default: int) -> int:
    raw = values.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"{key} [{raw}] is invalid, it should be an integer") from None


def decode_search_params(pairs: Sequence[common_pb2.KeyValuePair]) -> SearchCall:
    values = key_values(pairs)
    for key in _UNSUPPORTED_KEYS:
        if values.get(key):
            raise Unimplemented(f"search parameter {key} is not supported by keeldb yet")
    params: dict[str, Any] = {}
    if values.get("params"):
        try:
            params = dict(orjson.loads(values["params"]))
        except (orjson.JSONDecodeError, TypeError, ValueError):
            raise InvalidArgument(
                f"search params must be a JSON object: {values['params']!r}"
            ) from None
    metric = values.get("metric_type") or params.get("metric_type") or None
    offset = int_param(values, "offset", int(params.get("offset") or 0))
    round_decimal = int_param(values, "round_decimal", -1)
    if round_decimal != -1 and not 0 <= round_decimal <= 6:
        raise InvalidArgument(
            f"round_decimal [{round_decimal}] is invalid, "
            "should be -1 or an integer in range [0, 6]"
        )
    last_bound = values.get("search_iter_last_bound")
    return SearchCall(
        limit=int_param(values, "topk", 10),
        offset=offset,
        metric_type=metric,
        params={k: v for k, v in params.items() if k not in _NOT_INDEX_PARAMS},
        anns_field=values.get("anns_field") or None,
        round_decimal=round_decimal,
        iterator_v2=is_true(values.get("search_iter_v2")),
        batch_size=int_param(values, "search_iter_batch_size", 0),
        token=values.get("search_iter_id", ""),
        last_bound=float(last_bound) if last_bound else None,
        grouping={k: values[k] for k in _GROUP_KEYS if values.get(k)},
    )


def decode_vectors(raw: bytes) -> Any:
    """Query vectors from a serialised ``PlaceholderGroup`` (float32 rows for FloatVector)."""
    group = common_pb2.PlaceholderGroup()
    group.ParseFromString(raw)
    if len(group.placeholders) != 1:
        raise InvalidArgument("a search takes exactly one placeholder of query vectors")
    holder = group.placeholders[0]
    if holder.type != common_pb2.PlaceholderType.FloatVector:
        return decode_placeholder(holder)  # the other vector types
    sizes = {len(v) for v in holder.values}
    if not holder.values or len(sizes) != 1 or next(iter(sizes)) % 4:
        raise InvalidArgument("query vectors must all have the same number of float32 values")
    dim = next(iter(sizes)) // 4
    flat = np.frombuffer(b"".join(holder.values), dtype="<f4")
    return flat.reshape(len(holder.values), dim).astype(np.float32, copy=False)


def decode_template_values(values: Any) -> dict[str, Any] | None:
    """``expr_template_values`` as plain Python values (``None`` when there are none)."""
    if not values:
        return None
    return {name: _template_value(v) for name, v in values.items()}


def _template_value(value: schema_pb2.TemplateValue) -> Any:
    kind = value.WhichOneof("val")
    if kind is None:
        return None
    if kind == "array_val":
        return _template_array(value.array_val)
    return getattr(value, kind)


def _template_array(value: schema_pb2.TemplateArrayValue) -> list[Any]:
    kind = value.WhichOneof("data")
    if kind is None:
        return []
    if kind == "array_data":
        return [_template_array(v) for v in value.array_data.data]
    if kind == "json_data":
        return [orjson.loads(v) for v in value.json_data.data]
    return list(getattr(value, kind).data)


def encode_search_results(
    hits: list[list[Any]],
    schema: CollectionSchema,
    columns: OutputColumns,
    call: SearchCall,
    collection_name: str,
    session_ts: int,
) -> milvus_pb2.SearchResults:
    """``SearchResults`` for the embedded client's hits (one list per query)."""
    pk = schema.primary_field
    flat = [hit for per_query in hits for hit in per_query]
    keys = [hit.id for hit in flat]
    scores = [hit.distance for hit in flat]
    if call.round_decimal >= 0:
        scores = [round(s, call.round_decimal) for s in scores]
    data = schema_pb2.SearchResultData(
        num_queries=len(hits),
        top_k=call.limit,
        topks=[len(per_query) for per_query in hits],
        scores=scores,
        output_fields=list(columns.names),
        primary_field_name=pk.name,
    )
    if pk.dtype == DataType.INT64:
        data.ids.int_id.data.extend(keys)
    else:
        data.ids.str_id.data.extend(keys)
    if columns.fields or columns.meta:
        data.fields_data.extend(encode_rows([hit.entity for hit in flat], columns))
    return milvus_pb2.SearchResults(
        status=common_pb2.Status(),
        results=data,
        collection_name=collection_name,
        session_ts=session_ts,
    )
