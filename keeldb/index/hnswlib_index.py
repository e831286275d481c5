"""HNSW over hnswlib (the NMSLIB project's implementation), an alternative backend.

Selected with the HNSW build param ``backend="hnswlib"`` (a keeldb extension;
the default backend is FAISS). Same params, defaults and Milvus rules as
:class:`~keeldb.index.faiss_indexes.FaissHnswIndex`. hnswlib is optional: only
``keeldb.index.registry`` imports this module, after probing for the package.

Filtered search uses the same planner (:mod:`keeldb.index.filtering`); the
restricted route passes hnswlib a ``filter`` callable. hnswlib's filtered search
keeps walking until it holds ``ef`` *allowed* candidates, so unlike FAISS it
needs no raised ``ef``: the planner's raised effort only prices the route (the
walk visits about ``ef / ŝ`` nodes), and the search runs at the user's ``ef``.

Invariants and caveats:

- Spaces: L2 → hnswlib ``l2`` (squared distance, as Milvus reports); IP and
  COSINE → ``ip`` over vectors normalised here for COSINE, reported as
  ``1 - distance``.
- hnswlib keeps ``ef`` on the index object, so searches on one index take a
  lock (they are serialised; each still uses hnswlib's own threads). The filter
  callable runs Python per visited node, so filtered searches use one thread.
- Payload: hnswlib's own index state (``Index.__getstate__``), its arrays as
  ``hnswlib.<name>`` members and its scalars as JSON in ``hnswlib_state``; it is
  restored through ``Index.__setstate__``, never through pickle.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import hnswlib
import numpy as np

from keeldb.errors import CorruptionError
from keeldb.index.base import IndexBase
from keeldb.index.exact import exact_search_prepared
from keeldb.index.filtering import HnswPlanning, Restriction
from keeldb.index.hits import SearchHits
from keeldb.types import MetricType

_SEED = 100


class HnswlibHnswIndex(HnswPlanning, IndexBase):
    """HNSW over hnswlib; see the module docstring."""

    index_type = "HNSW"
    backend = "hnswlib"

    def _init_state(self) -> None:
        self._index: Any = None
        self._lock = threading.Lock()

    @property
    def _space(self) -> str:
        return "l2" if self.metric is MetricType.L2 else "ip"

    def build(self, vectors: np.ndarray) -> None:
        prepared = self.prepare(vectors, "vectors", copy=False)
        self.count = len(prepared)
        self._index = None
        if self.count == 0:
            return
        index = hnswlib.Index(space=self._space, dim=self.dim)
        index.init_index(
            max_elements=self.count,
            M=self.params["M"],
            ef_construction=self.params["efConstruction"],
            random_seed=_SEED,
        )
        index.add_items(prepared, np.arange(self.count))
        self._index = index

    def memory_bytes(self) -> int:
        if self._index is None:
            return 0
        m = self.params["M"]
        # An estimate: level 0 holds vector, 2M links, a count and the label per row; a row
        # has 1/(M-1) upper levels on average (M links + count each) behind an 8-byte
        # pointer; the label map costs about 32 bytes a row.
        level0 = self.dim * 4 + 2 * m * 4 + 4 + 8
        upper = (m * 4 + 4) / (m - 1) + 8
        return int(self.count * (level0 + upper + 32))

    # --- PlannedBackend (planning itself: HnswPlanning) ------------------------------

    def search_unrestricted(
        self, queries: np.ndarray, k: int, effort: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._knn(queries, min(k, self.count), min(max(effort, k), self.count), None)

    def search_restricted(
        self,
        queries: np.ndarray,
        k: int,
        effort: int,
        restriction: Restriction,
        base_effort: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        # hnswlib's walk already gathers ef allowed candidates: run at the user's ef.
        ef = min(max(k, base_effort), self.count)
        return self._knn(queries, min(k, self.count), ef, restriction.as_list())

    def search_exact(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchHits:
        rows = np.arange(self.count) if allowed is None else np.flatnonzero(allowed)
        vectors = np.ascontiguousarray(
            self._index.get_items(rows, return_type="numpy"), dtype=np.float32
        )
        hits = exact_search_prepared(vectors, queries, k, self.metric, None)
        hits.ids = np.where(hits.ids >= 0, rows[np.maximum(hits.ids, 0)], -1)
        return hits

    def _knn(
        self, queries: np.ndarray, k: int, ef: int, allowed_list: list[bool] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        try:
            with self._lock:
                self._index.set_ef(ef)
                if allowed_list is None:
                    labels, distances = self._index.knn_query(queries, k=k)
                else:
                    labels, distances = self._index.knn_query(
                        queries, k=k, num_threads=1, filter=allowed_list.__getitem__
                    )
        except RuntimeError:
            # hnswlib raises when some query finds fewer than k rows; report them as
            # empty so the planner redoes those queries exactly.
            empty = np.full((len(queries), k), -1, dtype=np.int64)
            return np.zeros((len(queries), k), dtype=np.float32), empty
        # hnswlib hands back fresh uint64 labels and float32 distances: reinterpret and
        # convert them in place (labels never exceed the row count, so the view is exact)
        ids = labels.view(np.int64)
        if self.metric is not MetricType.L2:
            np.subtract(1.0, distances, out=distances)
        return distances, ids

    # --- persistence ----------------------------------------------------------------

    def _payload(self) -> dict[str, np.ndarray]:
        if self._index is None:
            return {}
        (state,) = self._index.__getstate__()
        scalars = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
        arrays = {f"hnswlib.{k}": v for k, v in state.items() if isinstance(v, np.ndarray)}
        arrays["hnswlib_state"] = np.frombuffer(json.dumps(scalars).encode(), dtype=np.uint8)
        return arrays

    @classmethod
    def restore(
        cls,
        metric: MetricType,
        dim: int,
        params: Mapping[str, Any],
        count: int,
        arrays: dict[str, np.ndarray],
    ) -> HnswlibHnswIndex:
        index = cls(metric, dim, params)
        if count == 0:
            return index
        try:
            state = json.loads(arrays["hnswlib_state"].tobytes().decode())
            state.update({k[len("hnswlib.") :]: v for k, v in arrays.items() if "." in k})
            loaded = hnswlib.Index.__new__(hnswlib.Index)
            loaded.__setstate__((state,))
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise CorruptionError(f"hnswlib index payload is unreadable: {exc}") from exc
        if loaded.dim != dim or loaded.get_current_count() != count or loaded.space != index._space:
            raise CorruptionError(
                f"hnswlib payload holds {loaded.get_current_count()} vectors of dim "
                f"{loaded.dim} in space {loaded.space!r}, expected {count} of dim {dim}"
            )
        index._index = loaded
        index.count = count
        return index
