"""Turning a registered ``ModelVersion`` into a working ``Encoder``, safely.

Every load first verifies the artifact's files against the sha256 hashes
recorded at registration (``CorruptionError`` on any difference), then builds
the encoder for the version's ``kind``:

- ``tfidf_svd``: :class:`TfidfSvdEncoder` from JSON + ``.npy`` (no pickle);
- ``sentence_transformers``: :class:`SentenceTransformerEncoder`, offline, no remote code;
- ``hashing``: :class:`HashingEncoder` from ``config.json`` ({"dim", "seed"}), tests only;
- ``entry_point``: Python code named ``module:callable``, only when the process allowed
  it (trust model in :mod:`keeldb.lifecycle.entry_points`).

The built encoder must report the registered dim; loaded encoders are cached
per (model, version) by :class:`EncoderCache` (versions are immutable).
"""

from __future__ import annotations

import json
import os
import threading

from keeldb.errors import InvalidArgument
from keeldb.lifecycle.encoders import Encoder, HashingEncoder
from keeldb.lifecycle.entry_points import EntryPointPolicy, load_entry_point
from keeldb.lifecycle.registry import ModelRegistry, ModelVersion

__all__ = ["EncoderCache", "load_encoder"]


def _single_dir(path: str) -> str:
    return path if os.path.isdir(path) else os.path.dirname(path)


def load_encoder(
    registry: ModelRegistry, mv: ModelVersion, policy: EntryPointPolicy | None = None
) -> Encoder:
    path = registry.verify(mv)
    encoder: Encoder
    if mv.kind == "tfidf_svd":
        from keeldb.lifecycle.tfidf_svd import TfidfSvdEncoder

        encoder = TfidfSvdEncoder.load(_single_dir(path))
    elif mv.kind == "sentence_transformers":
        from keeldb.lifecycle.sentence_transformers import SentenceTransformerEncoder

        encoder = SentenceTransformerEncoder(
            path, dim=mv.dim, metric=mv.metric, normalize=mv.normalize,
            max_seq_length=mv.preprocessing.get("max_seq_length"),
        )  # fmt: skip
    elif mv.kind == "hashing":
        files = list(mv.artifact.files)
        name = files[0] if len(files) == 1 else "config.json"
        config_path = path if os.path.isfile(path) else os.path.join(path, name)
        with open(config_path) as f:
            config = json.load(f)
        encoder = HashingEncoder(config["dim"], config.get("seed", 0), mv.metric)
    elif mv.kind == "entry_point":
        encoder = load_entry_point(path, mv, policy or EntryPointPolicy())
    else:
        raise InvalidArgument(f"model {mv.ref} has unknown kind {mv.kind!r}")
    if encoder.dim != mv.dim:
        raise InvalidArgument(
            f"model {mv.ref} was registered as {mv.dim}-d but its artifact makes "
            f"{encoder.dim}-d vectors"
        )
    return encoder


class EncoderCache:
    """Loaded encoders by model version; ``put`` lets tests and callers inject one."""

    def __init__(self, registry: ModelRegistry) -> None:
        self._registry = registry
        self._encoders: dict[str, Encoder] = {}
        self._lock = threading.Lock()
        self.entry_points = EntryPointPolicy()  # which code this process allows

    def get(self, mv: ModelVersion) -> Encoder:
        with self._lock:
            encoder = self._encoders.get(mv.ref)
            if encoder is None:
                encoder = load_encoder(self._registry, mv, self.entry_points)
                self._encoders[mv.ref] = encoder
            return encoder

    def put(self, mv: ModelVersion, encoder: Encoder) -> None:
        with self._lock:
            self._encoders[mv.ref] = encoder
