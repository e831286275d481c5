"""Compiled filters, cached per collection schema.

Parsing and type-checking a filter costs far more than evaluating it on a small
segment, and applications send the same few expressions over and over. A
``CompiledFilter`` is immutable, so one compiled object may serve every thread.
The cache lives on the schema object (immutable once its collection exists),
is bounded, and is keyed by the expression and its template parameters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import orjson

from keeldb.expr import CompiledFilter, compile_filter
from keeldb.schema.collection import CollectionSchema

_MAX_ENTRIES = 512
_lock = threading.Lock()


def cached_filter(
    schema: CollectionSchema, expression: str, params: Mapping[str, Any] | None
) -> CompiledFilter | None:
    try:
        key = (expression, orjson.dumps(params, option=orjson.OPT_SORT_KEYS) if params else b"")
    except TypeError:  # parameters JSON cannot express (numpy arrays, sets): no caching
        return _compile(schema, expression, params)
    cache: OrderedDict = schema.__dict__.setdefault("_filter_cache", OrderedDict())
    with _lock:
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            return found
    compiled = _compile(schema, expression, params)
    with _lock:
        cache[key] = compiled
        if len(cache) > _MAX_ENTRIES:
            cache.popitem(last=False)
    return compiled


def _compile(
    schema: CollectionSchema, expression: str, params: Mapping[str, Any] | None
) -> CompiledFilter | None:
    return compile_filter(
        expression, schema.by_name(), dynamic=schema.enable_dynamic_field, params=params
    )
