"""Drift of an embedding space's traffic against a reference window.

Per embedding space (database, collection id, vector field) there are two streams:
``queries`` (query vectors, embedded or given, seen by search) and ``vectors``
(vectors the space's model made for inserted rows). Each stream has

- a **reference window**: for ``queries`` the first ``window`` query vectors seen
  after the space was bound (or after :meth:`DriftMonitor.reset_reference`); for
  ``vectors`` a seeded sample of ``window`` stored vectors, taken the first time
  drift is asked for. A full reference is frozen: written to
  ``lifecycle/drift/<collection id>-<field>-<stream>.npy`` (``numpy.save``, loaded with
  ``allow_pickle=False`` and checked against its sha256) with a
  ``drift_reference_set`` event, so it survives restarts;
- a **recent window**: the last ``window`` vectors of traffic, in memory; written
  to ``…-<stream>-recent.npy`` when the data directory closes and read back on
  open, so a later process (``keel drift``) sees the traffic of the last one.

Distances, recent vs reference:

- ``mean_shift`` = 1 − cos(mean of reference, mean of recent): the centroid moved;
- ``projection_ks`` = the largest two-sample Kolmogorov–Smirnov statistic over
  ``projections`` seeded random unit directions: a change of shape the mean misses.

Thresholds are calibrated so a sample from the reference's own distribution
does not alarm: ``mean_shift`` against the (1 − α/2) quantile of its value over
random re-splits of the pooled vectors (a permutation test), ``projection_ks``
against the asymptotic KS critical value at level α/(2·projections)
(Bonferroni over the directions). ``drifted`` is true when either is exceeded;
α = 0.01 by default. Fewer than ``min_rows`` recent vectors give ``drifted: None``.
"""

from __future__ import annotations

import hashlib
import io
import math
import posixpath
import threading
from collections import deque
from typing import Any

import numpy as np

from keeldb.errors import CorruptionError, InvalidArgument
from keeldb.lifecycle.spaces import EmbeddingSpace
from keeldb.storage import write_atomic

__all__ = ["DriftMonitor", "drift_statistics", "STREAMS"]

STREAMS = ("queries", "vectors")


def _unit(x: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(x))
    return x / norm if norm > 0 else x


def _mean_shift(a: np.ndarray, b: np.ndarray) -> float:
    return float(1.0 - np.dot(_unit(a.mean(axis=0)), _unit(b.mean(axis=0))))


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS statistic of 1-d samples."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def drift_statistics(
    reference: np.ndarray, recent: np.ndarray, *, alpha: float = 0.01, projections: int = 32,
    permutations: int = 200, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """The distances and their calibrated thresholds; see the module docstring."""
    ref = np.asarray(reference, dtype=np.float64)
    rec = np.asarray(recent, dtype=np.float64)
    if ref.ndim != 2 or rec.ndim != 2 or ref.shape[1] != rec.shape[1]:
        raise InvalidArgument(f"drift needs two (n, d) samples of one dim, got {ref.shape} "
                              f"and {rec.shape}")  # fmt: skip
    rng = np.random.default_rng(seed)
    shift = _mean_shift(ref, rec)
    pooled = np.concatenate([ref, rec])
    n = ref.shape[0]
    null = []
    for _ in range(permutations):
        order = rng.permutation(pooled.shape[0])
        null.append(_mean_shift(pooled[order[:n]], pooled[order[n:]]))
    shift_threshold = float(np.quantile(null, 1.0 - alpha / 2))
    directions = rng.normal(size=(ref.shape[1], projections))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    ks_values = [_ks(ref @ directions[:, j], rec @ directions[:, j]) for j in range(projections)]
    level = alpha / (2 * projections)
    m = rec.shape[0]
    ks_threshold = math.sqrt(-math.log(level / 2) / 2) * math.sqrt((n + m) / (n * m))
    ks_max = max(ks_values)
    return {
        "mean_shift": shift, "mean_shift_threshold": shift_threshold,
        "projection_ks": ks_max, "projection_ks_threshold": ks_threshold,
        "drifted": bool(shift > shift_threshold or ks_max > ks_threshold),
        "alpha": alpha, "reference_rows": n, "recent_rows": m,
    }  # fmt: skip


class _Stream:
    def __init__(self, window: int) -> None:
        self.recent: deque[np.ndarray] = deque()
        self.recent_rows = 0
        self.building: list[np.ndarray] = []
        self.building_rows = 0
        self.reference: np.ndarray | None = None
        self.window = window

    def push_recent(self, rows: np.ndarray) -> None:
        self.recent.append(rows)
        self.recent_rows += rows.shape[0]
        while self.recent_rows - self.recent[0].shape[0] >= self.window:
            self.recent_rows -= self.recent.popleft().shape[0]

    def recent_matrix(self) -> np.ndarray:
        return np.concatenate(list(self.recent))[-self.window :]


class DriftMonitor:
    """Reference and recent windows of every space's streams; see the module docstring."""

    def __init__(self, lc: Any, window: int = 1000, min_rows: int = 50) -> None:
        self._lc = lc
        self.window = window
        self.min_rows = min_rows
        self._streams: dict[tuple[str, int, str, str], _Stream] = {}
        self._files: dict[tuple[str, int, str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def apply(self, event: dict[str, Any]) -> None:
        if event["type"] == "drift_reference_set":
            key = (event["db"], event["collection_id"], event["field"], event["stream"])
            self._files[key] = event  # a stream not in memory yet loads its reference from here

    def observe(self, space: EmbeddingSpace, stream: str, vectors: Any) -> None:
        """Count traffic: cheap (a reference to the rows is kept, nothing is computed)."""
        try:
            rows = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError):
            return  # malformed search data: the search itself reports it
        if rows.ndim != 2 or rows.shape[1] != space.dim or rows.shape[0] == 0:
            return
        key = _key(space, stream)
        freeze = None
        with self._lock:
            s = self._stream(key)
            s.push_recent(rows)
            if stream == "queries" and s.reference is None and key not in self._files:
                s.building.append(rows)
                s.building_rows += rows.shape[0]
                if s.building_rows >= self.window:
                    freeze = np.concatenate(s.building)[: self.window]
                    s.reference, s.building, s.building_rows = freeze, [], 0
        if freeze is not None:
            self._persist(space, stream, freeze, "traffic")

    def reset_reference(self, space: EmbeddingSpace, stream: str = "queries") -> dict[str, Any]:
        """Make the recent window the new reference (e.g. after an accepted change)."""
        _check_stream(stream)
        with self._lock:
            s = self._stream(_key(space, stream))
            if s.recent_rows == 0:
                raise InvalidArgument(f"no recent {stream} in the space of '{space.collection}'")
            reference = s.recent_matrix()
            s.reference = reference
        return self._persist(space, stream, reference, "recent window")

    def report(self, space: EmbeddingSpace, stream: str = "queries") -> dict[str, Any]:
        _check_stream(stream)
        key = _key(space, stream)
        with self._lock:
            s = self._stream(key)
            recent = s.recent_matrix() if s.recent_rows else None
            reference = s.reference
        if reference is None and stream == "vectors":
            reference = self._sample_stored(space)
        out: dict[str, Any] = {"stream": stream, "space": space.key, "window": self.window,
                               "recent_rows": 0 if recent is None else recent.shape[0],
                               "reference_rows": 0 if reference is None else reference.shape[0],
                               "drifted": None}  # fmt: skip
        if key in self._files:
            out["reference_set_ms"] = self._files[key]["time_ms"]
            out["reference_source"] = self._files[key]["source"]
        if reference is None or recent is None or recent.shape[0] < self.min_rows:
            out["reason"] = "waiting for a reference window" if reference is None else (
                f"fewer than {self.min_rows} recent {stream}")  # fmt: skip
            return out
        out.update(drift_statistics(reference, recent))
        return out

    # -- internals ------------------------------------------------------------------
    def close(self) -> None:
        """Keep each recent window for the next process (best effort: it is a cache)."""
        with self._lock:
            windows = [(key, s.recent_matrix()) for key, s in self._streams.items() if s.recent]
        for key, matrix in windows:
            path = self._recent_path(key)
            self._lc.fs.makedirs(posixpath.dirname(path))
            write_atomic(self._lc.fs, path, _npy_bytes(matrix))

    def _stream(self, key: tuple[str, int, str, str]) -> _Stream:
        s = self._streams.get(key)
        if s is None:
            s = self._streams[key] = _Stream(self.window)
            if key in self._files:
                s.reference = self._load(self._files[key])
            try:
                recent = np.load(io.BytesIO(self._lc.fs.read_bytes(self._recent_path(key))),
                                 allow_pickle=False)  # fmt: skip
                s.push_recent(recent)
            except (OSError, ValueError):
                pass  # no window kept (or a torn one): start from empty traffic
        return s

    def _recent_path(self, key: tuple[str, int, str, str]) -> str:
        _, collection_id, field, stream = key
        name = f"{collection_id}-{field}-{stream}-recent.npy"
        return posixpath.join(self._lc.root, "drift", name)

    def _path(self, space: EmbeddingSpace, stream: str) -> str:
        name = f"{space.collection_id}-{space.field}-{stream}.npy"
        return posixpath.join(self._lc.root, "drift", name)

    def _persist(
        self, space: EmbeddingSpace, stream: str, matrix: np.ndarray, source: str
    ) -> dict[str, Any]:
        data = _npy_bytes(matrix)
        path = self._path(space, stream)
        self._lc.fs.makedirs(posixpath.dirname(path))
        write_atomic(self._lc.fs, path, data)
        return self._lc.append(
            "drift_reference_set", db=space.db, collection_id=space.collection_id,
            field=space.field, stream=stream, path=posixpath.relpath(path, self._lc.root),
            sha256=hashlib.sha256(data).hexdigest(), rows=int(matrix.shape[0]), source=source,
        )  # fmt: skip

    def _load(self, event: dict[str, Any]) -> np.ndarray:
        path = posixpath.join(self._lc.root, event["path"])
        data = self._lc.fs.read_bytes(path)
        if hashlib.sha256(data).hexdigest() != event["sha256"]:
            raise CorruptionError(f"drift reference '{path}' does not match its sha256")
        return np.load(io.BytesIO(data), allow_pickle=False)

    def _sample_stored(self, space: EmbeddingSpace) -> np.ndarray | None:
        """A seeded sample of the space's stored vectors, frozen as the reference."""
        pk = self._lc.engine.resolve(space.db, space.collection).schema.primary_field.name
        rows: list[Any] = []
        it = self._lc.data.query_iterator(
            space.collection, batch_size=4096, output_fields=[pk, space.field], db_name=space.db
        )
        while batch := it.next():
            rows.extend(r[space.field] for r in batch)
        if len(rows) < self.min_rows:
            return None
        matrix = np.asarray(rows, dtype=np.float32)
        if matrix.shape[0] > self.window:
            pick = np.random.default_rng(0).choice(matrix.shape[0], self.window, replace=False)
            matrix = matrix[np.sort(pick)]
        with self._lock:
            self._stream(_key(space, "vectors")).reference = matrix
        self._persist(space, "vectors", matrix, "stored sample")
        return matrix


def _npy_bytes(matrix: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def _key(space: EmbeddingSpace, stream: str) -> tuple[str, int, str, str]:
    return (space.db, space.collection_id, space.field, stream)


def _check_stream(stream: str) -> None:
    if stream not in STREAMS:
        raise InvalidArgument(f"drift stream {stream!r} is not known", hint=f"use one of {STREAMS}")
