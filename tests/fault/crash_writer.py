"""Child process for the kill -9 test: writes forever, reporting each acknowledged step.

Usage: python crash_writer.py DATA_DIR FIRST_ID SEED

Each line on stdout is printed only after the call returned (= acknowledged):
    INS first last     rows first..last inserted (vector = f(id), size = id)
    TRYDEL id          about to delete row id (it may or may not go through)
    DEL id             row id deleted
    FLUSH              a flush finished
Vectors are a pure function of the id so the parent can check their content.
"""

from __future__ import annotations

import random
import sys

import numpy as np

import keeldb

DIM = 8


def vector_for(ids: np.ndarray) -> np.ndarray:
    base = np.asarray(ids, dtype=np.float32)[:, None]
    return np.sin(base * (np.arange(DIM, dtype=np.float32) + 1) * 0.37)


def main() -> None:
    data_dir, next_id, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    client = keeldb.Client(data_dir, settings=keeldb.Settings(memtable_max_rows=3_000))
    if not client.has_collection("crash"):
        client.create_collection("crash", dimension=DIM, metric_type="L2")
    print("READY", flush=True)
    while True:
        step = rng.random()
        if step < 0.8:
            n = rng.randint(1, 200)
            ids = np.arange(next_id, next_id + n)
            client.insert("crash", {"id": ids, "vector": vector_for(ids), "size": ids * 3})
            print(f"INS {next_id} {next_id + n - 1}", flush=True)
            next_id += n
        elif step < 0.95 and next_id > 0:
            victim = rng.randrange(0, next_id)
            print(f"TRYDEL {victim}", flush=True)
            client.delete("crash", ids=[victim])
            print(f"DEL {victim}", flush=True)
        else:
            client.flush("crash")
            print("FLUSH", flush=True)


if __name__ == "__main__":
    main()
