"""The ``Encoder`` protocol and the tiny deterministic hashing encoder.

An encoder turns texts into a float32 matrix of shape ``(n, dim)``. When
``normalize`` is true every returned row has unit L2 norm (a zero row stays
zero). ``metric`` is the metric its vectors are meant to be compared with.

``HashingEncoder`` is for tests that are not about model quality: each
lower-cased word token is hashed (crc32 with a seed) to a bucket and a sign;
the same text always gives the same vector, on every machine. Its artifact is
a one-line JSON config ``{"dim": d, "seed": s}``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Encoder", "HashingEncoder", "l2_normalize", "TOKEN_PATTERN"]

TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")


@runtime_checkable
class Encoder(Protocol):
    dim: int
    metric: str
    normalize: bool

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm in place (zero rows stay zero); returns the matrix."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix


class HashingEncoder:
    """Signed feature hashing of word tokens; deterministic, no training, test use only."""

    def __init__(self, dim: int = 32, seed: int = 0, metric: str = "COSINE") -> None:
        self.dim = int(dim)
        self.seed = int(seed)
        self.metric = metric
        self.normalize = True
        self.calls = 0  # how many encode calls ran (tests count model invocations)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in TOKEN_PATTERN.findall(str(text).lower()):
                h = zlib.crc32(token.encode(), self.seed)
                out[row, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        return l2_normalize(out)
