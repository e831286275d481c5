"""keeldb, embedded (``keeldb.Client(dir)``) and behind ``keel serve`` (pymilvus).

Both run keeldb's defaults: ``sync_mode="fsync"``, so every insert returns after
its WAL record is fsynced. The index build is awaited with ``describe_index``
until no row is pending; the embedded client also has ``wait_for_index``.
"""

from __future__ import annotations

from typing import Any

from bench.suite.adapters.base import COLLECTION, python_argv
from bench.suite.adapters.milvus_shaped import MilvusShaped
from bench.suite.adapters.served import Served


class KeelDB(MilvusShaped):
    name = "keeldb"
    modules = ("keeldb",)

    def make_client(self, path: str, fresh: bool) -> Any:
        import keeldb

        return keeldb.Client(path)

    def data_types(self) -> Any:
        import keeldb

        return keeldb.DataType

    def wait_index(self) -> None:
        if not self.client.wait_for_index(COLLECTION):
            raise RuntimeError("keeldb: wait_for_index returned False")
        super().wait_index()


class KeelServer(Served):
    name = "keeldb-server"
    modules = ("pymilvus",)

    def server_argv(self, data_dir: str, port: int) -> list[str]:
        return python_argv(
            "-m", "keeldb.cli", "serve", "--data-dir", data_dir, "--port", str(port),
            "--no-rest", "--log-level", "warning",
        )  # fmt: skip
