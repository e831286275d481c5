"""Starting and stopping ``keel serve``.

One process serves one data directory: it opens ONE ``keeldb.Client`` (which
takes the directory lock, so a second server or embedded client on the same
directory gets ``DataDirLocked``), and a ``grpc.server`` with a thread pool runs
the Milvus service over it. The client is thread-safe; writes to a collection
are serialised inside it and share fsyncs (group commit).

Start-up prints one line to stdout, flushed, that tests and scripts wait for:

    keel serve listening on 127.0.0.1:19530

(with ``--port 0`` the port is one the OS picked). Shutdown on SIGTERM or
SIGINT: stop accepting calls, let in-flight calls finish (up to ``grace_s``),
close the client — which flushes every collection — and return 0. Every
acknowledged write was fsynced before its acknowledgement (sync mode "fsync"),
so even ``kill -9`` loses nothing acknowledged.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import TextIO

import grpc
from pymilvus.grpc_gen import milvus_pb2_grpc

from keeldb.client.embedded import Client
from keeldb.config import Settings
from keeldb.server.servicer import IMPLEMENTED_RPCS, KeelServicer

log = logging.getLogger("keeldb.server")

#: channel options: no message size limit (bulk inserts and large results);
#: tolerate pymilvus's keepalive pings (every 10 s, also while idle); and no
#: SO_REUSEPORT, so a second server on a port in use fails instead of sharing it
SERVER_OPTIONS = [
    ("grpc.so_reuseport", 0),
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 0),
]


@dataclass(frozen=True)
class ServeOptions:
    data_dir: str
    host: str = "127.0.0.1"
    port: int = 19530
    workers: int = 32
    grace_s: float = 30.0
    sync_mode: str = "fsync"


class KeelServer:
    """A running gRPC server over a data directory; ``stop()`` shuts it down cleanly."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.client = Client(options.data_dir, settings=Settings(sync_mode=options.sync_mode))
        self.servicer = KeelServicer(self.client)
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="keel-rpc"),
            options=SERVER_OPTIONS,
        )
        milvus_pb2_grpc.add_MilvusServiceServicer_to_server(self.servicer, self._server)
        address = _address(options.host, options.port)
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError as exc:
            self.client.close()
            raise OSError(f"cannot listen on {address}: {exc}") from exc
        if self.port == 0:
            self.client.close()
            raise OSError(f"cannot listen on {address}: the address is in use or not available")
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        return _address(self.options.host, self.port)

    def start(self) -> None:
        self._server.start()
        log.info(
            "serving %s over the Milvus gRPC protocol on %s (%d RPCs, %d worker threads)",
            self.client.path, self.address, len(IMPLEMENTED_RPCS), self.options.workers,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop accepting, finish in-flight calls, close (and so flush) the data."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        log.info("shutting down: finishing in-flight requests (grace %.0f s)", self.options.grace_s)
        self._server.stop(self.options.grace_s).wait()
        self.servicer.close()
        self.client.close()
        log.info("stopped; data directory %s closed", self.client.path)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def run_server(options: ServeOptions, out: TextIO = sys.stdout) -> int:
    """Serve until SIGTERM / SIGINT, then shut down cleanly; returns the exit code."""
    server = KeelServer(options)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        print(f"keel serve listening on {server.address}", file=out, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
