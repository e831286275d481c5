"""Errors to Milvus ``Status`` messages: the one place the server translates errors.

Wire rule (docs/milvus-behaviour.md §0): an application error travels inside the
response's ``status`` while the gRPC call itself succeeds. A gRPC error code
would make pymilvus retry for minutes. So every handler runs inside
:func:`rpc`, which catches

- :class:`~keeldb.errors.KeelError` → ``Status(code=err.code, reason=message,
  error_code=<legacy code>)``; the code comes from the error class hierarchy;
- anything else → code 65535 ("unexpected error") with the exception text,
  logged with its traceback.

The legacy ``error_code`` follows Milvus's own derivation from ``code``
(100 → CollectionNotExists, 1100 → IllegalArgument, ...); every other code maps
to UnexpectedError. Input errors (code 1100 and the not-found family) carry
``extra_info["is_input_error"] = "true"``, as Milvus sets it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import grpc
from pymilvus.grpc_gen import common_pb2

from keeldb.errors import InvalidArgument, KeelError, NotFound, Unimplemented

log = logging.getLogger("keeldb.server")

#: merr code for "service unimplemented" (an RPC keeldb does not serve)
CODE_UNIMPLEMENTED = 10
#: merr code for errors that are not classified
CODE_UNEXPECTED = 65535

_LEGACY = {
    0: common_pb2.Success,
    8: common_pb2.RateLimit,
    9: common_pb2.ForceDeny,
    100: common_pb2.CollectionNotExists,
    200: common_pb2.MetaFailed,
    700: common_pb2.IndexNotExist,
    1100: common_pb2.IllegalArgument,
}

OK = common_pb2.Status()


def legacy_code(code: int) -> int:
    """Milvus's legacy ``ErrorCode`` for a merr ``code``."""
    return _LEGACY.get(code, common_pb2.UnexpectedError)


def error_status(exc: BaseException) -> common_pb2.Status:
    """The Status that reports ``exc`` to a Milvus client."""
    if isinstance(exc, KeelError):
        code = CODE_UNIMPLEMENTED if isinstance(exc, Unimplemented) else exc.code
        status = common_pb2.Status(
            code=code,
            error_code=legacy_code(code),
            reason=str(exc),
            detail=f"{type(exc).__name__}: {exc}",
        )
        if isinstance(exc, (InvalidArgument, NotFound)):
            status.extra_info["is_input_error"] = "true"
        return status
    log.exception("unexpected error while serving a request")
    return common_pb2.Status(
        code=CODE_UNEXPECTED,
        error_code=common_pb2.UnexpectedError,
        reason=f"unexpected error: {type(exc).__name__}: {exc}",
        detail=f"{type(exc).__name__}: {exc}",
    )


def unimplemented_status(method: str) -> common_pb2.Status:
    return common_pb2.Status(
        code=CODE_UNIMPLEMENTED,
        error_code=common_pb2.UnexpectedError,
        reason=f"{method} is not supported by keeldb: service unimplemented",
    )


def reply(response_type: type, status: common_pb2.Status) -> Any:
    """A response of ``response_type`` carrying ``status`` (or the Status itself).

    Every Status-typed field is set: some responses carry a second one
    (``AlterCollectionSchemaResponse.alter_status``) that clients check instead.
    """
    if response_type is common_pb2.Status:
        return status
    fields = response_type.DESCRIPTOR.fields  # type: ignore[attr-defined]
    names = [f.name for f in fields if f.message_type is common_pb2.Status.DESCRIPTOR]
    return response_type(**dict.fromkeys(names, status))


def database_of(request: Any, context: grpc.ServicerContext) -> str:
    """The database a request addresses: its ``db_name`` field, else the ``dbname`` header."""
    name = getattr(request, "db_name", "") or ""
    if name:
        return name
    for key, value in context.invocation_metadata() or ():
        if key == "dbname" and value:
            return value if isinstance(value, str) else value.decode()
    return ""


Handler = Callable[[Any, Any, str], Any]


def rpc(
    response_type: type,
) -> Callable[[Handler], Callable[[Any, Any, grpc.ServicerContext], Any]]:
    """Decorate ``handler(self, request, db) -> response`` into a gRPC method.

    The handler returns a response message (its status left unset means
    success) or None for a plain success; any exception becomes a status.
    """

    def wrap(handler: Handler) -> Callable[[Any, Any, grpc.ServicerContext], Any]:
        @functools.wraps(handler)
        def method(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
            try:
                result = handler(self, request, database_of(request, context))
            except Exception as exc:  # the adapter boundary: every error becomes a status
                return reply(response_type, error_status(exc))
            if result is None:
                return reply(response_type, OK)
            return result

        return method

    return wrap
