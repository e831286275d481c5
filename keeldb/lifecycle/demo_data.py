"""The data of ``keel demo``: a sample of the Debian corpus shipped with the package,
or the whole corpus (``--full``).

Packaged files (``keeldb/lifecycle/data/``), made by :func:`make_sample` from
``shared/data/debian`` (63,666 packages, 2,000 labelled queries):

- ``debian-sample-docs.jsonl.gz``: ``{"id", "package", "section", "text"}`` —
  ``text`` is the long description (never the synopsis: the queries are synopses);
- ``debian-sample-queries.jsonl``: ``{"qid", "text", "relevant": {"<id>": grade}}``.

The sample holds every document a sampled query needs plus seeded random
distractors, so the task is the real one at a smaller scale.
"""

from __future__ import annotations

import gzip
import json
import os
import random
from typing import Any

__all__ = ["CORPUS_CANDIDATES", "clip_text", "find_corpus", "load_full", "load_sample",
           "make_sample"]  # fmt: skip

SAMPLE_DIR = os.path.join(os.path.dirname(__file__), "data")
DOCS_FILE = "debian-sample-docs.jsonl.gz"
QUERIES_FILE = "debian-sample-queries.jsonl"
CORPUS_CANDIDATES = (
    "../shared/data/debian", "../../shared/data/debian", "/work/shared/data/debian",
)  # fmt: skip


def load_sample() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with gzip.open(os.path.join(SAMPLE_DIR, DOCS_FILE), "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    with open(os.path.join(SAMPLE_DIR, QUERIES_FILE), encoding="utf-8") as f:
        queries = [json.loads(line) for line in f]
    return docs, queries


def find_corpus(explicit: str | None = None) -> str | None:
    for path in ([explicit] if explicit else []) + list(CORPUS_CANDIDATES):
        if path and os.path.exists(os.path.join(path, "corpus.jsonl.gz")):
            return path
    return None


def _read_corpus(corpus_dir: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with gzip.open(os.path.join(corpus_dir, "corpus.jsonl.gz"), "rt", encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    with open(os.path.join(corpus_dir, "queries-dev.jsonl"), encoding="utf-8") as f:
        queries = [json.loads(line) for line in f]
    return corpus, queries


MAX_TEXT_BYTES = 65_535  # the VARCHAR limit; a handful of descriptions are longer


def clip_text(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (on a character boundary)."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def _doc(d: dict[str, Any]) -> dict[str, Any]:
    return {"id": d["id"], "package": d["package"], "section": d["section"],
            "text": clip_text(d["long_description"])}  # fmt: skip


def load_full(corpus_dir: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    corpus, queries = _read_corpus(corpus_dir)
    return [_doc(d) for d in corpus if d["long_description"]], queries


def make_sample(
    corpus_dir: str, out_dir: str = SAMPLE_DIR, docs: int = 3000, queries: int = 400,
    seed: int = 0,
) -> tuple[int, int]:  # fmt: skip
    """Write the packaged sample; returns (documents, queries) written."""
    corpus, all_queries = _read_corpus(corpus_dir)
    rng = random.Random(seed)
    picked = rng.sample(all_queries, queries)
    needed = {int(i) for q in picked for i in q["relevant"]}
    others = [d["id"] for d in corpus if d["long_description"] and d["id"] not in needed]
    ids = sorted(needed | set(rng.sample(others, docs - len(needed))))
    os.makedirs(out_dir, exist_ok=True)
    lines = "".join(json.dumps(_doc(corpus[i]), ensure_ascii=False) + "\n" for i in ids)
    with gzip.GzipFile(os.path.join(out_dir, DOCS_FILE), "wb", mtime=0) as f:  # reproducible
        f.write(lines.encode("utf-8"))
    with open(os.path.join(out_dir, QUERIES_FILE), "w", encoding="utf-8") as f:
        for q in sorted(picked, key=lambda q: q["qid"]):
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    return len(ids), len(picked)
