"""A real ``keel serve`` process on an ephemeral port, driven by real clients.

The session-scoped ``server`` fixture starts ``python -m keeldb.cli serve
--data-dir <tmp> --port 0 --rest-port 0``, waits for its "listening on" line and
yields the gRPC URI; ``rest`` is a small JSON client for the same process's REST
API (``http://host:port/v2/vectordb/...``). On teardown the server gets SIGTERM
and must exit cleanly (code 0). Tests that stop, kill or restart a server start
their own :class:`ServerProcess`.
Collection names are unique per test, so tests share one server safely.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pymilvus = pytest.importorskip("pymilvus")

LISTENING = "keel serve listening on "
REST_LISTENING = "keel serve REST listening on "


class ServerProcess:
    """``keel serve`` as a subprocess; ``start`` returns once it listens."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc: subprocess.Popen[str] | None = None
        self.uri = ""
        self.rest_url = ""

    def start(self, timeout_s: float = 60.0) -> str:
        log = open(self.log_path, "a")  # noqa: SIM115 - closed with the process
        cmd = [sys.executable, "-m", "keeldb.cli", "serve", "--data-dir", str(self.data_dir),
               "--port", "0", "--rest-port", "0", "--grace", "10"]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(self.proc, lines), daemon=True).start()
        try:
            while True:
                line = lines.get(timeout=timeout_s)
                if line.startswith(REST_LISTENING):
                    self.rest_url = "http://" + line[len(REST_LISTENING) :].strip()
                if line.startswith(LISTENING):
                    self.uri = "http://" + line[len(LISTENING) :].strip()
                    return self.uri
        except queue.Empty:
            self.kill()
            raise RuntimeError(f"keel serve did not start:\n{self.log()}") from None

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM, then wait for the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout_s)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)


@pytest.fixture(scope="session")
def server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("keel-serve")
    proc = ServerProcess(root / "data", root / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        code = proc.stop()
        assert code == 0, f"keel serve exited with {code}:\n{proc.log()}"


@pytest.fixture(scope="session")
def server(server_process: ServerProcess) -> str:
    """The gRPC URI of the session's server."""
    return server_process.uri


class RestClient:
    """POSTs JSON to ``<base>/v2/vectordb/<path>`` and returns the decoded reply."""

    def __init__(self, base: str) -> None:
        self.base = base

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None,
             method: str = "POST") -> tuple[int, dict[str, Any]]:  # fmt: skip
        """The HTTP status and JSON reply of one request."""
        data = raw if raw is not None else json.dumps(body or {}).encode()
        request = urllib.request.Request(
            f"{self.base}/v2/vectordb/{path}", data=data if method == "POST" else None,
            method=method, headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def __call__(self, path: str, **body: Any) -> dict[str, Any]:
        """The JSON reply (HTTP 200 asserted) of a POST with ``body`` as keywords."""
        status, reply = self.post(path, body)
        assert status == 200, (status, reply)
        return reply

    def ok(self, path: str, **body: Any) -> Any:
        """The ``data`` of a call that must succeed."""
        reply = self(path, **body)
        assert reply["code"] == 0, reply
        return reply.get("data")

    def error(self, path: str, **body: Any) -> tuple[int, str]:
        """``(code, message)`` of a call that must fail."""
        reply = self(path, **body)
        assert reply["code"] != 0 and "data" not in reply, reply
        return reply["code"], reply["message"]


@pytest.fixture
def rest(server_process: ServerProcess) -> RestClient:
    """A JSON client for the REST API of the session's server."""
    return RestClient(server_process.rest_url)


@pytest.fixture
def milvus(server: str) -> Iterator[pymilvus.MilvusClient]:
    client = pymilvus.MilvusClient(server)
    yield client
    client.close()


@pytest.fixture
def name() -> str:
    """A collection name no other test uses."""
    return f"c_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start extra servers (own data directories); all are killed at teardown."""
    started: list[ServerProcess] = []

    def start(data_dir: Path | None = None) -> ServerProcess:
        proc = ServerProcess(data_dir or tmp_path / "data", tmp_path / f"server{len(started)}.log")
        proc.start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
