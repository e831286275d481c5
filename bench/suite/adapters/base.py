"""The one interface every system is measured through.

A phase process (``bench.suite.phase``) drives an adapter like this::

    ingest:  create(path, spec) -> prepare(batch) [untimed] -> insert(prepared) [timed]
             ... -> build() [timed: flush + index build until searchable] -> close()
    search:  open(path, spec) -> searcher(param, filter) -> search(queries) -> close()

``searcher`` returns a function ``(nq, dim) float32 -> list of nq id lists`` with
everything that does not depend on the query (parameters, filter objects)
prepared once, so a batch-1 loop times the call a user would make and nothing
else. ``params`` is the sweep of the system's search parameter (``[None]``
where it has none, e.g. an exact search). Adapters import their library
lazily, so a missing one only fails the systems that need it.

Every system gets the same vectors, ids 0..n-1, one VARCHAR and one INT64
payload field, and (where it has the choice) HNSW with M=16, efConstruction=200.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.suite.datasets import Batch, FilterSpec

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
COLLECTION = "bench"
TOP_K = 10
EFS = (10, 16, 32, 64, 128, 256, 512)

Search = Callable[[np.ndarray], list[list[int]]]


@dataclass(frozen=True)
class Spec:
    """What a collection holds: dimension, metric (``COSINE`` or ``L2``) and payload field names."""

    dim: int
    metric: str
    str_field: str
    int_field: str


class Adapter:
    """Base class: subclasses set ``name`` and implement the methods below."""

    name = ""
    #: the swept search parameter's name and values (None: the system has none)
    param_name: str | None = "ef"
    params: tuple[Any, ...] = EFS
    #: what the system's index is, in words, for the report
    index_desc = ""
    #: a served system (search can be measured with concurrent clients)
    served = False
    #: modules imported (and timed) before the phase starts, so no timing includes imports
    modules: tuple[str, ...] = ()
    #: masks of the filters by name, for libraries that filter by row id (FAISS, hnswlib)
    needs_masks = False

    def create(self, path: str, spec: Spec) -> None:
        raise NotImplementedError

    def prepare(self, batch: Batch) -> Any:
        return batch

    def insert(self, prepared: Any) -> None:
        raise NotImplementedError

    def build(self) -> dict[str, float]:
        """Make everything inserted durable and searchable through the index."""
        return {}

    def open(self, path: str, spec: Spec) -> None:
        raise NotImplementedError

    def searcher(self, param: Any, flt: FilterSpec | None) -> Search:
        raise NotImplementedError

    def row_count(self) -> int:
        raise NotImplementedError

    def reopen_param(self) -> Any:
        """The parameter of the first query after a reopen (one the system needs no change for)."""
        return self.params[len(self.params) // 2]

    def set_masks(self, masks: dict[str, np.ndarray]) -> None:
        self.masks = masks

    def close(self) -> None:
        pass

    def server_pids(self) -> list[int]:
        """Processes besides this one whose memory counts (a server)."""
        return []

    def client_factory(self, param: Any) -> Callable[[], Search]:
        """For served systems: makes one more independent client's searcher."""
        raise NotImplementedError


# -- helpers shared by the served adapters -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(argv: list[str], port: int, log_path: str, timeout_s: float = 120.0) -> Any:
    """Start a server process and wait until its port accepts connections."""
    log = open(log_path, "ab")  # noqa: SIM115  (lives as long as the process)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[:4]} exited with {proc.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{argv[:4]} did not listen on {port} within {timeout_s} s")


def stop_server(proc: Any, timeout_s: float = 300.0) -> None:
    """SIGTERM and wait: both servers flush and close on SIGTERM."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]
