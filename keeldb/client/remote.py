"""``keeldb.Client("http://host:port")``: the client surface against ``keel serve``.

Switching from embedded to server is a change of path to URI: the remote client
offers the methods of the embedded ``keeldb.Client`` by delegating to pymilvus's
``MilvusClient`` (the same method names, arguments and result shapes — that is
the point of both), and raises keeldb's own exception types, chosen by the
Milvus status code of the error (100 → ``CollectionNotFound``, 101 →
``NotLoaded``, 1100 → ``InvalidArgument``, ...), with the pymilvus exception as
the cause. The keeldb extensions ``wait_for_index`` and
``get_collection_schema`` are implemented over the protocol.

pymilvus is needed only for this path: ``pip install 'keeldb[remote]'``.
"""

from __future__ import annotations

import functools
import time
from types import SimpleNamespace
from typing import Any

from keeldb import errors
from keeldb.schema.collection import CollectionSchema

#: Milvus status code → the keeldb error raised for it
ERRORS_BY_CODE: dict[int, type[errors.KeelError]] = {
    8: errors.ResourceExhausted,
    10: errors.Unimplemented,
    100: errors.CollectionNotFound,
    101: errors.NotLoaded,
    200: errors.PartitionNotFound,
    700: errors.IndexNotFound,
    800: errors.DatabaseNotFound,
    1100: errors.InvalidArgument,
    1600: errors.AliasNotFound,
}


class RemoteClient:
    """A ``keeldb.Client`` look-alike talking to a server over the Milvus protocol."""

    def __init__(
        self,
        uri: str,
        *,
        db_name: str = "",
        token: str = "",
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            from pymilvus import MilvusClient, MilvusException
        except ImportError as exc:
            raise errors.Unimplemented(
                f"connecting to {uri} needs pymilvus",
                hint="pip install 'keeldb[remote]'",
            ) from exc
        self._milvus_error = MilvusException
        kwargs.pop("sync_mode", None)  # a server setting; meaningless for a remote client
        kwargs.pop("settings", None)
        self.uri = uri
        try:
            self._milvus = MilvusClient(
                uri=uri, db_name=db_name, token=token, timeout=timeout, **kwargs
            )
        except MilvusException as exc:
            raise _translate(exc) from exc

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._milvus, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except self._milvus_error as exc:
                raise _translate(exc) from exc

        return call

    def get_collection_schema(self, collection_name: str, **kw: Any) -> CollectionSchema:
        """The collection's schema as a keeldb ``CollectionSchema`` (keeldb extension)."""
        desc = self.describe_collection(collection_name, **kw)
        schema = CollectionSchema.coerce(SimpleNamespace(to_dict=lambda: desc))
        return schema.finalize()

    def wait_for_index(self, collection_name: str, timeout: float | None = None, **kw: Any) -> bool:
        """Block until every index of the collection is built (keeldb extension)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            names = self.list_indexes(collection_name, **kw)
            states = [self.describe_index(collection_name, n, **kw) for n in names]
            if all(s is None or s.get("state", "Finished") == "Finished" for s in states):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.2)

    def close(self) -> None:
        self._milvus.close()

    def __enter__(self) -> RemoteClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteClient({self.uri!r})"


def _translate(exc: Any) -> errors.KeelError:
    """The keeldb error for a pymilvus ``MilvusException``."""
    code = getattr(exc, "code", 1)
    message = getattr(exc, "message", str(exc))
    cls = ERRORS_BY_CODE.get(code)
    if cls is None and type(exc).__name__ in ("ParamError", "DataNotMatchException"):
        cls = errors.InvalidArgument
    error = (cls or errors.KeelError)(message)
    if cls is None:
        error.code = code  # keep the server's code on the generic error
    return error
