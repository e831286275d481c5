"""``KeelServicer``: the Milvus gRPC service over one shared ``keeldb.Client``.

The RPCs are grouped by subject in ``servicer_ddl`` (collections, partitions,
aliases, databases, load state, flush, compaction), ``servicer_index`` and
``servicer_data`` (insert, upsert, delete, query, search); this module adds the
session RPCs pymilvus calls on its own (Connect, GetVersion, CheckHealth,
AllocTimestamp) and answers every other RPC of the service promptly with a
"service unimplemented" status (code 10) — never a gRPC error, never a hang.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import message_factory
from pymilvus.grpc_gen import common_pb2, milvus_pb2, milvus_pb2_grpc

from keeldb import __version__
from keeldb.client.embedded import Client
from keeldb.server.clock import HybridClock
from keeldb.server.iterators import SearchIteratorSessions
from keeldb.server.query_sessions import QuerySnapshots
from keeldb.server.servicer_data import DataRpcs
from keeldb.server.servicer_ddl import DefinitionRpcs
from keeldb.server.servicer_index import IndexRpcs
from keeldb.server.status import reply, rpc, unimplemented_status

#: the Milvus server version keeldb reports; its behaviour follows Milvus 2.5
MILVUS_VERSION = "v2.5.0"

_SERVICE = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"]


class KeelServicer(DefinitionRpcs, IndexRpcs, DataRpcs, milvus_pb2_grpc.MilvusServiceServicer):
    def __init__(self, client: Client) -> None:
        self._client = client
        self._clock = HybridClock()
        self._search_sessions = SearchIteratorSessions()
        self._query_snapshots = QuerySnapshots()
        self._connections = itertools.count(1)

    def close(self) -> None:
        self._search_sessions.close()
        self._query_snapshots.close()

    @rpc(milvus_pb2.ConnectResponse)
    def Connect(self, request: Any, db: str) -> Any:
        info = common_pb2.ServerInfo(
            build_tags=MILVUS_VERSION,
            deploy_mode="STANDALONE",
            git_commit=f"keeldb-{__version__}",
        )
        info.reserved["server"] = "keeldb"
        return milvus_pb2.ConnectResponse(
            status=common_pb2.Status(), server_info=info, identifier=next(self._connections)
        )

    @rpc(milvus_pb2.GetVersionResponse)
    def GetVersion(self, request: Any, db: str) -> Any:
        return milvus_pb2.GetVersionResponse(status=common_pb2.Status(), version=MILVUS_VERSION)

    @rpc(milvus_pb2.CheckHealthResponse)
    def CheckHealth(self, request: Any, db: str) -> Any:
        return milvus_pb2.CheckHealthResponse(status=common_pb2.Status(), isHealthy=True)

    @rpc(milvus_pb2.AllocTimestampResponse)
    def AllocTimestamp(self, request: Any, db: str) -> Any:
        return milvus_pb2.AllocTimestampResponse(
            status=common_pb2.Status(), timestamp=self._clock.now()
        )

    @rpc(milvus_pb2.ComponentStates)
    def GetComponentStates(self, request: Any, db: str) -> Any:
        healthy = common_pb2.Healthy
        return milvus_pb2.ComponentStates(
            state=milvus_pb2.ComponentInfo(role="keeldb", state_code=healthy),
            status=common_pb2.Status(),
        )


def _unimplemented(method: Any) -> Callable[..., Any]:
    response_type = message_factory.GetMessageClass(method.output_type)
    name = method.name

    def answer() -> Any:
        return reply(response_type, unimplemented_status(name))

    if method.server_streaming:

        def streaming(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            yield answer()

        return streaming

    def unary(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        return answer()

    return unary


def _install_fallbacks() -> list[str]:
    """Answer every RPC keeldb does not implement with a "not supported" status."""
    missing = []
    for method in _SERVICE.methods:
        if method.name not in KeelServicer.__dict__ and not any(
            method.name in base.__dict__ for base in (DefinitionRpcs, IndexRpcs, DataRpcs)
        ):
            setattr(KeelServicer, method.name, _unimplemented(method))
            missing.append(method.name)
    return missing


UNIMPLEMENTED_RPCS = tuple(_install_fallbacks())
IMPLEMENTED_RPCS = tuple(m.name for m in _SERVICE.methods if m.name not in UNIMPLEMENTED_RPCS)
