"""The quickstart behind ``keel quickstart``: a real corpus when one is at hand.

With the Debian package corpus (``../shared/data/debian``, descriptions embedded
with all-MiniLM-L6-v2) it stores real documents and finds packages similar to a
known one; without it, it uses seeded random vectors so it runs anywhere.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable

import numpy as np

import keeldb

_CORPUS_CANDIDATES = (
    "../shared/data/debian",
    "../../shared/data/debian",
    "/work/shared/data/debian",
)


def _find_corpus(explicit: str | None) -> str | None:
    for path in ([explicit] if explicit else []) + list(_CORPUS_CANDIDATES):
        if path and os.path.exists(os.path.join(path, "minilm-f16.npy")):
            return path
    return None


def _load_documents(corpus: str | None, rows: int) -> tuple[list[dict], np.ndarray]:
    if corpus is None:
        rng = np.random.default_rng(7)
        vectors = rng.normal(size=(rows, 384)).astype(np.float32)
        sections = ["libs", "python", "utils", "fonts", "net"]
        docs = [
            {
                "id": i,
                "package": f"pkg-{i}",
                "section": sections[i % 5],
                "size": int(rng.integers(1, 5000)),
            }
            for i in range(rows)
        ]
        return docs, vectors
    vectors = np.load(os.path.join(corpus, "minilm-f16.npy"), mmap_mode="r")[:rows].astype(
        np.float32
    )
    docs = []
    with gzip.open(os.path.join(corpus, "corpus.jsonl.gz"), "rt") as fh:
        for line in fh:
            d = json.loads(line)
            docs.append(
                {
                    "id": d["id"],
                    "package": d["package"],
                    "section": d["section"],
                    "size": d["installed_size"],
                }
            )
            if len(docs) == rows:
                break
    return docs, vectors


def run_quickstart(
    data_dir: str, rows: int, corpus: str | None, echo: Callable[[str], None] = print
) -> None:
    corpus = _find_corpus(corpus)
    docs, vectors = _load_documents(corpus, rows)
    echo(f"keeldb {keeldb.__version__}: data directory {os.path.abspath(data_dir)}")
    echo(
        f"documents: {len(docs)} from {'the Debian corpus' if corpus else 'seeded random vectors'}"
    )
    with keeldb.Client(data_dir) as client:
        if client.has_collection("packages"):
            client.drop_collection("packages")
        client.create_collection("packages", dimension=vectors.shape[1], metric_type="COSINE")
        start = time.perf_counter()
        for i in range(0, len(docs), 1000):
            batch = [dict(d, vector=v) for d, v in zip(docs[i : i + 1000], vectors[i : i + 1000])]
            client.insert("packages", batch)
        echo(f"inserted {len(docs)} rows in {time.perf_counter() - start:.2f}s (durable: fsync)")
        client.flush("packages")
        probe = docs[min(42, len(docs) - 1)]
        echo(f"\nnearest to '{probe['package']}' (section {probe['section']}):")
        hits = client.search(
            "packages", data=[vectors[probe["id"]]], limit=5, output_fields=["package", "section"]
        )
        for hit in hits[0]:
            e = hit["entity"]
            echo(f"  {hit['distance']:.3f}  {e['package']:<32} {e['section']}")
        expr = "section == 'utils' and size < 500"
        echo(f"\nsame query, filter: {expr}")
        hits = client.search("packages", data=[vectors[probe["id"]]], limit=5, filter=expr,
                             output_fields=["package", "section", "size"])  # fmt: skip
        for hit in hits[0]:
            e = hit["entity"]
            echo(f"  {hit['distance']:.3f}  {e['package']:<32} {e['section']:<8} {e['size']} KiB")
        count = client.query("packages", filter="size > 10000", output_fields=["count(*)"])
        echo(f"\npackages over 10 MB: {count[0]['count(*)']}")
        echo(f"rows stored: {client.get_collection_stats('packages')['row_count']}")
