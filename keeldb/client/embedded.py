"""``keeldb.Client``: the MilvusClient surface over an embedded data directory.

``Client("./data")`` opens (or creates) a data directory in this process — no
server. One process at a time may open a directory; a second gets
``DataDirLocked``. A client is thread-safe: share one across threads.
``Client("http://host:19530")`` returns a ``RemoteClient`` (``remote.py``) with
the same methods, talking to ``keel serve``.
"""

from __future__ import annotations

from typing import Any

from keeldb.client.boundary import storage_errors_at_boundary
from keeldb.client.data import DataMixin, PinnedSnapshot
from keeldb.client.ddl import DdlMixin
from keeldb.client.iterators import QueryIterator, SearchIterator
from keeldb.client.tuning import TuningMixin
from keeldb.config import Settings
from keeldb.engine.catalog import DEFAULT_DATABASE
from keeldb.engine.database import Engine
from keeldb.errors import Unimplemented
from keeldb.lifecycle import Lifecycle
from keeldb.query.output import resolve_output_fields
from keeldb.query.retrieve import QueryRequest
from keeldb.storage import FileSystem
from keeldb.storage.fs import storage_error


@storage_errors_at_boundary
class Client(DdlMixin, DataMixin, TuningMixin):
    def __new__(cls, uri: str = "./keeldb_data", *args: Any, **kwargs: Any) -> Any:
        """A URI (``http://host:19530``) gives a remote client over ``keel serve``."""
        if cls is Client and isinstance(uri, str) and "://" in uri:
            from keeldb.client.remote import RemoteClient

            return RemoteClient(uri, *args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        uri: str = "./keeldb_data",
        *,
        db_name: str = "",
        sync_mode: str = "fsync",
        settings: Settings | None = None,
        file_system: FileSystem | None = None,
        **kwargs: Any,
    ) -> None:
        """Open ``uri`` (a directory). ``file_system`` swaps the I/O seam (fault tests)."""
        if "://" in uri:
            raise Unimplemented(
                f"remote URIs ({uri}) are served by keeldb.Client itself, not by subclasses",
                hint="call keeldb.Client(uri), or pass a directory path",
            )
        try:
            self._engine = Engine(uri, settings or Settings(sync_mode=sync_mode), file_system)
        except OSError as exc:
            raise storage_error(f"opening data directory '{uri}'", exc) from exc
        self._db_name = db_name or DEFAULT_DATABASE
        self._search_memo = {}
        try:
            self._lifecycle = Lifecycle(self._engine, self)
        except BaseException:
            self._engine.close()
            raise
        if db_name:
            self.use_database(db_name)

    @property
    def path(self) -> str:
        return self._engine.path

    @property
    def lifecycle(self) -> Lifecycle:
        """Models, embedding spaces, versioned collections, evaluation, promotion (keeldb)."""
        return self._lifecycle

    def flush(self, collection_name: str, timeout: float | None = None, **kw: Any) -> None:
        _, coll = self._engine.collection(self._db(kw), collection_name)
        coll.flush()

    def compact(self, collection_name: str, timeout: float | None = None, **kw: Any) -> int:
        """Merge small segments and purge deleted rows now; returns a job id."""
        _, coll = self._engine.collection(self._db(kw), collection_name)
        return coll.compact()

    def get_compaction_state(self, job_id: int, **kw: Any) -> str:
        return "Completed"

    def pin_snapshot(self, collection_name: str, **kw: Any) -> PinnedSnapshot:
        """The collection as of now, for ``query(..., snapshot=...)`` (keeldb extension).

        Reads given the pinned snapshot see exactly the rows that were live when
        it was taken, whatever is written meanwhile; the server pins one per
        pymilvus ``query_iterator`` session so its pages agree.
        """
        entry, coll = self._loaded(collection_name, kw)
        return PinnedSnapshot(entry.collection_id, coll.snapshot())

    def query_iterator(
        self,
        collection_name: str,
        batch_size: int = 1000,
        limit: int = -1,
        filter: str = "",
        output_fields: list[str] | None = None,
        partition_names: list[str] | None = None,
        timeout: float | None = None,
        **kw: Any,
    ) -> QueryIterator:
        entry, coll = self._loaded(collection_name, kw)
        request = QueryRequest(
            output=resolve_output_fields(entry.schema, output_fields, include_pk=True),
            filter=self._filter(entry, filter, kw.get("filter_params")),
            partition_ids=self._partition_ids(entry, partition_names),
        )
        return QueryIterator(coll.snapshot(), request, batch_size, limit)

    def search_iterator(
        self,
        collection_name: str,
        data: Any,
        batch_size: int = 1000,
        filter: str = "",
        limit: int = -1,
        output_fields: list[str] | None = None,
        search_params: dict[str, Any] | None = None,
        timeout: float | None = None,
        partition_names: list[str] | None = None,
        anns_field: str | None = None,
        **kw: Any,
    ) -> SearchIterator:
        entry, coll = self._loaded(collection_name, kw)
        request = self._search_request(
            entry, data, filter, batch_size, output_fields, search_params,
            partition_names, anns_field, kw, check=False,
        )  # fmt: skip
        return SearchIterator(coll.snapshot(), request, batch_size, limit)

    def close(self) -> None:
        self._lifecycle.close()
        self._engine.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
