"""Definition RPCs: collections, load state, partitions, aliases, databases, maintenance.

Each handler decodes its request, calls the one shared ``keeldb.Client`` (which
is thread-safe and does all validation) with the request's database as
``db_name``, and encodes the answer the way pymilvus reads it. Errors are turned
into statuses by :func:`keeldb.server.status.rpc`.
"""

from __future__ import annotations

from typing import Any

from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

from keeldb.client.embedded import Client
from keeldb.errors import CollectionNotFound, NotLoaded, Unimplemented
from keeldb.server import schema_codec
from keeldb.server.clock import HybridClock
from keeldb.server.status import rpc
from keeldb.types import LoadState

Status = common_pb2.Status


def _stats(values: dict[str, Any]) -> list[common_pb2.KeyValuePair]:
    return [common_pb2.KeyValuePair(key=k, value=str(v)) for k, v in values.items()]


class DefinitionRpcs:
    _client: Client
    _clock: HybridClock

    # -- collections ---------------------------------------------------------------
    @rpc(Status)
    def CreateCollection(self, request: Any, db: str) -> None:
        schema = schema_codec.decode_schema(request.schema)
        self._client.create_collection(
            request.collection_name,
            schema=schema,
            consistency_level=schema_codec.consistency_name(request.consistency_level),
            properties=schema_codec.properties_of(request.properties) or None,
            num_partitions=request.num_partitions or None,
            db_name=db,
        )

    @rpc(Status)
    def DropCollection(self, request: Any, db: str) -> None:
        self._client.drop_collection(request.collection_name, db_name=db)

    @rpc(milvus_pb2.BoolResponse)
    def HasCollection(self, request: Any, db: str) -> Any:
        found = self._client.has_collection(request.collection_name, db_name=db)
        return milvus_pb2.BoolResponse(status=Status(), value=found)

    @rpc(milvus_pb2.DescribeCollectionResponse)
    def DescribeCollection(self, request: Any, db: str) -> Any:
        name = request.collection_name or self._name_of_id(request.collectionID, db)
        try:
            desc = self._client.describe_collection(name, db_name=db)
        except CollectionNotFound as exc:
            # Milvus's wording for describe, which pymilvus's has_collection matches on
            status = Status(
                code=exc.code,
                error_code=common_pb2.UnexpectedError,
                reason=f"can't find collection[database={db or 'default'}][collection={name}]",
            )
            return milvus_pb2.DescribeCollectionResponse(status=status)
        return schema_codec.encode_describe(desc, db or "default")

    def _name_of_id(self, collection_id: int, db: str) -> str:
        for name in self._client.list_collections(db_name=db):
            if self._client.describe_collection(name, db_name=db)["collection_id"] == collection_id:
                return name
        raise CollectionNotFound(
            f"collection not found[database={db or 'default'}][collection={collection_id}]"
        )

    @rpc(milvus_pb2.ShowCollectionsResponse)
    def ShowCollections(self, request: Any, db: str) -> Any:
        names = self._client.list_collections(db_name=db)
        if request.collection_names:
            names = [n for n in names if n in set(request.collection_names)]
        out = milvus_pb2.ShowCollectionsResponse(status=Status())
        for name in names:
            desc = self._client.describe_collection(name, db_name=db)
            loaded = self._client.get_load_state(name, db_name=db)["state"] == LoadState.Loaded
            out.collection_names.append(name)
            out.collection_ids.append(desc["collection_id"])
            out.created_timestamps.append(desc["created_timestamp"])
            out.created_utc_timestamps.append(desc["created_timestamp"] >> 18)
            out.inMemory_percentages.append(100 if loaded else 0)
            out.query_service_available.append(loaded)
            out.shards_num.append(1)
        return out

    @rpc(Status)
    def RenameCollection(self, request: Any, db: str) -> None:
        self._client.rename_collection(
            request.oldName, request.newName, request.newDBName, db_name=db
        )

    @rpc(milvus_pb2.TruncateCollectionResponse)
    def TruncateCollection(self, request: Any, db: str) -> None:
        self._client.truncate_collection(request.collection_name, db_name=db)

    @rpc(Status)
    def AlterCollection(self, request: Any, db: str) -> None:
        if request.delete_keys:
            raise Unimplemented("dropping collection properties is not supported yet")
        props = schema_codec.properties_of(request.properties)
        self._client.alter_collection_properties(request.collection_name, props, db_name=db)

    @rpc(milvus_pb2.GetCollectionStatisticsResponse)
    def GetCollectionStatistics(self, request: Any, db: str) -> Any:
        stats = self._client.get_collection_stats(request.collection_name, db_name=db)
        return milvus_pb2.GetCollectionStatisticsResponse(status=Status(), stats=_stats(stats))

    # -- load state ------------------------------------------------------------------
    @rpc(Status)
    def LoadCollection(self, request: Any, db: str) -> None:
        self._client.load_collection(request.collection_name, db_name=db)

    @rpc(Status)
    def ReleaseCollection(self, request: Any, db: str) -> None:
        self._client.release_collection(request.collection_name, db_name=db)

    @rpc(Status)
    def LoadPartitions(self, request: Any, db: str) -> None:
        names = list(request.partition_names)
        self._client.load_partitions(request.collection_name, names, db_name=db)

    @rpc(Status)
    def ReleasePartitions(self, request: Any, db: str) -> None:
        names = list(request.partition_names)
        self._client.release_partitions(request.collection_name, names, db_name=db)

    @rpc(milvus_pb2.GetLoadStateResponse)
    def GetLoadState(self, request: Any, db: str) -> Any:
        partition = request.partition_names[0] if request.partition_names else ""
        state = self._client.get_load_state(request.collection_name, partition, db_name=db)
        return milvus_pb2.GetLoadStateResponse(status=Status(), state=int(state["state"]))

    @rpc(milvus_pb2.GetLoadingProgressResponse)
    def GetLoadingProgress(self, request: Any, db: str) -> Any:
        partition = request.partition_names[0] if request.partition_names else ""
        state = self._client.get_load_state(request.collection_name, partition, db_name=db)
        if state["state"] == LoadState.NotExist:
            self._client.describe_collection(request.collection_name, db_name=db)  # raises 100
        if state["state"] != LoadState.Loaded:
            raise NotLoaded(f"collection not loaded[collection={request.collection_name}]")
        return milvus_pb2.GetLoadingProgressResponse(
            status=Status(), progress=100, refresh_progress=100
        )

    # -- partitions ------------------------------------------------------------------
    @rpc(Status)
    def CreatePartition(self, request: Any, db: str) -> None:
        self._client.create_partition(request.collection_name, request.partition_name, db_name=db)

    @rpc(Status)
    def DropPartition(self, request: Any, db: str) -> None:
        self._client.drop_partition(request.collection_name, request.partition_name, db_name=db)

    @rpc(milvus_pb2.BoolResponse)
    def HasPartition(self, request: Any, db: str) -> Any:
        found = self._client.has_partition(
            request.collection_name, request.partition_name, db_name=db
        )
        return milvus_pb2.BoolResponse(status=Status(), value=found)

    @rpc(milvus_pb2.ShowPartitionsResponse)
    def ShowPartitions(self, request: Any, db: str) -> Any:
        name = request.collection_name
        desc = self._client.describe_collection(name, db_name=db)
        loaded = self._client.get_load_state(name, db_name=db)["state"] == LoadState.Loaded
        names = self._client.list_partitions(name, db_name=db)
        return milvus_pb2.ShowPartitionsResponse(
            status=Status(),
            partition_names=names,
            partitionIDs=[desc["collection_id"] * 10_000 + i for i in range(len(names))],
            created_timestamps=[desc["created_timestamp"]] * len(names),
            created_utc_timestamps=[desc["created_timestamp"] >> 18] * len(names),
            inMemory_percentages=[100 if loaded else 0] * len(names),
        )

    @rpc(milvus_pb2.GetPartitionStatisticsResponse)
    def GetPartitionStatistics(self, request: Any, db: str) -> Any:
        stats = self._client.get_partition_stats(
            request.collection_name, request.partition_name, db_name=db
        )
        return milvus_pb2.GetPartitionStatisticsResponse(status=Status(), stats=_stats(stats))

    # -- aliases ---------------------------------------------------------------------
    @rpc(Status)
    def CreateAlias(self, request: Any, db: str) -> None:
        self._client.create_alias(request.collection_name, request.alias, db_name=db)

    @rpc(Status)
    def AlterAlias(self, request: Any, db: str) -> None:
        self._client.alter_alias(request.collection_name, request.alias, db_name=db)

    @rpc(Status)
    def DropAlias(self, request: Any, db: str) -> None:
        self._client.drop_alias(request.alias, db_name=db)

    @rpc(milvus_pb2.DescribeAliasResponse)
    def DescribeAlias(self, request: Any, db: str) -> Any:
        info = self._client.describe_alias(request.alias, db_name=db)
        return milvus_pb2.DescribeAliasResponse(
            status=Status(),
            db_name=info["db_name"],
            alias=info["alias"],
            collection=info["collection_name"],
        )

    @rpc(milvus_pb2.ListAliasesResponse)
    def ListAliases(self, request: Any, db: str) -> Any:
        info = self._client.list_aliases(request.collection_name, db_name=db)
        return milvus_pb2.ListAliasesResponse(
            status=Status(),
            db_name=info["db_name"],
            collection_name=request.collection_name,
            aliases=info["aliases"],
        )

    # -- databases -------------------------------------------------------------------
    @rpc(Status)
    def CreateDatabase(self, request: Any, db: str) -> None:
        self._client.create_database(request.db_name)

    @rpc(Status)
    def DropDatabase(self, request: Any, db: str) -> None:
        self._client.drop_database(request.db_name)

    @rpc(milvus_pb2.ListDatabasesResponse)
    def ListDatabases(self, request: Any, db: str) -> Any:
        names = self._client.list_databases()
        return milvus_pb2.ListDatabasesResponse(
            status=Status(),
            db_names=names,
            db_ids=list(range(1, len(names) + 1)),
            created_timestamp=[0] * len(names),
        )

    @rpc(milvus_pb2.DescribeDatabaseResponse)
    def DescribeDatabase(self, request: Any, db: str) -> Any:
        name = request.db_name or "default"
        self._client.list_collections(db_name=name)  # raises DatabaseNotFound (800)
        db_id = self._client.list_databases().index(name) + 1
        return milvus_pb2.DescribeDatabaseResponse(status=Status(), db_name=name, dbID=db_id)

    # -- maintenance -----------------------------------------------------------------
    @rpc(milvus_pb2.FlushResponse)
    def Flush(self, request: Any, db: str) -> Any:
        out = milvus_pb2.FlushResponse(status=Status(), db_name=db or "default")
        for name in request.collection_names:
            self._client.flush(name, db_name=db)
            out.coll_segIDs[name].CopyFrom(schema_pb2.LongArray())
            out.flush_coll_segIDs[name].CopyFrom(schema_pb2.LongArray())
            out.coll_flush_ts[name] = self._clock.now()
        return out

    @rpc(milvus_pb2.GetFlushStateResponse)
    def GetFlushState(self, request: Any, db: str) -> Any:
        # Flush is synchronous: by the time a client asks, the data is flushed.
        return milvus_pb2.GetFlushStateResponse(status=Status(), flushed=True)

    @rpc(milvus_pb2.ManualCompactionResponse)
    def ManualCompaction(self, request: Any, db: str) -> Any:
        name = request.collection_name or self._name_of_id(request.collectionID, db)
        job = self._client.compact(name, db_name=db)
        return milvus_pb2.ManualCompactionResponse(
            status=Status(), compactionID=job, compactionPlanCount=1
        )

    @rpc(milvus_pb2.GetCompactionStateResponse)
    def GetCompactionState(self, request: Any, db: str) -> Any:
        # Compaction runs inside ManualCompaction, so every job is complete.
        return milvus_pb2.GetCompactionStateResponse(
            status=Status(), state=common_pb2.Completed, completedPlanNo=1
        )
