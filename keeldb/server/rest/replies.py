"""REST replies: the JSON envelope, and the one place REST errors become codes.

Milvus's RESTful API v2 answers every application outcome with HTTP 200 and a
JSON envelope (docs/milvus-behaviour.md §0, §5 for the codes):

    {"code": 0, "data": <result>}                  success (+ "cost", "topks" on some calls)
    {"code": <Milvus code>, "message": "<text>"}    failure

Codes come from the keeldb error class hierarchy, as on the gRPC side
(``keeldb.server.status``): 100 collection not found, 1100 invalid parameter,
700 index not found, ... ; an unsupported feature is 10 ("service
unimplemented"); anything unexpected is 65535 with the exception text (and a
logged traceback). Request-shape problems use Milvus's HTTP codes: 1801 (the
body is not JSON, or a value has the wrong type) and 1802 (a required
parameter is missing). Only an unknown path (404) or method (405) changes the
HTTP status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response

from keeldb.errors import KeelError, Unimplemented
from keeldb.server.status import CODE_UNEXPECTED, CODE_UNIMPLEMENTED

log = logging.getLogger("keeldb.server.rest")

#: Milvus's HTTP-layer codes (merr): the body is not JSON / a value has the wrong type
CODE_BAD_REQUEST_FORMAT = 1801
#: ... a required parameter is missing
CODE_MISSING_PARAMETER = 1802

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class RequestError(Exception):
    """A request whose shape is wrong (not JSON, missing or mistyped parameters)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Reply:
    """A successful result: ``data`` plus top-level extras (``cost``, ``topks``)."""

    data: Any
    extra: dict[str, Any] = field(default_factory=dict)


def json_response(payload: dict[str, Any], status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(payload, default=_fallback, option=_JSON_OPTIONS),
        status_code=status_code,
        media_type="application/json",
    )


def success(result: Any) -> Response:
    reply = result if isinstance(result, Reply) else Reply({} if result is None else result)
    return json_response({"code": 0, **reply.extra, "data": reply.data})


def failure(exc: BaseException) -> Response:
    code, message = error_code(exc)
    return json_response({"code": code, "message": message})


def error_code(exc: BaseException) -> tuple[int, str]:
    """The Milvus code and message that report ``exc``."""
    if isinstance(exc, RequestError):
        return exc.code, exc.message
    if isinstance(exc, Unimplemented):
        return CODE_UNIMPLEMENTED, str(exc)
    if isinstance(exc, KeelError):
        return exc.code, str(exc)
    log.exception("unexpected error while serving a REST request")
    return CODE_UNEXPECTED, f"unexpected error: {type(exc).__name__}: {exc}"


def _fallback(value: Any) -> Any:
    """JSON for the few values orjson does not know (numpy scalars without the option, sets)."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
