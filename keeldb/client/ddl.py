"""Collection, partition, alias, index and database calls of ``keeldb.Client``.

Method names, arguments, defaults and result shapes follow pymilvus's
``MilvusClient``. ``timeout`` is accepted everywhere for compatibility; embedded
calls do not wait on a network.
"""

from __future__ import annotations

from typing import Any

from keeldb.client.index_params import IndexParams, index_entries
from keeldb.engine.catalog import IndexSpec
from keeldb.engine.database import Engine
from keeldb.engine.index_tuning import same_definition
from keeldb.errors import IndexNotFound, IndexParamError, InvalidArgument, SchemaError
from keeldb.index.field_index import check_metric, create_field_index, default_metric
from keeldb.index.tuning_params import RESULT_KEYS, without_results
from keeldb.schema.collection import CollectionSchema
from keeldb.types import DataType, LoadState

CONSISTENCY_LEVELS = {"Strong": 0, "Session": 1, "Bounded": 2, "Eventually": 3, "Customized": 4}
_AUTO_INDEX = "AUTOINDEX"


class DdlMixin:
    _engine: Engine
    _db_name: str

    # -- schema helpers ------------------------------------------------------
    @staticmethod
    def create_schema(**kwargs: Any) -> CollectionSchema:
        return CollectionSchema(**kwargs)

    @staticmethod
    def prepare_index_params(field_name: str = "", **kwargs: Any) -> IndexParams:
        return IndexParams(field_name, **kwargs)

    # -- collections ---------------------------------------------------------
    def create_collection(
        self,
        collection_name: str,
        dimension: int | None = None,
        primary_field_name: str = "id",
        id_type: str = "int",
        vector_field_name: str = "vector",
        metric_type: str = "COSINE",
        auto_id: bool = False,
        timeout: float | None = None,
        schema: Any = None,
        index_params: Any = None,
        **kwargs: Any,
    ) -> None:
        consistency = _consistency_name(kwargs.get("consistency_level", "Bounded"))
        if schema is None:
            if dimension is None:
                raise SchemaError(
                    "create_collection needs either dimension= (quick setup) or schema=",
                )
            schema = _quick_schema(
                dimension, primary_field_name, id_type, vector_field_name, auto_id, kwargs
            )
            index_params = IndexParams()
            index_params.add_index(vector_field_name, _AUTO_INDEX, metric_type=metric_type)
        else:
            schema = CollectionSchema.coerce(schema)
            if "enable_dynamic_field" in kwargs:
                schema.enable_dynamic_field = bool(kwargs["enable_dynamic_field"])
            if auto_id and not schema.auto_id:
                schema.auto_id = True
        schema.finalize()
        specs = [_index_spec(schema, e) for e in index_entries(index_params)]
        self._engine.create_collection(
            self._db(kwargs),
            collection_name,
            schema,
            indexes=specs,
            load=bool(specs) and _all_vectors_indexed(schema, specs),
            properties=kwargs.get("properties"),
            consistency_level=consistency,
            num_partitions=kwargs.get("num_partitions"),
        )

    def drop_collection(
        self, collection_name: str, timeout: float | None = None, **kw: Any
    ) -> None:
        self._engine.drop_collection(self._db(kw), collection_name)

    def has_collection(self, collection_name: str, timeout: float | None = None, **kw: Any) -> bool:
        return self._engine.has_collection(self._db(kw), collection_name)

    def list_collections(self, **kw: Any) -> list[str]:
        return self._engine.list_collections(self._db(kw))

    def describe_collection(
        self, collection_name: str, timeout: float | None = None, **kw: Any
    ) -> dict[str, Any]:
        db = self._db(kw)
        entry = self._engine.resolve(db, collection_name)
        return {
            "collection_name": entry.name,
            "auto_id": entry.schema.auto_id,
            "num_shards": 1,
            "description": entry.schema.description,
            "fields": [f.to_dict() for f in entry.schema.fields],
            "functions": [],
            "aliases": self._engine.list_aliases(db, entry.name),
            "collection_id": entry.collection_id,
            "consistency_level": CONSISTENCY_LEVELS.get(entry.consistency_level, 0),
            "consistency_level_name": entry.consistency_level,
            "properties": dict(entry.properties),
            "num_partitions": len(entry.partitions),
            "enable_dynamic_field": entry.schema.enable_dynamic_field,
            "enable_namespace": False,
            "schema_version": 0,
            "created_timestamp": entry.created_ms << 18,
            "update_timestamp": entry.created_ms << 18,
        }

    def get_collection_schema(self, collection_name: str, **kw: Any) -> CollectionSchema:
        """The collection's schema object, resolved through aliases (keeldb extension).

        Treat it as read-only: the server uses it to decode and encode wire data.
        """
        return self._engine.resolve(self._db(kw), collection_name).schema

    def rename_collection(
        self,
        old_name: str,
        new_name: str,
        target_db: str = "",
        timeout: float | None = None,
        **kw: Any,
    ) -> None:
        self._engine.rename_collection(self._db(kw), old_name, new_name, target_db)

    def truncate_collection(
        self, collection_name: str, timeout: float | None = None, **kw: Any
    ) -> None:
        self._engine.truncate_collection(self._db(kw), collection_name)

    def get_collection_stats(
        self, collection_name: str, timeout: float | None = None, **kw: Any
    ) -> dict[str, int]:
        _, coll = self._engine.collection(self._db(kw), collection_name)
        return {"row_count": coll.stats()["row_count"]}

    def alter_collection_properties(
        self, collection_name: str, properties: dict, **kw: Any
    ) -> None:
        self._engine.alter_properties(self._db(kw), collection_name, properties)

    # -- load state ----------------------------------------------------------
    def load_collection(
        self, collection_name: str, timeout: float | None = None, **kw: Any
    ) -> None:
        db = self._db(kw)
        entry, _ = self._engine.collection(db, collection_name)
        missing = [f.name for f in entry.schema.vector_fields if entry.vector_index(f.name) is None]
        if missing:
            raise IndexNotFound(
                f"index not found[collection={entry.name}]",
                hint=f"create an index on {', '.join(missing)} before loading",
            )
        self._engine.set_loaded(db, collection_name, True)

    def release_collection(
        self, collection_name: str, timeout: float | None = None, **kw: Any
    ) -> None:
        self._engine.set_loaded(self._db(kw), collection_name, False)

    def get_load_state(
        self,
        collection_name: str,
        partition_name: str = "",
        timeout: float | None = None,
        **kw: Any,
    ) -> dict[str, LoadState]:
        db = self._db(kw)
        if not self._engine.has_collection(db, collection_name):
            try:
                self._engine.resolve(db, collection_name)
            except Exception:
                return {"state": LoadState.NotExist}
        entry = self._engine.resolve(db, collection_name)
        if partition_name:
            self._engine.partition_id(entry, partition_name)
        return {"state": LoadState.Loaded if entry.loaded else LoadState.NotLoad}

    def load_partitions(self, collection_name: str, partition_names: Any, **kw: Any) -> None:
        self.load_collection(collection_name, **kw)

    def release_partitions(self, collection_name: str, partition_names: Any, **kw: Any) -> None:
        """Partitions are not loaded separately yet: a no-op that checks the names."""
        entry = self._engine.resolve(self._db(kw), collection_name)
        for name in _as_list(partition_names):
            self._engine.partition_id(entry, name)

    # -- partitions ----------------------------------------------------------
    def create_partition(
        self, collection_name: str, partition_name: str, timeout: float | None = None, **kw: Any
    ) -> None:
        self._engine.create_partition(self._db(kw), collection_name, partition_name)

    def drop_partition(
        self, collection_name: str, partition_name: str, timeout: float | None = None, **kw: Any
    ) -> None:
        self._engine.drop_partition(self._db(kw), collection_name, partition_name)

    def has_partition(
        self, collection_name: str, partition_name: str, timeout: float | None = None, **kw: Any
    ) -> bool:
        return partition_name in self._engine.resolve(self._db(kw), collection_name).partitions

    def list_partitions(
        self, collection_name: str, timeout: float | None = None, **kw: Any
    ) -> list[str]:
        return list(self._engine.resolve(self._db(kw), collection_name).partitions)

    def get_partition_stats(
        self, collection_name: str, partition_name: str, timeout: float | None = None, **kw: Any
    ) -> dict[str, int]:
        from keeldb.query.output import resolve_output_fields
        from keeldb.query.retrieve import QueryRequest, execute_count

        entry, coll = self._engine.collection(self._db(kw), collection_name)
        pid = self._engine.partition_id(entry, partition_name)
        request = QueryRequest(
            output=resolve_output_fields(entry.schema, [], include_pk=True),
            partition_ids=frozenset({pid}),
        )
        return {"row_count": execute_count(coll.snapshot(), request)}

    # -- aliases -------------------------------------------------------------
    def create_alias(
        self, collection_name: str, alias: str, timeout: float | None = None, **kw: Any
    ) -> None:
        self._engine.create_alias(self._db(kw), collection_name, alias)

    def alter_alias(
        self, collection_name: str, alias: str, timeout: float | None = None, **kw: Any
    ) -> None:
        self._engine.alter_alias(self._db(kw), collection_name, alias)

    def drop_alias(self, alias: str, timeout: float | None = None, **kw: Any) -> None:
        self._engine.drop_alias(self._db(kw), alias)

    def describe_alias(self, alias: str, timeout: float | None = None, **kw: Any) -> dict[str, str]:
        db = self._db(kw)
        return {
            "alias": alias,
            "collection_name": self._engine.describe_alias(db, alias),
            "db_name": db,
        }

    def list_aliases(
        self, collection_name: str = "", timeout: float | None = None, **kw: Any
    ) -> dict[str, Any]:
        db = self._db(kw)
        return {
            "aliases": self._engine.list_aliases(db, collection_name),
            "collection_name": collection_name,
            "db_name": db,
        }

    # -- indexes -------------------------------------------------------------
    def create_index(
        self, collection_name: str, index_params: Any, timeout: float | None = None, **kw: Any
    ) -> None:
        db = self._db(kw)
        entry = self._engine.resolve(db, collection_name)
        for raw in index_entries(index_params):
            spec = _index_spec(entry.schema, raw)
            existing = entry.indexes.get(spec.index_name)
            if existing is not None and same_definition(existing, spec):
                continue  # re-creating an index is a no-op; it keeps its tuning results
            self._engine.add_index(db, collection_name, spec)

    def drop_index(
        self, collection_name: str, index_name: str, timeout: float | None = None, **kw: Any
    ) -> None:
        self._engine.drop_index(self._db(kw), collection_name, index_name)

    def list_indexes(self, collection_name: str, field_name: str = "", **kw: Any) -> list[str]:
        entry = self._engine.resolve(self._db(kw), collection_name)
        return [n for n, s in entry.indexes.items() if not field_name or s.field == field_name]

    def describe_index(
        self, collection_name: str, index_name: str, timeout: float | None = None, **kw: Any
    ) -> dict[str, Any] | None:
        entry, coll = self._engine.collection(self._db(kw), collection_name)
        spec = entry.indexes.get(index_name)
        if spec is None:
            return None  # pymilvus's MilvusClient answers a missing index with None
        # Build params are strings, as Milvus shows them; tuning results keep their types.
        out: dict[str, Any] = {k: v if k in RESULT_KEYS else str(v) for k, v in spec.params.items()}
        out.update(
            index_type=spec.index_type,
            metric_type=spec.metric_type,
            field_name=spec.field,
            index_name=spec.index_name,
        )
        if entry.schema.field(spec.field).is_vector:
            indexed, total = coll.index_progress(spec.field)
            failure = self._engine.builder.failures.get((coll.root, spec.field))
            out.update(
                total_rows=total,
                indexed_rows=indexed,
                pending_index_rows=total - indexed,
                state="Failed" if failure else ("Finished" if indexed >= total else "InProgress"),
            )
            if failure:
                out["index_state_fail_reason"] = failure
        return out

    def wait_for_index(self, collection_name: str, timeout: float | None = None, **kw: Any) -> bool:
        """Block until background index builds are done (keeldb extension)."""
        self._engine.resolve(self._db(kw), collection_name)
        return self._engine.builder.wait_idle(timeout)

    # -- databases -----------------------------------------------------------
    def create_database(self, db_name: str, **kw: Any) -> None:
        self._engine.create_database(db_name)

    def drop_database(self, db_name: str, **kw: Any) -> None:
        self._engine.drop_database(db_name)

    def list_databases(self, **kw: Any) -> list[str]:
        return self._engine.list_databases()

    def use_database(self, db_name: str, **kw: Any) -> None:
        self._engine.list_collections(db_name)  # raises DatabaseNotFound with a hint
        self._db_name = db_name

    using_database = use_database

    def _db(self, kw: dict[str, Any]) -> str:
        return kw.get("db_name") or self._db_name


def _quick_schema(
    dimension: int, pk_name: str, id_type: str, vector_name: str, auto_id: bool, kw: dict[str, Any]
) -> CollectionSchema:
    schema = CollectionSchema(
        auto_id=auto_id, enable_dynamic_field=kw.get("enable_dynamic_field", True)
    )
    kind = str(id_type).lower()
    if kind in ("int", "int64"):
        schema.add_field(pk_name, DataType.INT64, is_primary=True, auto_id=auto_id)
    elif kind in ("str", "string", "varchar"):
        schema.add_field(
            pk_name, DataType.VARCHAR, is_primary=True, auto_id=auto_id,
            max_length=kw.get("max_length", 65_535),
        )  # fmt: skip
    else:
        raise SchemaError(f"id_type must be 'int' or 'string', got {id_type!r}")
    schema.add_field(vector_name, DataType.FLOAT_VECTOR, dim=dimension)
    return schema


def _index_spec(schema: CollectionSchema, raw: dict[str, Any]) -> IndexSpec:
    field = schema.field(raw["field_name"])
    index_type = (raw["index_type"] or _AUTO_INDEX).upper()
    params = without_results(raw["params"])  # tuning results are keeldb's to write
    if field.is_vector:
        metric = check_metric(field.dtype, raw["metric_type"] or default_metric(field.dtype)).value
        # validates the index type for the field's type and the parameters
        create_field_index(field.dtype, index_type, metric, field.dim or 0, params)
    else:
        metric = ""
        if index_type not in ("INVERTED", "STL_SORT", "TRIE", "BITMAP", _AUTO_INDEX):
            raise IndexParamError(
                f"index type {index_type} is not valid for scalar field '{field.name}'",
                hint="use INVERTED, STL_SORT, TRIE, BITMAP or AUTOINDEX",
            )
    return IndexSpec(
        field=field.name,
        index_name=raw["index_name"] or field.name,
        index_type=index_type,
        metric_type=metric,
        params=params,
    )


def _all_vectors_indexed(schema: CollectionSchema, specs: list[IndexSpec]) -> bool:
    indexed = {s.field for s in specs}
    return all(f.name in indexed for f in schema.vector_fields)


def _consistency_name(level: Any) -> str:
    if isinstance(level, int):
        for name, value in CONSISTENCY_LEVELS.items():
            if value == level:
                return name
    name = str(level).capitalize()
    if name not in CONSISTENCY_LEVELS:
        raise InvalidArgument(
            f"invalid consistency level {level!r}",
            hint="use Strong, Session, Bounded or Eventually",
        )
    return name


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
