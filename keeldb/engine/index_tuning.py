"""Tuning a collection's vector index to its recall target (see keeldb.index.autotune).

Tuning runs on the collection's largest sealed segment (at least
``index_min_rows`` rows), reusing the index built there when it matches the
spec; with no such segment yet there is nothing to tune (every segment is
searched exactly, recall 1). The result is written into the spec's params by
the engine (``Engine.store_tuning``), which queues rebuilds when the chosen
build differs from what segments hold; segments keep serving their old index
until the new one is installed.

Queries: the collection's recorded recent search queries once it holds enough
(:mod:`keeldb.engine.query_sample`), else held-in ones sampled from the data;
a caller's ``query_vectors`` override both.

When to tune again (:func:`needs_tuning`): a spec with a ``recall`` target is
tuned when it has no result yet, when the largest segment has grown to at
least twice the rows the result was measured on (recall drifts as segments
grow), or when it was tuned on sampled queries and real ones are now recorded
(the search path asks for that tuning the moment the sample is large enough).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from keeldb.engine.catalog import IndexSpec
from keeldb.index.autotune import TuningResult, tune
from keeldb.index.tuning_params import TARGET_KEY, TUNING_KEYS, recall_target, without_results

if TYPE_CHECKING:
    from keeldb.engine.collection import Collection

log = logging.getLogger(__name__)

#: Re-tune once the largest segment holds this many times the rows last tuned on.
RETUNE_GROWTH = 2.0


def needs_tuning(spec: IndexSpec, largest_rows: int, has_recorded: bool = False) -> bool:
    """Whether ``spec`` should be (re)tuned now that its largest segment has
    ``largest_rows`` (``has_recorded``: enough recorded queries to tune on)."""
    if recall_target(spec.params) is None:
        return False
    if "tuned_params" not in spec.params:
        return True
    if has_recorded and spec.params.get("tuned_on", "sampled") == "sampled":
        return True
    tuned_rows = int(spec.params.get("tuned_rows") or 0)
    return largest_rows >= RETUNE_GROWTH * max(tuned_rows, 1)


def tune_field(
    coll: Collection,
    field: str,
    target: float | None = None,
    *,
    k: int = 10,
    queries: int = 500,
    seed: int = 0,
    force: bool = False,
    query_vectors: Any = None,
) -> tuple[IndexSpec, TuningResult] | None:
    """Tune ``field``'s index on ``coll``; the spec to store and the result, or None.

    ``target`` overrides (and replaces) the spec's recall target. None when the
    field has no index spec or no segment large enough, or (unless ``force``)
    when the spec needs no tuning.
    """
    spec = coll.index_specs.get(field)
    found = coll.tuning_segment(field)
    if spec is None or found is None:
        return None
    vectors, current, rows = found
    params = dict(spec.params)
    if target is not None:
        params[TARGET_KEY] = target
    spec = replace(spec, params=params)
    goal = recall_target(params)
    recorded = coll.recorded_queries(field) if query_vectors is None else None
    if goal is None or not (force or needs_tuning(spec, rows, recorded is not None)):
        return None
    result = tune(
        vectors,
        spec.metric_type,
        spec.index_type,
        without_results(params),
        goal,
        current=current,
        k=k,
        queries=queries,
        seed=seed,
        query_vectors=query_vectors if recorded is None else recorded,
        query_source="given" if recorded is None else "recorded",
    )
    log.info(
        "tuned %s of %s to recall %.3f: %s (measured %.4f)",
        field, coll.root, goal, result.chosen.config(), result.chosen.recall,
    )  # fmt: skip
    return replace(spec, params={**without_results(params), **result.params()}), result


def same_definition(a: IndexSpec, b: IndexSpec) -> bool:
    """The same index apart from recall targets and tuning results."""
    return (a.field, a.index_name, a.index_type, a.metric_type) == (
        b.field, b.index_name, b.index_type, b.metric_type,
    ) and _definition(a.params) == _definition(b.params)  # fmt: skip


def _definition(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in TUNING_KEYS}


def stored_summary(spec: IndexSpec) -> dict[str, Any]:
    """What ``tune_index`` reports: the target and the stored tuning result."""
    keys = (TARGET_KEY, "tuned_params", "measured_recall", "recall_ci", "tuned_rows",
            "tuned_queries", "tuned_on", "tuned_k", "tuned_latency_ms")  # fmt: skip
    return {key: spec.params[key] for key in keys if key in spec.params}
