"""Serving the REST app with uvicorn in a thread of the ``keel serve`` process.

The listening socket is bound in the constructor, so a busy port fails before
anything starts and port 0 is resolved at once (``port``). ``start`` runs
uvicorn's event loop in a daemon thread (uvicorn installs no signal handlers
off the main thread; ``keel serve``'s main thread owns SIGTERM / SIGINT) and
returns once it accepts connections. ``stop`` asks uvicorn to exit: it stops
accepting, lets in-flight requests finish (up to ``grace_s``) and closes the
connections; the caller closes the shared client afterwards.

uvicorn runs with the h11 protocol, no lifespan, no access log and no logging
configuration of its own (its loggers propagate to the root logger that
``keel serve`` set up).
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger("keeldb.server.rest")

_BACKLOG = 2048


class RestServer:
    def __init__(self, app: Starlette, host: str, port: int, *, grace_s: float = 30.0) -> None:
        self._socket = bind_socket(host, port)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            http="h11",
            ws="none",
            lifespan="off",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=max(1, round(grace_s)),
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._grace_s = grace_s
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="keel-rest",
            daemon=True,
        )

    def start(self, timeout_s: float = 30.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise OSError("the REST server stopped while starting (see the log)")
            if time.monotonic() > deadline:
                raise OSError(f"the REST server did not start within {timeout_s:.0f} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop accepting, finish in-flight requests, close connections."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(self._grace_s + 5.0)
            if self._thread.is_alive():
                log.warning("the REST server did not stop within %.0f s", self._grace_s + 5.0)
        self._socket.close()


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: a free port); OSError if busy."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc}") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} for the REST API: {exc.strerror or exc} "
            "(choose its port with --rest-port, or turn it off with --no-rest)"
        ) from exc
    return sock
