"""Recall you can see: ``tune_index`` and ``estimate_recall`` (keeldb extensions).

``tune_index(collection, field_or_index_name, recall=0.95)`` tunes a vector
index to a recall@k target now, in the caller's thread (after pending index
builds finish), on the collection's largest sealed segment, and stores the
target and the result in the index spec, so ``describe_index`` shows them and
searches that give no search params use the tuned ones. AUTOINDEX may switch
type or build params (segments are rebuilt in the background, serving their
old index meanwhile); other types keep their build and tune search params only.
See ``keeldb.index.autotune`` for the procedure.

``estimate_recall(collection, anns_field=None, k=10, queries=200,
search_params=None)`` measures recall@k of the searches the collection serves
now (all segments, deletes applied) against exact search over the same data;
see ``keeldb.query.recall_probe``.

Both measure recall on the collection's recorded recent search queries once
there are enough of them (``keeldb.engine.query_sample``), else on queries
sampled from the data, unless the caller passes ``query_vectors``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keeldb.engine.database import Engine
from keeldb.engine.index_tuning import stored_summary, tune_field
from keeldb.errors import FailedPrecondition, IndexNotFound, InvalidArgument, Unimplemented
from keeldb.index.tuning_params import parse_target
from keeldb.query.recall_probe import estimate_recall
from keeldb.schema.field import FieldSchema


class TuningMixin:
    _engine: Engine

    def _db(self, kw: dict[str, Any]) -> str:  # provided by DdlMixin
        raise NotImplementedError

    def tune_index(
        self,
        collection_name: str,
        field_or_index_name: str,
        recall: float = 0.95,
        *,
        k: int = 10,
        queries: int = 500,
        query_vectors: Any = None,
        timeout: float | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Tune an index to ``recall``@``k`` now; returns what describe_index will show
        of it (``recall``, ``tuned_params``, ``measured_recall``, ``recall_ci``, ...) and
        ``met`` (whether the target was met with 95% confidence). ``query_vectors``:
        representative queries to tune on instead of held-in ones sampled from the data."""
        target = parse_target(recall)
        _check_count(k, "k")
        _check_count(queries, "queries")
        entry, coll = self._engine.collection(self._db(kw), collection_name)
        spec = entry.indexes.get(field_or_index_name) or entry.vector_index(field_or_index_name)
        if spec is None or not entry.schema.field(spec.field).is_vector:
            raise IndexNotFound(
                f"index not found[collection={entry.name}][indexName={field_or_index_name}]",
                hint="name a vector field or its index",
            )
        _check_tunable(entry.schema.field(spec.field))
        self._engine.builder.wait_idle(timeout)
        found = tune_field(
            coll, spec.field, target, k=k, queries=queries, force=True,
            query_vectors=_vectors(query_vectors),
        )  # fmt: skip
        if found is None:
            raise FailedPrecondition(
                f"no sealed segment of '{entry.name}' has enough rows to tune on "
                f"(at least {self._engine.settings.index_min_rows})",
                hint="insert more rows and flush; smaller segments are searched exactly",
            )
        tuned, result = found
        self._engine.store_tuning(coll, tuned)
        return {**stored_summary(tuned), "met": result.met}

    def estimate_recall(
        self,
        collection_name: str,
        anns_field: str | None = None,
        k: int = 10,
        queries: int = 200,
        search_params: dict[str, Any] | None = None,
        filter: str = "",
        seed: int = 0,
        query_vectors: Any = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Recall@``k`` of this collection's searches now: ``{"recall", "ci", "queries",
        "queries_from", "k", "params"}`` (``params``: the search params used, tuned
        defaults included). The queries are ``query_vectors`` when given, else the
        last ``queries`` of the field's recorded recent search queries once there
        are enough (``queries_from``: ``given``, ``recorded`` or ``sampled``)."""
        _check_count(k, "k")
        _check_count(queries, "queries")
        entry, coll = self._loaded(collection_name, kw)  # type: ignore[attr-defined]
        field = entry.schema.vector_field(anns_field)
        _check_tunable(field)
        dim = field.dim or 0
        given, source = _vectors(query_vectors), "given"
        if given is None:
            recorded = coll.recorded_queries(field.name)
            given, source = (
                (None, "sampled") if recorded is None else (recorded[-queries:], "recorded")
            )
        # a placeholder query (replaced by the sampled ones); non-zero, as COSINE requires
        request = self._search_request(  # type: ignore[attr-defined]
            entry, [[1.0] * dim] if given is None else given, filter, k, None, search_params,
            None, anns_field, kw,
        )  # fmt: skip
        found = estimate_recall(
            coll.snapshot(), request, k, queries, seed, given_queries=given is not None
        )
        return {**found, "queries_from": source}


def _check_tunable(field: FieldSchema) -> None:
    """Recall measurement and tuning score float vectors (FLOAT, FLOAT16, BFLOAT16, INT8)."""
    if not field.dtype.is_dense_float_vector:
        raise Unimplemented(
            f"recall estimation and tuning are not supported for {field.dtype.name} "
            f"field '{field.name}'",
            hint="they support FLOAT, FLOAT16, BFLOAT16 and INT8 vector fields",
        )


def _vectors(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    matrix = np.asarray(value, dtype=np.float32)
    if matrix.ndim != 2 or len(matrix) == 0 or not np.isfinite(matrix).all():
        raise InvalidArgument("query_vectors must be a non-empty 2-D array of finite numbers")
    return matrix


def _check_count(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 16_384:
        raise InvalidArgument(f"{name} must be an integer in [1, 16384], got {value!r}")
