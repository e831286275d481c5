"""Milvus Lite through pymilvus: embedded (``MilvusClient("<dir>/milvus.db")``) and its
gRPC server (``python -m milvus_lite server``), with its default settings (its WAL
is not fsynced per insert). Hits are asked for ``output_fields=["id"]``: with None,
Milvus Lite 3.x returns every field, the vector too.
"""

from __future__ import annotations

import os
from typing import Any

from bench.suite.adapters.base import python_argv
from bench.suite.adapters.milvus_shaped import MilvusShaped
from bench.suite.adapters.served import Served


class MilvusLite(MilvusShaped):
    name = "milvus-lite"
    modules = ("pymilvus", "milvus_lite")
    output_fields = ["id"]
    _db_path = ""

    def make_client(self, path: str, fresh: bool) -> Any:
        from pymilvus import MilvusClient

        os.makedirs(path, exist_ok=True)  # pymilvus wants the .db's parent to exist
        self._db_path = os.path.join(path, "milvus.db")
        return MilvusClient(self._db_path)

    def data_types(self) -> Any:
        from pymilvus import DataType

        return DataType

    def shutdown(self) -> None:
        """Close the client *and* stop the in-process server, draining its background work.

        ``MilvusClient.close()`` only drops the channel; the Milvus Lite server thread
        finishes the index build its ``flush`` queued when it is released.
        """
        super().shutdown()
        if self._db_path:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self._db_path)


class MilvusServer(Served):
    name = "milvus-server"
    modules = ("pymilvus",)
    output_fields = ["id"]

    def server_argv(self, data_dir: str, port: int) -> list[str]:
        return python_argv(
            "-m", "milvus_lite", "server", "--data-dir", data_dir,
            "--host", "127.0.0.1", "--port", str(port),
        )  # fmt: skip
