"""Helpers for lifecycle tests: a schema with source text, hashing models, the real
Debian corpus (``../shared/data/debian`` beside the repository); fixtures in conftest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import keeldb
from keeldb.lifecycle.encoders import HashingEncoder

SETTINGS = keeldb.Settings(background_index_build=False, index_min_rows=50)
DEBIAN = Path(__file__).resolve().parents[3] / "shared" / "data" / "debian"


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


@pytest.fixture
def client(data_dir):
    c = keeldb.Client(data_dir, settings=SETTINGS)
    yield c
    c.close()


def reopen(client: keeldb.Client) -> keeldb.Client:
    path = client.path
    client.close()
    return keeldb.Client(path, settings=SETTINGS)


def text_schema(dim: int = 8) -> keeldb.CollectionSchema:
    schema = keeldb.CollectionSchema()
    schema.add_field("id", keeldb.DataType.INT64, is_primary=True)
    schema.add_field("text", keeldb.DataType.VARCHAR, max_length=8192)
    schema.add_field("section", keeldb.DataType.VARCHAR, max_length=64)
    schema.add_field("vector", keeldb.DataType.FLOAT_VECTOR, dim=dim)
    return schema


def register_hashing(client, tmp_path, name: str, dim: int, seed: int = 0, store: bool = True):
    config = tmp_path / f"{name}-{dim}-{seed}.json"
    config.write_text(json.dumps({"dim": dim, "seed": seed}))
    return client.lifecycle.register_model(
        name,
        str(config),
        kind="hashing",
        dim=dim,
        metric="COSINE",
        normalize=True,
        store=store,
        description="hashing encoder for tests",
    )


WORDS = [
    "apple", "banana", "cherry", "delta", "echo", "foxtrot",
    "golf", "hotel", "india", "juliet", "kilo", "lima",
]  # fmt: skip


def word_rows(n: int, start: int = 0) -> list[dict]:
    return [
        {"id": i, "text": f"{WORDS[i % 12]} {WORDS[(i * 5) % 12]} item{i}", "section": WORDS[i % 3]}
        for i in range(start, start + n)
    ]


class SlowEncoder(HashingEncoder):
    """A hashing encoder that takes ``delay_s`` per call (to overlap writes with a job)."""

    def __init__(self, dim: int, seed: int, delay_s: float) -> None:
        super().__init__(dim, seed)
        self.delay_s = delay_s

    def encode(self, texts):
        import time

        time.sleep(self.delay_s)
        return super().encode(texts)


def _require_corpus() -> None:
    # CI and every checkout have shared/ beside the repository: a missing corpus is
    # a broken layout to report, not a reason to skip the lifecycle's real-data tests
    if not (DEBIAN / "corpus.jsonl.gz").exists():
        pytest.fail(f"the Debian corpus is not at {DEBIAN} (shared/ beside the repository)")


@pytest.fixture(scope="session")
def debian_corpus() -> list[dict]:
    _require_corpus()
    with gzip.open(DEBIAN / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def debian_queries() -> list[dict]:
    _require_corpus()
    with open(DEBIAN / "queries-dev.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]
