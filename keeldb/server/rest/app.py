"""The Starlette application of the REST API: routing, decoding, error replies.

Every endpoint is ``POST /v2/vectordb/<group>/<action>`` with a JSON body. A
request goes: read the body → decode JSON (not JSON, or not an object: code
1801; an empty body counts as ``{}``) → validate against the endpoint's body
model (``models.parse``: 1802 missing / 1801 mistyped) → run the handler with
the shared client in a worker thread (the client is blocking and thread-safe;
the event loop only moves bytes) → ``{"code": 0, "data": ...}``. Any error
becomes ``{"code", "message"}`` with HTTP 200 (``replies.failure``).

An unknown path answers HTTP 404 and a method other than POST HTTP 405, both
with a JSON body (code 10, "service unimplemented") that names the nearest
endpoint keeldb serves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keeldb.client.embedded import Client
from keeldb.errors import did_you_mean
from keeldb.server.rest import collections, databases, entities, lifecycle
from keeldb.server.rest.models import Endpoint, parse
from keeldb.server.rest.replies import (
    CODE_BAD_REQUEST_FORMAT,
    RequestError,
    failure,
    json_response,
    success,
)
from keeldb.server.status import CODE_UNIMPLEMENTED

PREFIX = "/v2/vectordb"
ENDPOINTS: tuple[Endpoint, ...] = (
    *collections.ROUTES, *entities.ROUTES, *databases.ROUTES, *lifecycle.ROUTES,
)  # fmt: skip


def create_app(client: Client) -> Starlette:
    """The REST API over ``client`` (shared with the gRPC service)."""
    routes = [
        Route(f"{PREFIX}/{e.path}", _handler(client, e), methods=["POST"], name=e.path)
        for e in ENDPOINTS
    ]
    return Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_allowed},
    )


def _handler(client: Client, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        try:
            payload = _decode(await request.body())
            body = parse(endpoint.body, payload)
            result = await run_in_threadpool(endpoint.handler, client, body)
        except Exception as exc:  # the adapter boundary: every error becomes a reply
            return failure(exc)
        return success(result)

    handle.__name__ = endpoint.handler.__name__
    return handle


def _decode(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(
            CODE_BAD_REQUEST_FORMAT, f"can only accept json format request, error: {exc}"
        ) from None
    if not isinstance(payload, dict):
        raise RequestError(
            CODE_BAD_REQUEST_FORMAT,
            f"can only accept json format request, error: the body must be a JSON object, "
            f"not {type(payload).__name__}",
        )
    return payload


async def _not_found(request: Request, exc: Exception) -> Response:
    path = request.url.path
    action = path.removeprefix(PREFIX + "/") if path.startswith(PREFIX + "/") else path
    hint = did_you_mean(action, [e.path for e in ENDPOINTS])
    message = (
        f"{request.method} {path}: no such endpoint in keeldb's Milvus REST API v2 "
        f"(service unimplemented); endpoints are POST {PREFIX}/<group>/<action>"
    )
    if hint:
        message += f"; {hint}"
    return json_response({"code": CODE_UNIMPLEMENTED, "message": message}, status_code=404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    headers = exc.headers if isinstance(exc, HTTPException) else None
    response = json_response(
        {
            "code": CODE_UNIMPLEMENTED,
            "message": f"{request.method} {request.url.path}: method not allowed; "
            "the Milvus REST API v2 takes POST with a JSON body",
        },
        status_code=405,
    )
    response.headers.update(headers or {"Allow": "POST"})
    return response
