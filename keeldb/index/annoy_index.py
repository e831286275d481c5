"""ANNOY over Spotify's Annoy library (random-projection trees), an optional backend.

Milvus's names: build param ``n_trees`` ([1, 1024], default 8), search param
``search_k`` (-1 or a positive integer, default -1 = ``k * n_trees``, the nodes
a query inspects). Only ``keeldb.index.registry`` imports this module, after
probing for the ``annoy`` package.

- Spaces: L2 → Annoy ``euclidean`` (its distances are squared here, as Milvus
  reports L2); IP and COSINE → ``dot`` over vectors normalised here for COSINE.
- Build is seeded (reproducible trees) and uses all cores.
- Filtered search uses the planner (:mod:`keeldb.index.filtering`) with the
  effort counted in candidates, ``search_k / n_trees`` (so Annoy inspects
  ``effort · n_trees`` nodes, its own default ratio, and that is the cost the
  planner weighs against an exact scan). Annoy has no filter callback, so the
  restricted route fetches ``k · effort / base effort`` candidates (the planner
  raised the effort by the inverse of the local selectivity, so about ``k``
  pass) and keeps the allowed ones; a short answer is redone exactly.
  The exact route scores the stored vectors, read back from Annoy once and
  kept (lazily: an index that never needs it never copies them).
- Searches are read-only on the built index; one query per Annoy call.
- Payload: ``annoy`` (uint8, the bytes of ``AnnoyIndex.save``). Loading writes
  them to a temporary file, memory-maps it (``AnnoyIndex.load``) and unlinks it.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from annoy import AnnoyIndex

from keeldb.errors import CorruptionError
from keeldb.index.base import IndexBase
from keeldb.index.codec import require_array
from keeldb.index.exact import exact_search_prepared
from keeldb.index.filtering import Restriction, search_planned
from keeldb.index.hits import SearchHits, pad_score
from keeldb.types import MetricType

_SEED = 1234


class AnnoyTreesIndex(IndexBase):
    """ANNOY; see the module docstring."""

    index_type = "ANNOY"
    backend = "annoy"

    def _init_state(self) -> None:
        self._index: Any = None
        self._vectors: np.ndarray | None = None
        self._size_bytes: int | None = None

    @property
    def _space(self) -> Literal["euclidean", "dot"]:
        return "euclidean" if self.metric is MetricType.L2 else "dot"

    @property
    def n_trees(self) -> int:
        return int(self.params["n_trees"])

    def build(self, vectors: np.ndarray) -> None:
        prepared = self.prepare(vectors, "vectors", copy=False)
        index = AnnoyIndex(self.dim, self._space)
        index.set_seed(_SEED)
        for row, vector in enumerate(prepared):
            index.add_item(row, vector)
        index.build(self.n_trees, n_jobs=-1)
        self._index, self.count = index, len(prepared)
        self._vectors, self._size_bytes = None, None

    def memory_bytes(self) -> int:
        if self._index is None:
            return 0
        if self._size_bytes is None:
            self._size_bytes = len(self._saved_bytes())
        extra = self._vectors.nbytes if self._vectors is not None else 0
        return int(self._size_bytes + extra)

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, params: dict[str, Any]
    ) -> SearchHits:
        effort = math.ceil(self._search_k(params, k) / self.n_trees)
        return search_planned(
            self, queries, k, allowed, self.count, effort, self.metric, self.policy
        )

    def _search_k(self, params: Mapping[str, Any], k: int) -> int:
        search_k = int(params.get("search_k", -1))
        return search_k if search_k > 0 else k * self.n_trees

    def _range_round(
        self, params: dict[str, Any], k_prime: int, round_no: int
    ) -> tuple[dict[str, Any], bool]:
        search_k = max(self._search_k(params, k_prime), k_prime * self.n_trees)
        return {**params, "search_k": search_k}, False

    # --- PlannedBackend -----------------------------------------------------------

    def effort_cost_rows(self, effort: int) -> float:
        return float(effort * self.n_trees)  # nodes inspected

    def exact_cost_rows(self, allowed_count: int) -> float:
        return float(allowed_count)

    def search_unrestricted(
        self, queries: np.ndarray, k: int, effort: int
    ) -> tuple[np.ndarray, np.ndarray]:
        n = min(k, self.count)
        return self._nns(queries, n, max(effort, n) * self.n_trees, n)

    def search_restricted(
        self,
        queries: np.ndarray,
        k: int,
        effort: int,
        restriction: Restriction,
        base_effort: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        fetch = min(self.count, max(k, math.ceil(k * effort / max(base_effort, 1))))
        scores, ids = self._nns(queries, fetch, max(effort, fetch) * self.n_trees, fetch)
        passing = (ids >= 0) & restriction.allowed[np.maximum(ids, 0)]
        order = np.argsort(~passing, axis=1, kind="stable")[:, :k]
        kept = np.take_along_axis(passing, order, axis=1)
        out_ids = np.where(kept, np.take_along_axis(ids, order, axis=1), -1)
        out_scores = np.where(kept, np.take_along_axis(scores, order, axis=1), 0.0)
        return out_scores.astype(np.float32), out_ids

    def search_exact(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchHits:
        return exact_search_prepared(self._stored_vectors(), queries, k, self.metric, allowed)

    def _nns(
        self, queries: np.ndarray, n: int, search_k: int, width: int
    ) -> tuple[np.ndarray, np.ndarray]:
        scores = np.full((len(queries), width), pad_score(self.metric), dtype=np.float32)
        ids = np.full((len(queries), width), -1, dtype=np.int64)
        for row, query in enumerate(queries):
            found, dist = self._index.get_nns_by_vector(
                query, n, search_k=search_k, include_distances=True
            )
            m = min(len(found), width)
            ids[row, :m] = found[:m]
            scores[row, :m] = dist[:m]
        if self.metric is MetricType.L2:
            np.square(scores, out=scores, where=ids >= 0)
        return scores, ids

    def _stored_vectors(self) -> np.ndarray:
        if self._vectors is None:
            get = self._index.get_item_vector
            self._vectors = np.asarray([get(i) for i in range(self.count)], dtype=np.float32)
            self._vectors = self._vectors.reshape(self.count, self.dim)
        return self._vectors

    # --- persistence ----------------------------------------------------------------

    def _saved_bytes(self) -> bytes:
        handle, path = tempfile.mkstemp(suffix=".annoy")
        os.close(handle)
        try:
            self._index.save(path)
            with open(path, "rb") as file:
                return file.read()
        finally:
            os.unlink(path)

    def _payload(self) -> dict[str, np.ndarray]:
        if self._index is None:
            return {}
        data = self._saved_bytes()
        self._size_bytes = len(data)
        return {"annoy": np.frombuffer(data, dtype=np.uint8)}

    @classmethod
    def restore(
        cls,
        metric: MetricType,
        dim: int,
        params: Mapping[str, Any],
        count: int,
        arrays: dict[str, np.ndarray],
    ) -> AnnoyTreesIndex:
        index = cls(metric, dim, params)
        if count == 0 and "annoy" not in arrays:
            return index
        blob = require_array(arrays, "annoy")
        loaded = AnnoyIndex(dim, index._space)
        handle, path = tempfile.mkstemp(suffix=".annoy")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(blob.tobytes())
            loaded.load(path)  # memory-maps the file; the mapping outlives the unlink
        except OSError as exc:
            raise CorruptionError(f"Annoy index payload is unreadable: {exc}") from exc
        finally:
            os.unlink(path)
        if loaded.get_n_items() != count:
            raise CorruptionError(
                f"Annoy payload holds {loaded.get_n_items()} vectors, expected {count}"
            )
        index._index, index.count, index._size_bytes = loaded, count, len(blob)
        return index
