"""Starting and stopping ``keel serve``.

One process serves one data directory: it opens ONE ``keeldb.Client`` (which
takes the directory lock, so a second server or embedded client on the same
directory gets ``DataDirLocked``), and a ``grpc.server`` with a thread pool runs
the Milvus service over it. The client is thread-safe; writes to a collection
are serialised inside it and share fsyncs (group commit).

The Milvus RESTful API v2 (``keeldb.server.rest``) is served over the same
client by uvicorn in a thread, on a second port (``rest_port``: None turns it
off). Start-up prints a line per protocol to stdout, flushed, REST first, and
the gRPC line last, which tests and scripts wait for:

    keel serve REST listening on 127.0.0.1:19531
    keel serve listening on 127.0.0.1:19530

(with port 0 the port is one the OS picked). Shutdown on SIGTERM or SIGINT:
both stop accepting, in-flight requests finish (up to ``grace_s``), then the
client closes — which flushes every collection — and 0 is returned. Every
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
from keeldb.server.rest import ENDPOINTS, PREFIX, RestServer, create_app
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
    #: REST API port (0: pick a free one); None: no REST API (``keel serve`` defaults
    #: it to the gRPC port + 1, 19531)
    rest_port: int | None = None


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
        self.rest: RestServer | None = None
        if options.rest_port is not None:
            try:
                self.rest = RestServer(
                    create_app(self.client), options.host, options.rest_port,
                    grace_s=options.grace_s,
                )  # fmt: skip
            except OSError:
                self._server.stop(0)
                self.client.close()
                raise
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        return _address(self.options.host, self.port)

    @property
    def rest_address(self) -> str | None:
        return None if self.rest is None else _address(self.options.host, self.rest.port)

    def start(self) -> None:
        if self.rest is not None:
            self.rest.start()
            log.info(
                "serving %s over the Milvus REST API v2 on http://%s%s (%d endpoints)",
                self.client.path, self.rest_address, PREFIX, len(ENDPOINTS),
            )  # fmt: skip
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
        grpc_stopped = self._server.stop(self.options.grace_s)  # both stop accepting at once
        if self.rest is not None:
            self.rest.stop()
        grpc_stopped.wait()
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
        if server.rest_address is not None:
            print(f"keel serve REST listening on {server.rest_address}", file=out, flush=True)
        print(f"keel serve listening on {server.address}", file=out, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
