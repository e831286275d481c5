"""Recall targets and tuning results inside an index's params (a keeldb extension).

An index spec's params may carry, besides the build params:

- ``recall``: the recall@k target a user asked for (``AUTOINDEX`` with
  ``{"recall": 0.95}``, or set by ``tune_index``); a number in (0, 1].
- the tuning result, written by keeldb, never by users: ``tuned_params``
  (``{"index_type", "build", "search"}``: the configuration chosen),
  ``measured_recall``, ``recall_ci`` (``[low, high]``, 95%), ``tuned_rows``,
  ``tuned_queries``, ``tuned_on`` (which queries: ``sampled`` from the data,
  ``recorded`` from recent searches, or ``given`` by the caller), ``tuned_k`` and
  ``tuned_latency_ms``.

:func:`resolve_build` turns such params into what is actually built: the
tuning keys are dropped, and an AUTOINDEX with ``tuned_params`` builds the
chosen type with the chosen build params. For any other type the build params
stay the user's (tuning there only picks search params).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from keeldb.errors import IndexParamError

TARGET_KEY = "recall"
RESULT_KEYS = (
    "tuned_params",
    "measured_recall",
    "recall_ci",
    "tuned_rows",
    "tuned_queries",
    "tuned_on",
    "tuned_k",
    "tuned_latency_ms",
)
TUNING_KEYS = (TARGET_KEY, *RESULT_KEYS)
AUTOINDEX_NAMES = ("AUTOINDEX", "")


def is_autoindex(index_type: str | None) -> bool:
    return (index_type or "").strip().upper() in AUTOINDEX_NAMES


def recall_target(params: Mapping[str, Any] | None) -> float | None:
    """The validated recall target in ``params``, or None when there is none."""
    if not params or params.get(TARGET_KEY) is None:
        return None
    return parse_target(params[TARGET_KEY])


def parse_target(value: Any) -> float:
    """A recall target: a number (or numeric string) in (0, 1]."""
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not 0 < number <= 1:
        raise IndexParamError(
            f"invalid recall target {value!r}: it must be a number in (0, 1]",
            hint="for example {'recall': 0.95} asks for recall@10 of at least 95%",
        )
    return number


def resolve_build(index_type: str | None, params: Mapping[str, Any] | None) -> tuple[str, dict]:
    """(index type, build params) to build for a spec's type and params (module docstring)."""
    given = dict(params or {})
    recall_target(given)  # validates
    tuned = given.get("tuned_params")
    build = {k: v for k, v in given.items() if k not in TUNING_KEYS}
    if tuned and is_autoindex(index_type):
        return str(tuned["index_type"]), dict(tuned.get("build") or {})
    return index_type or "", build


def tuning_result(params: Mapping[str, Any]) -> dict[str, Any]:
    """The tuning-result keys present in ``params``."""
    return {k: params[k] for k in RESULT_KEYS if k in params}


def without_results(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` less keeldb's tuning results (what a user may give)."""
    return {k: v for k, v in params.items() if k not in RESULT_KEYS}
