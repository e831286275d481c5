"""An open data directory: the catalog, its collections, and DDL.

``Engine`` owns the directory lock (one writer process per directory), the
catalog, the index builder, and the ``Collection`` objects it opens lazily on
first use. DDL is serialised by one lock and each change is committed by
rewriting the catalog atomically before it is visible to anyone.

Names resolve through aliases: wherever a collection name is taken, an alias of
that database works too. ``alter_alias`` swaps the target in one catalog commit.
"""

from __future__ import annotations

import logging
import os
import posixpath
import threading
import time
from typing import Any

from keeldb.config import Settings
from keeldb.engine.catalog import (
    DEFAULT_DATABASE,
    DEFAULT_PARTITION,
    FORMAT,
    CollectionEntry,
    IndexSpec,
)
from keeldb.engine.collection import Collection
from keeldb.engine.index_build import IndexBuilder
from keeldb.engine.index_tuning import same_definition
from keeldb.engine.recovery import open_collection
from keeldb.errors import (
    AliasNotFound,
    AlreadyExists,
    ClosedError,
    CollectionNotFound,
    DatabaseNotFound,
    FailedPrecondition,
    InvalidArgument,
    PartitionNotFound,
    did_you_mean,
)
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.field import validate_name
from keeldb.storage import (
    DirectoryLock,
    FileSystem,
    LocalFileSystem,
    read_checked_json,
    write_checked_json,
)
from keeldb.types import DataType

log = logging.getLogger(__name__)
CATALOG = "catalog.json"
MAX_PARTITIONS = 1024


class Engine:
    def __init__(self, path: str, settings: Settings | None = None, fs: FileSystem | None = None):
        self.path = os.path.abspath(path)
        self.settings = settings or Settings()
        self.fs = fs or LocalFileSystem()
        self.fs.makedirs(self.path)
        self._lock_file = DirectoryLock()
        self._lock_file.acquire(self.path)
        self._ddl = threading.RLock()
        self._open: dict[int, Collection] = {}
        #: bumped by every catalog change, so readers may memoise what they derive from it
        self.catalog_generation = 0
        self.closed = False
        try:
            self._load_catalog()
        except BaseException:
            self._lock_file.release()  # a failed open must not keep the directory locked
            raise
        self.builder = IndexBuilder(background=self.settings.background_index_build)
        self.builder.on_tuned = self.store_tuning

    def _load_catalog(self) -> None:
        catalog = read_checked_json(self.fs, self._catalog_path)
        if catalog is None:
            now = _now_ms()
            catalog = {
                "format": FORMAT,
                "next_collection_id": 1,
                "databases": {
                    DEFAULT_DATABASE: {"created_ms": now, "aliases": {}, "collections": {}}
                },
            }
            self.fs.makedirs(posixpath.join(self.path, "collections"))
            write_checked_json(self.fs, self._catalog_path, catalog)
        self._next_collection_id: int = catalog["next_collection_id"]
        self._databases: dict[str, dict[str, Any]] = {
            name: {
                "created_ms": db["created_ms"],
                "aliases": dict(db["aliases"]),
                "collections": {
                    n: CollectionEntry.from_json(e) for n, e in db["collections"].items()
                },
            }
            for name, db in catalog["databases"].items()
        }

    @property
    def _catalog_path(self) -> str:
        return posixpath.join(self.path, CATALOG)

    def _commit(self) -> None:
        self.catalog_generation += 1  # first: the in-memory catalog has already changed
        body = {
            "format": FORMAT,
            "next_collection_id": self._next_collection_id,
            "databases": {
                name: {
                    "created_ms": db["created_ms"],
                    "aliases": db["aliases"],
                    "collections": {n: e.to_json() for n, e in db["collections"].items()},
                }
                for name, db in self._databases.items()
            },
        }
        write_checked_json(self.fs, self._catalog_path, body)

    # -- databases --------------------------------------------------------------
    def _db(self, db: str) -> dict[str, Any]:
        self._check_open()
        try:
            return self._databases[db or DEFAULT_DATABASE]
        except KeyError:
            raise DatabaseNotFound(
                f"database not found[database={db}]", hint=did_you_mean(db, self._databases)
            ) from None

    def create_database(self, name: str) -> None:
        validate_name(name, "database")
        with self._ddl:
            if name in self._databases:
                raise AlreadyExists(f"database already exist: {name}")
            self._databases[name] = {"created_ms": _now_ms(), "aliases": {}, "collections": {}}
            self._commit()

    def drop_database(self, name: str) -> None:
        with self._ddl:
            db = self._db(name)
            if name == DEFAULT_DATABASE:
                raise InvalidArgument("can not drop default database")
            if db["collections"]:
                raise FailedPrecondition(
                    f"database:{name} not empty, must drop all collections before drop database"
                )
            del self._databases[name]
            self._commit()

    def list_databases(self) -> list[str]:
        return list(self._databases)

    # -- collections ------------------------------------------------------------
    def resolve(self, db: str, name: str) -> CollectionEntry:
        """The catalog entry of a collection, looked up by name or alias."""
        database = self._db(db)
        target = database["aliases"].get(name, name)
        entry = database["collections"].get(target)
        if entry is None:
            candidates = list(database["collections"]) + list(database["aliases"])
            raise CollectionNotFound(
                f"collection not found[database={db or DEFAULT_DATABASE}][collection={name}]",
                hint=did_you_mean(name, candidates),
            )
        return entry

    def collection(self, db: str, name: str) -> tuple[CollectionEntry, Collection]:
        entry = self.resolve(db, name)
        coll = self._open.get(entry.collection_id)
        if coll is None:
            with self._ddl:
                coll = self._open.get(entry.collection_id)
                if coll is None:
                    coll = open_collection(
                        self._collection_root(entry.collection_id),
                        entry.schema,
                        self.fs,
                        self.settings,
                        {s.field: s for s in entry.indexes.values() if _is_vector(entry, s)},
                        self.builder.submit,
                    )
                    coll.set_scalar_indexes(_scalar_index_types(entry))
                    self._open[entry.collection_id] = coll
        return entry, coll

    def _collection_root(self, collection_id: int) -> str:
        return posixpath.join(self.path, "collections", str(collection_id))

    def has_collection(self, db: str, name: str) -> bool:
        return name in self._db(db)["collections"]

    def list_collections(self, db: str) -> list[str]:
        return list(self._db(db)["collections"])

    def create_collection(
        self,
        db: str,
        name: str,
        schema: CollectionSchema,
        *,
        indexes: list[IndexSpec] = (),  # type: ignore[assignment]
        load: bool = False,
        properties: dict[str, Any] | None = None,
        consistency_level: str = "Strong",
        num_partitions: int | None = None,
    ) -> CollectionEntry:
        validate_name(name, "collection")
        with self._ddl:
            database = self._db(db)
            schema.finalize()
            existing = database["collections"].get(name)
            if existing is not None and existing.schema.to_json() == schema.to_json():
                return existing  # Milvus: re-creating with the same schema is a no-op
            if existing is not None or name in database["aliases"]:
                raise AlreadyExists(
                    f"create duplicate collection with different parameters, collection: {name}",
                    hint="drop it first, or pick another name",
                )
            entry = CollectionEntry(
                collection_id=self._next_collection_id,
                name=name,
                schema=schema,
                created_ms=_now_ms(),
                properties=dict(properties or {}),
                consistency_level=consistency_level,
            )
            if schema.partition_key_field is not None:
                count = num_partitions or 16
                entry.num_partitions = count
                entry.partitions = {f"{DEFAULT_PARTITION}_{i}": i for i in range(count)}
                entry.next_partition_id = count
            for spec in indexes:
                entry.indexes[spec.index_name] = spec
            entry.loaded = load
            self._next_collection_id += 1
            database["collections"][name] = entry
            self._commit()
            return entry

    def drop_collection(self, db: str, name: str) -> None:
        with self._ddl:
            database = self._db(db)
            entry = database["collections"].get(name)
            if entry is None:
                return  # Milvus: dropping a missing collection is not an error
            aliases = [a for a, target in database["aliases"].items() if target == name]
            if aliases:
                raise FailedPrecondition(
                    f"cannot drop the collection via alias = {name}"
                    if name in database["aliases"]
                    else f"collection {name} still has aliases {aliases}, drop them first"
                )
            del database["collections"][name]
            self._commit()
            self._forget(entry.collection_id)

    def _forget(self, collection_id: int) -> None:
        coll = self._open.pop(collection_id, None)
        if coll is not None:
            coll.close(flush=False)
        self.fs.remove_tree(self._collection_root(collection_id))

    def rename_collection(self, db: str, old: str, new: str, new_db: str = "") -> None:
        validate_name(new, "collection")
        with self._ddl:
            source = self._db(db)
            target = self._db(new_db or db)
            entry = source["collections"].get(old)
            if entry is None:
                raise CollectionNotFound(f"collection not found[database={db}][collection={old}]")
            if new in target["collections"] or new in target["aliases"]:
                raise AlreadyExists(f"duplicated new collection name {new} with other collection")
            if any(t == old for t in source["aliases"].values()):
                raise FailedPrecondition(f"collection {old} has aliases; drop them before renaming")
            del source["collections"][old]
            entry.name = new
            target["collections"][new] = entry
            self._commit()

    def truncate_collection(self, db: str, name: str) -> None:
        """Remove every row, keeping schema, partitions, indexes and aliases."""
        with self._ddl:
            entry = self.resolve(db, name)
            old_id = entry.collection_id
            entry.collection_id = self._next_collection_id
            self._next_collection_id += 1
            self._commit()
            self._forget(old_id)

    def set_loaded(self, db: str, name: str, loaded: bool) -> None:
        with self._ddl:
            entry = self.resolve(db, name)
            if entry.loaded != loaded:
                entry.loaded = loaded
                self._commit()

    def alter_properties(self, db: str, name: str, properties: dict[str, Any]) -> None:
        with self._ddl:
            self.resolve(db, name).properties.update(properties)
            self._commit()

    # -- partitions --------------------------------------------------------------
    def create_partition(self, db: str, name: str, partition: str) -> None:
        validate_name(partition, "partition")
        with self._ddl:
            entry = self.resolve(db, name)
            if entry.schema.partition_key_field is not None:
                raise InvalidArgument("disable create partition if partition key mode is used")
            if partition in entry.partitions:
                return  # Milvus: creating an existing partition is a no-op
            if len(entry.partitions) >= MAX_PARTITIONS:
                raise InvalidArgument(f"a collection can have at most {MAX_PARTITIONS} partitions")
            entry.partitions[partition] = entry.next_partition_id
            entry.next_partition_id += 1
            self._commit()

    def drop_partition(self, db: str, name: str, partition: str) -> None:
        with self._ddl:
            entry, coll = self.collection(db, name)
            if partition == DEFAULT_PARTITION:
                raise InvalidArgument("default partition cannot be deleted")
            if entry.schema.partition_key_field is not None:
                raise InvalidArgument("disable drop partition if partition key mode is used")
            pid = entry.partitions.get(partition)
            if pid is None:
                return
            coll.drop_partition_rows(pid)
            del entry.partitions[partition]
            self._commit()

    def partition_id(self, entry: CollectionEntry, partition: str) -> int:
        pid = entry.partitions.get(partition)
        if pid is None:
            raise PartitionNotFound(
                f"partition not found[partition={partition}]",
                hint=did_you_mean(partition, entry.partitions),
            )
        return pid

    # -- aliases -----------------------------------------------------------------
    def create_alias(self, db: str, collection: str, alias: str) -> None:
        validate_name(alias, "alias")
        with self._ddl:
            database = self._db(db)
            if collection not in database["collections"]:
                self.resolve(db, collection)  # raises not found with a hint
                raise InvalidArgument(f"cannot create an alias of alias {collection}")
            if alias in database["collections"]:
                raise AlreadyExists(f"alias name {alias} is a collection name")
            current = database["aliases"].get(alias)
            if current is not None and current != collection:
                raise AlreadyExists(
                    f"{alias} is alias to another collection: {current}",
                    hint="use alter_alias to move it",
                )
            database["aliases"][alias] = collection
            self._commit()

    def alter_alias(self, db: str, collection: str, alias: str) -> None:
        with self._ddl:
            database = self._db(db)
            if collection not in database["collections"]:
                self.resolve(db, collection)
            if alias not in database["aliases"]:
                raise AliasNotFound(f"alias not found[database={db}][alias={alias}]")
            database["aliases"][alias] = collection
            self._commit()

    def drop_alias(self, db: str, alias: str) -> None:
        with self._ddl:
            database = self._db(db)
            if database["aliases"].pop(alias, None) is not None:
                self._commit()

    def describe_alias(self, db: str, alias: str) -> str:
        target = self._db(db)["aliases"].get(alias)
        if target is None:
            raise AliasNotFound(f"alias not found[database={db}][alias={alias}]")
        return target

    def list_aliases(self, db: str, collection: str = "") -> list[str]:
        aliases = self._db(db)["aliases"]
        return [a for a, t in aliases.items() if not collection or t == collection]

    # -- indexes -------------------------------------------------------------------
    def add_index(self, db: str, name: str, spec: IndexSpec) -> None:
        with self._ddl:
            entry, coll = self.collection(db, name)
            existing = entry.indexes.get(spec.index_name)
            same_field = next((s for s in entry.indexes.values() if s.field == spec.field), None)
            if existing is not None and existing != spec:
                raise AlreadyExists(
                    f"at most one distinct index is allowed per field; index {spec.index_name} "
                    "already exists with different parameters",
                    hint="drop_index first to change it",
                )
            if same_field is not None and same_field != spec:
                raise AlreadyExists(
                    f"CreateIndex failed: at most one distinct index is allowed per field "
                    f"(field {spec.field} already has index {same_field.index_name})",
                    hint="drop_index first to change it",
                )
            entry.indexes[spec.index_name] = spec
            self._commit()
            if _is_vector(entry, spec):
                for segment_id in coll.set_index_spec(spec.field, spec):
                    self.builder.submit(coll, segment_id)
            else:
                coll.set_scalar_indexes(_scalar_index_types(entry))

    def store_tuning(self, coll: Collection, spec: IndexSpec) -> bool:
        """Store a tuned spec (see keeldb.engine.index_tuning) unless the index changed since.

        Segments whose build the tuning changed are rebuilt; they keep serving
        their current index until then. False when the result was stale.
        """
        with self._ddl:
            entry = next(
                (
                    e
                    for database in self._databases.values()
                    for e in database["collections"].values()
                    if self._open.get(e.collection_id) is coll
                ),
                None,
            )
            current = entry.indexes.get(spec.index_name) if entry is not None else None
            if current is None or not same_definition(current, spec):
                return False
            entry.indexes[spec.index_name] = spec  # type: ignore[union-attr]
            self._commit()
            for segment_id in coll.set_index_spec(spec.field, spec, keep_serving=True):
                self.builder.submit(coll, segment_id)
            return True

    def drop_index(self, db: str, name: str, index_name: str) -> None:
        with self._ddl:
            entry, coll = self.collection(db, name)
            spec = entry.indexes.get(index_name)
            if spec is None:
                return
            if entry.loaded and _is_vector(entry, spec):
                raise FailedPrecondition(
                    "index cannot be dropped, collection is loaded, please release it first"
                )
            del entry.indexes[index_name]
            self._commit()
            if _is_vector(entry, spec):
                coll.set_index_spec(spec.field, None)
            else:
                coll.set_scalar_indexes(_scalar_index_types(entry))

    # -- lifecycle -------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise ClosedError("the keeldb client is closed")

    def close(self) -> None:
        with self._ddl:
            if self.closed:
                return
            self.closed = True
            self.builder.close()
            for coll in self._open.values():
                try:
                    coll.close()
                except Exception:  # keep closing the others; the WAL still has the data
                    log.exception("closing collection at %s failed", coll.root)
            self._open.clear()
            self._lock_file.release()


def _scalar_index_types(entry: CollectionEntry) -> dict[str, str]:
    """Indexable scalar fields with an index spec -> the spec's index type.

    INT*, FLOAT, DOUBLE, VARCHAR and BOOL fields get an in-memory index; specs on
    JSON and ARRAY fields are kept in the catalog but have no index yet.
    """
    out = {}
    for spec in entry.indexes.values():
        dtype = entry.schema.field(spec.field).dtype
        if dtype.is_numeric or dtype.is_string or dtype == DataType.BOOL:
            out[spec.field] = spec.index_type
    return out


def _is_vector(entry: CollectionEntry, spec: IndexSpec) -> bool:
    return entry.schema.field(spec.field).is_vector


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
