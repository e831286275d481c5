"""A system reached over the network through pymilvus: its server runs as a child process.

The server is started by ``create`` / ``open`` (on a free port, data under
``<path>/data``) and stopped with SIGTERM by ``close`` (both servers flush and
close their data on SIGTERM). Its peak RSS (``VmHWM``) is read just before it
stops, so the phase can report client + server memory.
"""

from __future__ import annotations

import os
from typing import Any

from bench.suite.adapters.base import Search, free_port, start_server, stop_server
from bench.suite.adapters.milvus_shaped import MilvusShaped


def process_peak_rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Served(MilvusShaped):
    served = True
    proc: Any = None
    uri = ""
    server_peak_rss_bytes = 0

    def server_argv(self, data_dir: str, port: int) -> list[str]:
        raise NotImplementedError

    def make_client(self, path: str, fresh: bool) -> Any:
        from pymilvus import MilvusClient

        os.makedirs(path, exist_ok=True)
        port = free_port()
        argv = self.server_argv(os.path.join(path, "data"), port)
        self.proc = start_server(argv, port, os.path.join(path, "server.log"))
        self.uri = f"http://127.0.0.1:{port}"
        return MilvusClient(uri=self.uri)

    def data_types(self) -> Any:
        from pymilvus import DataType

        return DataType

    def server_pids(self) -> list[int]:
        return [self.proc.pid] if self.proc is not None and self.proc.poll() is None else []

    def shutdown(self) -> None:
        super().shutdown()
        if self.proc is not None:
            self.server_peak_rss_bytes = max(
                self.server_peak_rss_bytes, process_peak_rss_bytes(self.proc.pid)
            )
            stop_server(self.proc)
            self.proc = None

    def client_factory(self, param: Any) -> Any:
        def make() -> Search:
            from pymilvus import MilvusClient

            return self.searcher(param, None, client=MilvusClient(uri=self.uri))

        return make
