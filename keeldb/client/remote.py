"""``keeldb.Client("http://host:port")``: the client surface against ``keel serve``.

Switching from embedded to server is a change of path to URI: the remote client
offers the methods of the embedded ``keeldb.Client`` by delegating to pymilvus's
``MilvusClient`` (the same method names, arguments and result shapes — that is
the point of both), and raises keeldb's own exception types, chosen by the
Milvus status code of the error (100 → ``CollectionNotFound``, 101 →
``NotLoaded``, 1100 → ``InvalidArgument``, ...), with the pymilvus exception as
the cause. The keeldb extensions ``wait_for_index`` and
``get_collection_schema`` are implemented over the protocol; ``lifecycle``
(models, re-embedding, evaluation, experiments, promotion, drift) calls the
lifecycle REST endpoints of the same server (``rest_uri=``, default: the gRPC
port + 1, as ``keel serve`` picks it).

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
        self.lifecycle = RemoteLifecycle(kwargs.pop("rest_uri", None) or rest_url_for(uri),
                                         db_name=db_name)  # fmt: skip
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


#: lifecycle replies: 100 is any missing thing (model, experiment, request), 65535 mostly a
#: refused step (a gate, a running experiment) — AlreadyExists shares that code
_LIFECYCLE_ERRORS: dict[int, type[errors.KeelError]] = {
    100: errors.NotFound,
    65535: errors.FailedPrecondition,
}


class RemoteLifecycle:
    """``client.lifecycle`` of a remote client: the lifecycle REST endpoints of ``keel serve``.

    Method names and arguments follow :class:`keeldb.lifecycle.Lifecycle`; results are
    the JSON the server sends (dicts and lists, not dataclasses). Errors come back as
    keeldb exceptions chosen by the reply's code (65535: ``FailedPrecondition``, e.g. a
    gate that blocked a promotion). Uses only the standard library (``urllib``).
    """

    def __init__(self, rest_url: str, db_name: str = "", timeout: float = 600.0) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.db_name = db_name
        self.timeout = timeout

    def _call(self, action: str, *, group: str = "lifecycle/", **body: Any) -> Any:
        import json
        import urllib.request

        payload = {_camel(k): v for k, v in body.items() if v is not None}
        payload.setdefault("dbName", self.db_name)
        request = urllib.request.Request(
            f"{self.rest_url}/v2/vectordb/{group}{action}",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            reply = json.loads(response.read())
        if reply.get("code", 0) != 0:
            cls = _LIFECYCLE_ERRORS.get(reply["code"]) or ERRORS_BY_CODE.get(reply["code"])
            cls = cls or errors.KeelError
            raise cls(reply.get("message", f"{group}{action} failed"))
        return reply.get("data")

    # models
    def models(self) -> list[dict[str, Any]]:
        return self._call("models/list")

    def model(self, ref: str) -> dict[str, Any]:
        return self._call("models/describe", model=ref)

    def set_model_alias(self, model: str, alias: str, version: int | None, reason: str = "") -> Any:
        return self._call("models/alias", model_name=model, alias=alias, version=version,
                          reason=reason)  # fmt: skip

    def register_sentence_transformer(self, model: str, path: str | None = None, **kw: Any) -> Any:
        return self._call("models/register", model_name=model, kind="sentence_transformers",
                          path=path, **kw)  # fmt: skip

    def register_entry_point(self, model: str, entry_point: str, *, dim: int, **kw: Any) -> Any:
        return self._call("models/register", model_name=model, kind="entry_point",
                          entry_point=entry_point, dim=dim, **kw)  # fmt: skip

    def train_tfidf_svd(self, model: str, texts: list[str], *, dim: int = 256, **kw: Any) -> Any:
        return self._call("models/register", model_name=model, kind="tfidf_svd",
                          texts=list(texts), dim=dim, **kw)  # fmt: skip

    # versioned collections
    def create_versioned_collection(
        self, name: str, model: str, schema: CollectionSchema, **kw: Any
    ) -> dict[str, Any]:
        schema_json = CollectionSchema.coerce(schema).to_json()
        return self._call("collections/create", collection_name=name, model=model,
                          schema_json=schema_json, **kw)  # fmt: skip

    def insert(self, name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Insert rows with text and no vector: the server embeds them for every version.

        (pymilvus refuses rows without the vector field before they leave the client,
        so text rows go through the REST insert, which the server's lifecycle fills.)
        """
        return self._call("insert", group="entities/", collection_name=name, data=list(rows))

    def describe(self, name: str) -> dict[str, Any]:
        return self._call("collections/describe", collection_name=name)

    def collection_history(self, name: str) -> list[dict[str, Any]]:
        return self._call("collections/history", collection_name=name)

    def start_reembed(self, name: str, model: str, batch_size: int = 256) -> RemoteReembedJob:
        status = self._call("reembed/start", collection_name=name, model=model,
                            batch_size=batch_size)  # fmt: skip
        return RemoteReembedJob(self, status["job_id"])

    def evaluate(self, name: str, queries: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        return self._call("evaluate", collection_name=name, queries=list(queries), **kw)

    def promote(self, name: str, **kw: Any) -> dict[str, Any]:
        return self._call("promote", collection_name=name, **kw)

    def rollback(self, name: str, reason: str = "") -> dict[str, Any]:
        return self._call("rollback", collection_name=name, reason=reason)

    # online experiments
    def start_experiment(self, name: str, **kw: Any) -> dict[str, Any]:
        return self._call("experiments/start", collection_name=name, **kw)

    def stop_experiment(self, experiment_id: str, reason: str = "") -> dict[str, Any]:
        return self._call("experiments/stop", experiment_id=experiment_id, reason=reason)

    def list_experiments(self, name: str | None = None) -> list[dict[str, Any]]:
        return self._call("experiments/list", collection_name=name)

    def experiment_metrics(self, experiment_id: str) -> dict[str, Any]:
        return self._call("experiments/describe", experiment_id=experiment_id)

    def search(self, name: str, data: str, **kw: Any) -> dict[str, Any]:
        return self._call("search", collection_name=name, data=data, **kw)

    def feedback(
        self, request_id: str, clicked: list[Any] | None = None,
        grades: dict[str, float] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        return self._call("feedback", request_id=request_id, clicked=clicked, grades=grades)

    # drift
    def drift_report(self, name: str, stream: str = "queries") -> dict[str, Any]:
        return self._call("drift", collection_name=name, stream=stream)

    def reset_drift_reference(self, name: str, stream: str = "queries") -> dict[str, Any]:
        return self._call("drift", collection_name=name, stream=stream, reset=True)


class RemoteReembedJob:
    """A re-embedding job on the server; ``status()`` and ``wait()`` poll it."""

    def __init__(self, lifecycle: RemoteLifecycle, job_id: str) -> None:
        self._lifecycle = lifecycle
        self.job_id = job_id

    def status(self) -> dict[str, Any]:
        return self._lifecycle._call("reembed/status", job_id=self.job_id)

    def wait(self, timeout: float | None = None, poll_s: float = 0.2) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.status()
            if status["state"] != "running":
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status
            time.sleep(poll_s)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def rest_url_for(uri: str) -> str:
    """The REST URL ``keel serve`` uses by default beside a gRPC URI: the port + 1."""
    from urllib.parse import urlsplit

    parts = urlsplit(uri if "://" in uri else f"http://{uri}")
    port = (parts.port or 19530) + 1
    return f"http://{parts.hostname or '127.0.0.1'}:{port}"
