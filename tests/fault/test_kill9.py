"""kill -9 a writing process at random moments; every acknowledged write survives.

The child (crash_writer.py) prints a line after each call returns. The parent
kills it after a random delay, reopens the directory and checks: every
acknowledged insert is present with the right content, every acknowledged
delete is gone (unless the id was re-inserted later), nothing unacknowledged is
corrupt, and search still agrees with the rows. 25 cycles by default;
KEEL_KILL_CYCLES raises it for soaks.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np

import keeldb
from tests.fault.crash_writer import vector_for

WRITER = os.path.join(os.path.dirname(__file__), "crash_writer.py")
CYCLES = int(os.environ.get("KEEL_KILL_CYCLES", "25"))


def run_child(data_dir: str, first_id: int, seed: int, delay_s: float) -> list[str]:
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, WRITER, data_dir, str(first_id), str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def reader() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line.strip())
            if line.startswith("READY"):
                ready.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    if not ready.wait(timeout=60):
        proc.kill()
        raise AssertionError(f"writer did not start: {proc.stderr.read()}")  # type: ignore[union-attr]
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    thread.join(timeout=10)
    return lines


def test_acknowledged_writes_survive_kill9(tmp_path):
    data_dir = str(tmp_path / "data")
    rng = random.Random(1234)
    expected: dict[int, bool | None] = {}  # id -> must exist / must not / either
    next_id = 0
    for cycle in range(CYCLES):
        lines = run_child(data_dir, next_id, seed=cycle, delay_s=rng.uniform(0.05, 0.6))
        for line in lines:
            parts = line.split()
            if parts[0] == "INS":
                for i in range(int(parts[1]), int(parts[2]) + 1):
                    expected[i] = True
                next_id = max(next_id, int(parts[2]) + 1)
            elif parts[0] == "TRYDEL":
                if expected.get(int(parts[1])) is not False:
                    expected[int(parts[1])] = None  # an unacknowledged delete may land
            elif parts[0] == "DEL":
                expected[int(parts[1])] = False
        next_id = verify(data_dir, expected, next_id)
    assert sum(alive is True for alive in expected.values()) > 1000


def verify(data_dir: str, expected: dict[int, bool | None], next_id: int) -> int:
    with keeldb.Client(data_dir) as client:
        rows = client.query(
            "crash", filter="id >= 0", output_fields=["vector", "size"], limit=16384
        )
        if len(rows) == 16384:
            rows = list(
                client.query_iterator("crash", filter="id >= 0", output_fields=["vector", "size"])
            )
        found = {r["id"]: r for r in rows}
        missing = [i for i, alive in expected.items() if alive is True and i not in found]
        assert not missing, f"acknowledged rows lost: {missing[:10]} ({len(missing)})"
        resurrected = [i for i, alive in expected.items() if alive is False and i in found]
        assert not resurrected, f"acknowledged deletes undone: {resurrected[:10]}"
        ids = np.array(sorted(found))
        if len(ids):
            vectors = np.array([found[i]["vector"] for i in ids], dtype=np.float32)
            np.testing.assert_allclose(vectors, vector_for(ids), rtol=1e-6)
            assert all(found[i]["size"] == i * 3 for i in ids)
            probe = int(ids[len(ids) // 2])
            hit = client.search("crash", data=vector_for(np.array([probe])), limit=1)[0][0]
            assert hit["id"] == probe
        assert client.get_collection_stats("crash")["row_count"] == len(found)
        # rows written but not acknowledged may exist; continue numbering after them
        return max([next_id, *(i + 1 for i in found)])
