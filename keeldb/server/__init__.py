"""The Milvus-protocol server behind ``keel serve`` (layer L6).

    keel serve --data-dir ./data --port 19530

Modules: ``app`` (start-up, signals, graceful shutdown) → ``servicer``
(``KeelServicer``, session RPCs and "not supported" answers) composed of
``servicer_ddl``, ``servicer_index`` and ``servicer_data``; the codecs
``schema_codec`` (schemas), ``data_codec`` (FieldData columns),
``search_codec`` (search parameters and results); ``iterators`` (search
iterator sessions); ``query_sessions`` (query iterator snapshots); ``rest``
(the Milvus REST API v2 on a second port, same client); ``status`` (keeldb
errors → Milvus ``Status``, the only place errors are translated); ``clock``
(hybrid timestamps).

The wire definitions are pymilvus's generated protobuf modules
(``pymilvus.grpc_gen``), so the server needs the ``server`` extra
(``pip install keeldb[server]``). The server only calls the public API of the
embedded ``keeldb.Client`` (plus the schema value types), never storage or index
internals.
"""

from keeldb.server.app import KeelServer, ServeOptions, run_server

__all__ = ["KeelServer", "ServeOptions", "run_server"]
