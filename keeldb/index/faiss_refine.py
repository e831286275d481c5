"""Re-ranking quantised candidates with a more precise copy of the vectors (FAISS ``IndexRefine``).

Milvus's quantised indexes (HNSW_SQ, HNSW_PQ, SCANN) can keep a second, more
precise representation and re-score the top candidates with it. Over FAISS
that is an ``IndexRefine`` around the quantised index: the base index returns
``k · k_factor`` candidates (its filter selector travels in the base index's
search parameters, so refining never lets a disallowed row back in), the
refine index re-scores them and the best ``k`` are kept.

Refine precisions (Milvus's ``refine_type`` names, case-insensitive): ``fp32``
(alias ``flat``: the raw float32 vectors, an ``IndexFlat``), ``fp16``, ``bf16``,
``sq8``, ``sq6`` (``IndexScalarQuantizer``). Quantisers are ranked by precision
so a refine can be checked to be more precise than the codes it refines.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

#: scalar-quantiser name -> FAISS quantiser type
SQ_TYPES: dict[str, int] = {
    "sq4u": faiss.ScalarQuantizer.QT_4bit_uniform,
    "sq6": faiss.ScalarQuantizer.QT_6bit,
    "sq8": faiss.ScalarQuantizer.QT_8bit,
    "bf16": faiss.ScalarQuantizer.QT_bf16,
    "fp16": faiss.ScalarQuantizer.QT_fp16,
}
REFINE_TYPES: tuple[str, ...] = ("sq6", "sq8", "bf16", "fp16", "fp32", "flat")
#: bits kept per dimension: the precision order refine_type is checked against
PRECISION_BITS: dict[str, int] = {
    "sq4u": 4, "sq6": 6, "sq8": 8, "bf16": 16, "fp16": 16, "fp32": 32, "flat": 32,
}  # fmt: skip


def new_refine_storage(refine_type: str, dim: int, metric: int) -> Any:
    """An empty FAISS index holding the refine copy at ``refine_type`` precision."""
    if refine_type in ("fp32", "flat"):
        return faiss.IndexFlat(dim, metric)
    return faiss.IndexScalarQuantizer(dim, SQ_TYPES[refine_type], metric)


def wrap_refine(base: Any, refine_type: str, vectors: np.ndarray) -> Any:
    """``base`` (trained and filled with ``vectors``) wrapped with a refine copy of them."""
    refine = new_refine_storage(refine_type, base.d, base.metric_type)
    if not refine.is_trained:
        refine.train(vectors)
    refine.add(vectors)
    wrapped = faiss.IndexRefine(base, refine)
    # IndexRefine does not own its parts by default; the wrapper must keep them alive.
    wrapped.own_fields = True
    wrapped.own_refine_index = True
    base.this.disown()
    refine.this.disown()
    return wrapped


def refine_search_params(base_params: Any, k_factor: float) -> Any:
    """Per-call settings of an ``IndexRefine``: candidates ``k · k_factor``, base settings."""
    return faiss.IndexRefineSearchParameters(  # type: ignore[call-arg]
        k_factor=float(k_factor), base_index_params=base_params
    )


def refine_parts(index: Any) -> tuple[Any, Any | None]:
    """(the quantised base index, the refine index or None) of a built FAISS index."""
    if isinstance(index, faiss.IndexRefine):
        return faiss.downcast_index(index.base_index), faiss.downcast_index(index.refine_index)
    return index, None


def stored_bytes(index: Any) -> int:
    """Bytes of vector codes a flat-coded FAISS index (IndexFlat, IndexSQ, IndexPQ) holds."""
    return int(index.ntotal) * int(getattr(index, "code_size", 4 * index.d))


def decode_rows(codes: Any, rows: np.ndarray | None) -> np.ndarray:
    """Vectors as ``codes`` stores them (decoded), for ``rows`` or all rows."""
    if rows is None:
        rows = np.arange(codes.ntotal, dtype=np.int64)
    if len(rows) == 0:
        return np.empty((0, codes.d), dtype=np.float32)
    return np.ascontiguousarray(codes.reconstruct_batch(rows.astype(np.int64)), dtype=np.float32)
