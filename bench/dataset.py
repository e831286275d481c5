"""The benchmark corpus: synthetic clustered float32 vectors, three scalar fields, queries.

Vectors come from a fixed distribution (seeded separately from the samples):
``x = (c + z) @ W + e`` where ``c`` is one of ``CLUSTERS`` centres in a
``LATENT``-dimensional space, ``z ~ N(0, I)`` spreads rows around it, ``W`` maps
the latent space into ``dim`` dimensions and ``e ~ N(0, NOISE²)`` adds full-rank
noise. The result has a low intrinsic dimension like real embeddings, and at
100k x 128-d HNSW (M=16, efConstruction=200) needs ef ≈ 24-32 for recall@10 =
0.95 — a regime comparable to SIFT-like corpora, neither trivial nor hopeless.

Queries are fresh draws from the same distribution (another seed), never rows of
the data. Scalars are independent of the vectors:

- ``size``    INT64, uniform in [0, 100000)
- ``section`` VARCHAR, ``"s0"`` .. ``"s99"`` uniform (each value keeps ~1% of rows)
- ``score``   DOUBLE, uniform in [0, 1)

so a filter keeps a random ~1% of the rows, unrelated to where the query lies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

CLUSTERS = 100
LATENT = 64
NOISE = 0.1
SECTIONS = 100
SIZE_RANGE = 100_000
DISTRIBUTION_SEED = 1234
DATA_SEED = 1
QUERY_SEED = 2

#: The filters of the filtered-search phase, each keeping ~1% of the rows.
FILTERS = {
    "section": "section == 's7'",
    "size_range": "size >= 40000 and size < 41000",
}


@dataclass
class Corpus:
    vectors: np.ndarray  # (n, dim) float32
    size: np.ndarray  # (n,) int64
    section: np.ndarray  # (n,) int64 index; the stored value is f"s{index}"
    score: np.ndarray  # (n,) float64

    @property
    def rows(self) -> int:
        return len(self.vectors)

    def filter_mask(self, name: str) -> np.ndarray:
        """The rows a named filter keeps, computed with numpy (the reference evaluator)."""
        if name == "section":
            return self.section == 7
        if name == "size_range":
            return (self.size >= 40_000) & (self.size < 41_000)
        raise KeyError(name)

    def section_strings(self, lo: int, hi: int) -> list[str]:
        return [f"s{v}" for v in self.section[lo:hi].tolist()]

    def rows_dicts(self, lo: int, hi: int) -> list[dict]:
        """Rows lo..hi as row dicts, vectors as Python float lists (what most callers pass)."""
        vecs = self.vectors[lo:hi].tolist()
        sizes = self.size[lo:hi].tolist()
        scores = self.score[lo:hi].tolist()
        sections = self.section_strings(lo, hi)
        return [
            {
                "id": lo + i,
                "vector": vecs[i],
                "size": sizes[i],
                "section": sections[i],
                "score": scores[i],
            }
            for i in range(hi - lo)
        ]

    def columns(self, lo: int, hi: int) -> dict[str, np.ndarray]:
        """Rows lo..hi as a dict of numpy arrays (keeldb's columnar insert)."""
        return {
            "id": np.arange(lo, hi, dtype=np.int64),
            "vector": self.vectors[lo:hi],
            "size": self.size[lo:hi],
            "section": np.array(self.section_strings(lo, hi), dtype=object),
            "score": self.score[lo:hi],
        }


def _distribution(dim: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(DISTRIBUTION_SEED)
    w = rng.standard_normal((LATENT, dim)).astype(np.float32) / np.float32(np.sqrt(LATENT))
    centres = rng.standard_normal((CLUSTERS, LATENT)).astype(np.float32)
    return w, centres


def sample_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    """``n`` draws from the corpus distribution (deterministic for a seed)."""
    w, centres = _distribution(dim)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    step = 65_536
    for lo in range(0, n, step):
        m = min(step, n - lo)
        c = rng.integers(0, CLUSTERS, m)
        z = centres[c] + rng.standard_normal((m, LATENT), dtype=np.float32)
        e = rng.standard_normal((m, dim), dtype=np.float32) * np.float32(NOISE)
        out[lo : lo + m] = z @ w + e
    return out


def make_corpus(rows: int, dim: int) -> Corpus:
    vectors = sample_vectors(rows, dim, DATA_SEED)
    rng = np.random.default_rng(DATA_SEED + 100)
    return Corpus(
        vectors=vectors,
        size=rng.integers(0, SIZE_RANGE, rows, dtype=np.int64),
        section=rng.integers(0, SECTIONS, rows, dtype=np.int64),
        score=rng.random(rows),
    )


def make_queries(n: int, dim: int) -> np.ndarray:
    return sample_vectors(n, dim, QUERY_SEED)


# -- storage shared by the phase subprocesses ------------------------------------------

_FILES = ("vectors", "size", "section", "score")


def save_corpus(corpus: Corpus, directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for name in _FILES:
        np.save(os.path.join(directory, f"{name}.npy"), getattr(corpus, name))


def load_corpus(directory: str) -> Corpus:
    """Memory-mapped: a phase touches only the pages it reads."""
    arrays = {n: np.load(os.path.join(directory, f"{n}.npy"), mmap_mode="r") for n in _FILES}
    return Corpus(**arrays)
