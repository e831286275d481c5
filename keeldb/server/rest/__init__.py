"""The Milvus RESTful API v2 of ``keel serve`` (layer L6, beside the gRPC service).

    keel serve --data-dir ./data --port 19530 --rest-port 19531
    curl -s localhost:19531/v2/vectordb/collections/list -d '{}'

``POST /v2/vectordb/<group>/<action>`` with a JSON body; replies
``{"code": 0, "data": ...}`` or ``{"code": <Milvus code>, "message": ...}``.
Groups: collections, entities, indexes, partitions, aliases, databases.

Modules: ``server`` (uvicorn in a thread of the ``keel serve`` process) →
``app`` (Starlette routing, JSON decoding, error replies) → the endpoint
handlers ``collections`` (collections, partitions), ``entities`` (entities,
indexes) and ``databases`` (aliases, databases), which call the same shared
``keeldb.Client`` as the gRPC service; ``models`` (pydantic request bodies),
``schema_codec`` (schemas, index parameters and descriptions in REST JSON) and
``replies`` (the envelope and the one place REST errors become codes).
"""

from keeldb.server.rest.app import ENDPOINTS, PREFIX, create_app
from keeldb.server.rest.server import RestServer

__all__ = ["ENDPOINTS", "PREFIX", "RestServer", "create_app"]
