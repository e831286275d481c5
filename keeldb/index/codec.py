"""The byte format of a built index (``VectorIndex.to_bytes`` / ``registry.load_index``).

Format version 1 is an uncompressed NumPy ``.npz`` archive (a zip of ``.npy``
members):

- ``meta``: a uint8 array holding UTF-8 JSON ``{"format": "keeldb.vector-index",
  "version": 1, "index_type", "backend", "metric", "dim", "count", "params"}``;
- backend payload arrays, named by the backend: ``vectors`` (float32 (n, dim),
  FLAT), ``faiss`` (uint8, the output of ``faiss.serialize_index``), or the
  arrays of hnswlib's index state.

Loading uses ``allow_pickle=False``, so a tampered file cannot execute code; any
structural problem raises :class:`CorruptionError`. Checksums belong to the
storage layer; this format only checks that it is what it claims to be.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from keeldb.errors import CorruptionError

FORMAT_NAME = "keeldb.vector-index"
FORMAT_VERSION = 1


def encode_index(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """Pack ``meta`` (JSON-able) and named payload arrays into bytes."""
    header = dict(meta, format=FORMAT_NAME, version=FORMAT_VERSION)
    members: dict[str, Any] = {"meta": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
    members.update(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **members)
    return buffer.getvalue()


def decode_index(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Unpack bytes from :func:`encode_index` into (meta, arrays)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptionError(f"vector index data is unreadable: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise CorruptionError("vector index data has no keeldb index header")
    if meta.get("version") != FORMAT_VERSION:
        raise CorruptionError(
            f"vector index format version {meta.get('version')!r} is not supported "
            f"(this keeldb reads version {FORMAT_VERSION})"
        )
    return meta, arrays


def require_array(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The payload array ``name``, or CorruptionError if it is missing."""
    if name not in arrays:
        raise CorruptionError(f"vector index data lacks its {name!r} payload")
    return arrays[name]
