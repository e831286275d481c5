"""The official Milvus Node.js SDK (@zilliz/milvus2-sdk-node) against keel serve.

``node/scenario.js`` creates a collection, inserts, builds an HNSW index,
loads, searches with a filter, queries, deletes and drops, and prints a JSON
summary. Dependencies install from ``node/package-lock.json`` on first run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def node_sdk() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node / npm are not installed: the Node.js SDK scenario needs Node 18+")
    if not (NODE_DIR / "node_modules" / "@zilliz" / "milvus2-sdk-node").exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return NODE_DIR


def test_node_sdk_scenario(node_sdk: Path, server: str) -> None:
    address = server.removeprefix("http://")
    done = subprocess.run(
        ["node", "scenario.js", address], cwd=node_sdk, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"scenario failed:\n{done.stdout}\n{done.stderr}"
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary == {
        "insert_cnt": 20,
        "search_ids": [3, 1, 5],
        "search_colors": ["red", "red", "red"],
        "query_ids": [15, 16, 17, 18, 19],
        "delete_cnt": 5,
        "count": 15,
        "exists_after_drop": False,
    }
