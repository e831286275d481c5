"""``IndexParams``: the object ``prepare_index_params()`` returns, as in pymilvus.

It is a list of index definitions built with ``add_index(field_name=...,
index_type=..., metric_type=..., params=...)``. An empty ``index_type`` means
AUTOINDEX, as in Milvus. pymilvus's own ``IndexParams`` objects are accepted
too (:func:`index_entries` reads either).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class IndexParams:
    def __init__(self, field_name: str = "", **kwargs: Any) -> None:
        self._entries: list[dict[str, Any]] = []
        if field_name:
            self.add_index(field_name, **kwargs)

    def add_index(
        self,
        field_name: str,
        index_type: str = "",
        index_name: str = "",
        metric_type: str = "",
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        merged = dict(params or {})
        merged.update(kwargs)
        self._entries.append(
            {
                "field_name": field_name,
                "index_type": index_type or "",
                "index_name": index_name or "",
                "metric_type": metric_type or "",
                "params": merged,
            }
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"IndexParams({self._entries!r})"


_ENTRY_KEYS = {"field_name", "index_type", "index_name", "metric_type", "params"}


def index_entries(index_params: Any) -> list[dict[str, Any]]:
    """Normalised entries of a keeldb or pymilvus IndexParams (or a list of dicts)."""
    if index_params is None:
        return []
    out = []
    for item in index_params:
        if isinstance(item, dict):
            raw = dict(item)
        else:  # pymilvus IndexParam object
            raw = {
                "field_name": getattr(item, "field_name", ""),
                "index_type": getattr(item, "index_type", ""),
                "index_name": getattr(item, "index_name", ""),
                "metric_type": getattr(item, "metric_type", "") or "",
                "params": dict(getattr(item, "params", {}) or {}),
            }
        params = dict(raw.get("params") or {})
        params.update({k: v for k, v in raw.items() if k not in _ENTRY_KEYS})
        params.pop("metric_type", None)
        params.pop("index_type", None)
        out.append(
            {
                "field_name": raw.get("field_name", ""),
                "index_type": raw.get("index_type") or "",
                "index_name": raw.get("index_name") or "",
                "metric_type": raw.get("metric_type") or "",
                "params": params,
            }
        )
    return out
