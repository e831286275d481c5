"""A real ``keel serve`` process on an ephemeral port, driven by real clients.

The session-scoped ``server`` fixture starts ``python -m keeldb.cli serve
--data-dir <tmp> --port 0``, waits for its "listening on" line and yields the
URI; on teardown it sends SIGTERM and asserts a clean exit (code 0). Tests that
stop, kill or restart a server start their own :class:`ServerProcess`.
Collection names are unique per test, so tests share one server safely.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pymilvus = pytest.importorskip("pymilvus")

LISTENING = "keel serve listening on "


class ServerProcess:
    """``keel serve`` as a subprocess; ``start`` returns once it listens."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc: subprocess.Popen[str] | None = None
        self.uri = ""

    def start(self, timeout_s: float = 60.0) -> str:
        log = open(self.log_path, "a")  # noqa: SIM115 - closed with the process
        cmd = [sys.executable, "-m", "keeldb.cli", "serve", "--data-dir", str(self.data_dir),
               "--port", "0", "--grace", "10"]  # fmt: skip
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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("keel-serve")
    proc = ServerProcess(root / "data", root / "server.log")
    uri = proc.start()
    try:
        yield uri
    finally:
        code = proc.stop()
        assert code == 0, f"keel serve exited with {code}:\n{proc.log()}"


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
