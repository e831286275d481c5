"""Index RPCs: CreateIndex, DescribeIndex (and its older forms), DropIndex.

pymilvus sends an index definition as ``extra_params`` key/value pairs:
``index_type`` (absent means AUTOINDEX), ``metric_type``, and the build
parameters either one pair each (``M="16"``) or as one JSON object under
``params``. After ``CreateIndex`` it polls ``DescribeIndex`` until the state is
Finished; keeldb builds indexes of sealed segments in the background, so the
state is InProgress until every sealed segment has its index.

``DescribeIndex`` answers like Milvus: the build parameters as flat string
pairs, row counts, the state; a missing index is code 700 (pymilvus then returns
``None`` from ``describe_index`` and ``[]`` from ``list_indexes``).
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from pymilvus.grpc_gen import common_pb2, milvus_pb2

from keeldb.client.embedded import Client
from keeldb.errors import IndexNotFound
from keeldb.server.schema_codec import pair_value
from keeldb.server.status import rpc

Status = common_pb2.Status
_SUMMARY_KEYS = {
    "field_name", "index_name", "total_rows", "indexed_rows", "pending_index_rows",
    "state", "index_state_fail_reason",
}  # fmt: skip


def decode_index_params(pairs: Any) -> dict[str, Any]:
    """``extra_params`` → ``{"index_type", "metric_type", "params"}``."""
    index_type, metric_type, params = "", "", {}
    for pair in pairs:
        key, value = pair.key, pair.value
        if key == "index_type":
            index_type = value
        elif key == "metric_type":
            metric_type = value
        elif key == "params":
            decoded = _json_or_text(value)
            if isinstance(decoded, dict):
                params.update(decoded)
        else:
            params[key] = _json_or_text(value)
    params.pop("metric_type", None)
    params.pop("index_type", None)
    return {"index_type": index_type, "metric_type": metric_type, "params": params}


def _json_or_text(value: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def encode_index(info: dict[str, Any]) -> milvus_pb2.IndexDescription:
    """An ``IndexDescription`` from the embedded client's ``describe_index`` dict."""
    params = {k: v for k, v in info.items() if k not in _SUMMARY_KEYS}
    state = info.get("state", "Finished")
    return milvus_pb2.IndexDescription(
        index_name=info["index_name"],
        indexID=zlib.crc32(info["index_name"].encode()),
        field_name=info["field_name"],
        params=[common_pb2.KeyValuePair(key=k, value=pair_value(v)) for k, v in params.items()],
        total_rows=info.get("total_rows", 0),
        indexed_rows=info.get("indexed_rows", 0),
        pending_index_rows=info.get("pending_index_rows", 0),
        state=common_pb2.IndexState.Value(state),
        index_state_fail_reason=info.get("index_state_fail_reason", ""),
    )


class IndexRpcs:
    _client: Client

    @rpc(Status)
    def CreateIndex(self, request: Any, db: str) -> None:
        entry = decode_index_params(request.extra_params)
        entry.update(field_name=request.field_name, index_name=request.index_name)
        self._client.create_index(request.collection_name, [entry], db_name=db)

    @rpc(Status)
    def DropIndex(self, request: Any, db: str) -> None:
        names = (
            [request.index_name]
            if request.index_name
            else self._client.list_indexes(
                request.collection_name, field_name=request.field_name, db_name=db
            )
        )
        for name in names:
            self._client.drop_index(request.collection_name, name, db_name=db)

    def _describe(self, request: Any, db: str) -> list[milvus_pb2.IndexDescription]:
        name = request.collection_name
        field = getattr(request, "field_name", "")
        wanted = request.index_name
        names = self._client.list_indexes(name, field_name=field, db_name=db)
        if wanted:
            names = [n for n in names if n == wanted]
        found = [self._client.describe_index(name, n, db_name=db) for n in names]
        infos = [i for i in found if i is not None]
        if not infos:
            detail = f"[indexName={wanted}]" if wanted else f"[collection={name}]"
            raise IndexNotFound(f"index not found{detail}")
        return [encode_index(i) for i in infos]

    @rpc(milvus_pb2.DescribeIndexResponse)
    def DescribeIndex(self, request: Any, db: str) -> Any:
        return milvus_pb2.DescribeIndexResponse(
            status=Status(), index_descriptions=self._describe(request, db)
        )

    @rpc(milvus_pb2.GetIndexStatisticsResponse)
    def GetIndexStatistics(self, request: Any, db: str) -> Any:
        return milvus_pb2.GetIndexStatisticsResponse(
            status=Status(), index_descriptions=self._describe(request, db)
        )

    @rpc(milvus_pb2.GetIndexStateResponse)
    def GetIndexState(self, request: Any, db: str) -> Any:
        first = self._describe(request, db)[0]
        return milvus_pb2.GetIndexStateResponse(
            status=Status(), state=first.state, fail_reason=first.index_state_fail_reason
        )

    @rpc(milvus_pb2.GetIndexBuildProgressResponse)
    def GetIndexBuildProgress(self, request: Any, db: str) -> Any:
        first = self._describe(request, db)[0]
        return milvus_pb2.GetIndexBuildProgressResponse(
            status=Status(), indexed_rows=first.indexed_rows, total_rows=first.total_rows
        )
