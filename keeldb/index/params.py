"""Declarative index parameters: ranges, defaults and their validation.

Each index type declares its build and search parameters as :class:`IntParam` /
:class:`ChoiceParam` specs; :func:`normalize_build_params` and
:func:`normalize_search_params` turn what a user sent into a plain dict with
defaults filled in, or raise :class:`IndexParamError` naming the parameter, the
value and the allowed range.

Rules (Milvus-compatible where Milvus has one):

- Integers may arrive as ints or decimal strings (the Milvus wire protocol
  carries index params as strings); booleans and fractional floats are rejected.
- Unknown *build* parameters are errors. Unknown *search* parameters are
  ignored, as in Milvus, because clients send one search-param dict to every
  index type (``nprobe`` reaching an HNSW index is normal).
- A spec's default may depend on the vector dimension (IVF_PQ's ``m``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from keeldb.errors import IndexParamError, did_you_mean
from keeldb.index.faiss_refine import PRECISION_BITS, REFINE_TYPES, SQ_TYPES

INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class IntParam:
    """An integer parameter in the inclusive range [low, high].

    ``default`` is a value, a function of the dimension, or None for "no
    default" (left out of the normalised dict when the user does not send it).
    """

    name: str
    low: int
    high: int
    default: int | Callable[[int], int] | None = None

    def parse(self, value: Any, index_type: str) -> int:
        number = _as_int(value)
        # Milvus's (knowhere's) wording, so clients matching on it keep working
        if number is None:
            raise IndexParamError(
                f"invalid integer value, key: '{self.name}', value: '{value}'",
                hint=f"{index_type} expects an integer in [{self.low}, {self.high}]",
            )
        if not self.low <= number <= self.high:
            raise IndexParamError(
                f"param '{self.name}' ({number}) should be in range [{self.low}, {self.high}]",
                hint=f"{index_type} parameter '{self.name}'",
            )
        return number

    def default_for(self, dim: int) -> int | None:
        return self.default(dim) if callable(self.default) else self.default


@dataclass(frozen=True)
class ChoiceParam:
    """A string parameter with a fixed set of values; ``default`` is never echoed back."""

    name: str
    choices: tuple[str, ...]
    default: str

    def parse(self, value: Any, index_type: str) -> str:
        if isinstance(value, str) and value.lower() in self.choices:
            return value.lower()
        raise IndexParamError(
            f"invalid value for {index_type} parameter '{self.name}': {value!r}",
            hint=f"expected one of {', '.join(self.choices)}",
        )

    def default_for(self, dim: int) -> str | None:
        # keeldb-only switches stay out of the normalised dict unless set, so
        # describe_index shows Milvus's parameter set.
        return None


@dataclass(frozen=True)
class BoolParam:
    """A boolean (``true``/``false`` also as strings: the wire carries params as text)."""

    name: str
    default: bool | None = None

    def parse(self, value: Any, index_type: str) -> bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise IndexParamError(
            f"invalid boolean value, key: '{self.name}', value: '{value}'",
            hint=f"{index_type} expects true or false",
        )

    def default_for(self, dim: int) -> bool | None:
        return self.default


@dataclass(frozen=True)
class FloatParam:
    """A number in the inclusive range [low, high] (ints and numeric strings too)."""

    name: str
    low: float
    high: float
    default: float | None = None

    def parse(self, value: Any, index_type: str) -> float:
        number = None
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool | np.bool_
        ):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not np.isfinite(number):
            raise IndexParamError(
                f"invalid float value, key: '{self.name}', value: '{value}'",
                hint=f"{index_type} expects a number in [{self.low:g}, {self.high:g}]",
            )
        if not self.low <= number <= self.high:
            raise IndexParamError(
                f"param '{self.name}' ({number:g}) should be in range "
                f"[{self.low:g}, {self.high:g}]",
                hint=f"{index_type} parameter '{self.name}'",
            )
        return number

    def default_for(self, dim: int) -> float | None:
        return self.default


ParamSpec = IntParam | ChoiceParam | BoolParam | FloatParam


def normalize_build_params(
    index_type: str, specs: Sequence[ParamSpec], given: Mapping[str, Any] | None, dim: int
) -> dict[str, Any]:
    """Validate build params and fill defaults; unknown names are errors."""
    given = dict(given or {})
    by_name = {spec.name: spec for spec in specs}
    for name in given:
        if name not in by_name:
            valid = ", ".join(by_name) or "none"
            raise IndexParamError(
                f"unknown build parameter {name!r} for index type {index_type} "
                f"(valid parameters: {valid})",
                hint=did_you_mean(str(name), by_name),
            )
    return _fill(index_type, specs, given, dim)


def normalize_search_params(
    index_type: str, specs: Sequence[ParamSpec], given: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Validate the search params this index knows and ignore the rest (see module doc)."""
    given = dict(given or {})
    known = {spec.name for spec in specs}
    return _fill(index_type, specs, {k: v for k, v in given.items() if k in known}, dim=0)


def _fill(
    index_type: str, specs: Sequence[ParamSpec], given: Mapping[str, Any], dim: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name in given:
            out[spec.name] = spec.parse(given[spec.name], index_type)
        else:
            default = spec.default_for(dim)
            if default is not None:
                out[spec.name] = default
    return out


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    return None


# --- the parameter tables -------------------------------------------------------------
#
# Ranges are Milvus's documented ones. Defaults: HNSW M=30, efConstruction=360 are
# Milvus's (knowhere's) defaults when a user omits them; AUTOINDEX resolves to
# HNSW with Milvus's autoIndex build params (M=18, efConstruction=240; see the
# registry). IVF nlist=128 and nprobe=8 are Milvus's defaults.


def default_pq_m(dim: int) -> int:
    """The largest divisor of ``dim`` that is at most ``dim / 4`` (1 below dim 4).

    Sub-vectors of about four dimensions: codes 16x smaller than float32 at
    nbits=8, the usual recall/size trade-off (each sub-quantizer is a k-means
    at build time, so a larger m also builds slower). Milvus documents no
    default for IVF_PQ's ``m``.
    """
    return max((d for d in range(1, dim // 4 + 1) if dim % d == 0), default=1)


NLIST = IntParam("nlist", 1, 65536, 128)
HNSW_GRAPH = (IntParam("M", 2, 2048, 30), IntParam("efConstruction", 1, INT32_MAX, 360))
# HNSW_SQ / HNSW_PQ / SCANN: Milvus's names, ranges and defaults (docs/milvus-behaviour.md §7)
REFINE = (BoolParam("refine"), ChoiceParam("refine_type", REFINE_TYPES, "fp32"))
QUANTIZED_BUILD_SPECS: dict[str, tuple[ParamSpec, ...]] = {
    "HNSW_SQ": (*HNSW_GRAPH, ChoiceParam("sq_type", tuple(SQ_TYPES), "sq8"), *REFINE),
    "HNSW_PQ": (
        *HNSW_GRAPH,
        IntParam("m", 1, 65536, lambda dim: 32 if dim % 32 == 0 else default_pq_m(dim)),
        IntParam("nbits", 1, 24, 8),
        *REFINE,
    ),
    "SCANN": (NLIST, BoolParam("with_raw_data")),
}
QUANTIZED_SEARCH_SPECS: dict[str, tuple[ParamSpec, ...]] = {
    "HNSW_SQ": (IntParam("ef", 1, INT32_MAX), FloatParam("refine_k", 1.0, 3.4e38, 1.0)),
    "HNSW_PQ": (IntParam("ef", 1, INT32_MAX), FloatParam("refine_k", 1.0, 3.4e38, 1.0)),
    # reorder_k defaults to k (resolved per call)
    "SCANN": (IntParam("nprobe", 1, 65536, 8), IntParam("reorder_k", 1, INT32_MAX)),
}
#: index types searched with HNSW's ``ef`` rules
HNSW_TYPES = ("HNSW", "HNSW_SQ", "HNSW_PQ")
HNSW_BACKEND = ChoiceParam("backend", ("faiss", "hnswlib"), "faiss")

BUILD_SPECS: dict[str, tuple[ParamSpec, ...]] = {
    "FLAT": (),
    "HNSW": (
        IntParam("M", 2, 2048, 30),
        IntParam("efConstruction", 1, INT32_MAX, 360),
        HNSW_BACKEND,
    ),
    "IVF_FLAT": (NLIST,),
    "IVF_SQ8": (NLIST,),
    "IVF_PQ": (
        NLIST,
        IntParam("m", 1, 65536, default_pq_m),
        IntParam("nbits", 1, 16, 8),
    ),
    # Milvus's ANNOY: n_trees in [1, 1024], default 8
    "ANNOY": (IntParam("n_trees", 1, 1024, 8),),
    **QUANTIZED_BUILD_SPECS,
}

#: Default HNSW ``ef`` is ``max(k, HNSW_DEFAULT_EF)``.
HNSW_DEFAULT_EF = 64

SEARCH_SPECS: dict[str, tuple[ParamSpec, ...]] = {
    "FLAT": (),
    "HNSW": (IntParam("ef", 1, INT32_MAX),),
    "IVF_FLAT": (IntParam("nprobe", 1, 65536, 8),),
    "IVF_SQ8": (IntParam("nprobe", 1, 65536, 8),),
    "IVF_PQ": (IntParam("nprobe", 1, 65536, 8),),
    # -1: Annoy's default, k * n_trees nodes inspected
    "ANNOY": (IntParam("search_k", -1, INT32_MAX, -1),),
    **QUANTIZED_SEARCH_SPECS,
}


def check_build_params(index_type: str, params: Mapping[str, Any], dim: int) -> None:
    """Checks that involve more than one parameter or the dimension."""
    if index_type in ("IVF_PQ", "HNSW_PQ") and dim % params["m"] != 0:
        raise IndexParamError(
            f"{index_type} parameter 'm' ({params['m']}) must divide the vector dimension ({dim})",
            hint="choose m so that dim % m == 0",
        )
    check_refine(index_type, params)


def resolve_search_params(
    index_type: str, given: Mapping[str, Any] | None, k: int
) -> dict[str, Any]:
    """Normalise search params for ``index_type`` and a top-``k`` request."""
    given = given or {}
    params = normalize_search_params(index_type, SEARCH_SPECS[index_type], given)
    if params.get("search_k") == 0:
        raise IndexParamError(
            "ANNOY parameter 'search_k' must be -1 (the default, k * n_trees) or positive"
        )
    if index_type in HNSW_TYPES:
        ef = params.setdefault("ef", max(k, HNSW_DEFAULT_EF))
        if ef < k:
            # Milvus's wording, so clients matching on it keep working.
            raise IndexParamError(f"ef({ef}) should be larger than k({k})")
    return params


def check_refine(index_type: str, params: Mapping[str, Any]) -> None:
    """A refine copy must be more precise than the codes it re-ranks (HNSW_SQ)."""
    if not params.get("refine"):
        return
    codes = params.get("sq_type", "sq8") if index_type == "HNSW_SQ" else None
    refine = params.get("refine_type", "fp32")
    if codes is not None and PRECISION_BITS[refine] <= PRECISION_BITS[codes]:
        raise IndexParamError(
            f"refine_type ({refine.upper()}) must be more precise than sq_type ({codes.upper()})",
            hint="use a refine_type with more bits per dimension, e.g. FP32",
        )
