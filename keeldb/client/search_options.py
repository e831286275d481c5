"""Reading a ``search`` call's options: index params, range bounds, grouping, tuned defaults.

pymilvus accepts search parameters both nested (``{"params": {"ef": 64}}``) and
flat (``{"ef": 64}``), and grouping options as keyword arguments
(``group_by_field=``, ``group_size=``, ``strict_group_size=``) or inside
``search_params``. Over the wire every value may arrive as a string.

Rules:

- The index's search params are ``params`` merged with every top-level key that
  is not a request option (``metric_type``, ``offset``, ``limit``, grouping
  keys); so ``radius`` / ``range_filter`` work at either level.
- Grouping (:class:`~keeldb.query.grouping.GroupBy`) needs a BOOL, integer or
  VARCHAR field; ``group_size`` is an integer in [1, 1024] (default 1);
  ``strict_group_size`` a boolean (default False). Grouping and range search
  together are refused, as Milvus does.
- Tuned defaults: when the field's index spec carries ``tuned_params`` (from
  AUTOINDEX tuning or ``tune_index``), each tuned search param the call does not
  set is filled in (HNSW's ``ef`` raised to at least ``limit + offset``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keeldb.engine.catalog import IndexSpec
from keeldb.errors import InvalidArgument
from keeldb.query.grouping import GroupBy
from keeldb.schema.collection import CollectionSchema
from keeldb.types import DataType

GROUP_KEYS = ("group_by_field", "group_size", "strict_group_size")
_REQUEST_KEYS = {"metric_type", "params", "offset", "limit", *GROUP_KEYS}
MAX_GROUP_SIZE = 1024
_GROUPABLE = {
    DataType.BOOL, DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64,
    DataType.VARCHAR, DataType.STRING,
}  # fmt: skip


def index_search_params(search_params: Mapping[str, Any]) -> dict[str, Any]:
    """The params an index sees: nested ``params`` plus flat top-level keys."""
    params = dict(search_params.get("params") or {})
    params.update({k: v for k, v in search_params.items() if k not in _REQUEST_KEYS})
    for key in GROUP_KEYS:
        params.pop(key, None)
    return params


def group_by_option(
    schema: CollectionSchema, search_params: Mapping[str, Any], kw: Mapping[str, Any]
) -> GroupBy | None:
    """The grouping a search asks for, validated; None without ``group_by_field``."""
    nested = search_params.get("params") or {}
    found = {key: kw.get(key, search_params.get(key, nested.get(key))) for key in GROUP_KEYS}
    name = found["group_by_field"]
    if not name:
        return None
    field = schema.field(str(name))
    if field.dtype not in _GROUPABLE:
        raise InvalidArgument(
            f"group_by_field '{field.name}' has type {field.dtype.name}: grouping needs a "
            "BOOL, integer or VARCHAR field"
        )
    size = _group_size(found["group_size"])
    strict = _flag(found["strict_group_size"], "strict_group_size")
    return GroupBy(field.name, size, strict)


def _group_size(value: Any) -> int:
    if value is None or value == "":
        return 1
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_GROUP_SIZE:
        raise InvalidArgument(
            f"group_size [{value!r}] is invalid, it should be an integer in [1, {MAX_GROUP_SIZE}]"
        )
    return number


def _flag(value: Any, name: str) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidArgument(f"{name} must be a boolean, got {value!r}")


def with_tuned_defaults(spec: IndexSpec | None, params: dict[str, Any], k: int) -> dict[str, Any]:
    """``params`` with the index's tuned search params filled in where not given."""
    tuned = (spec.params.get("tuned_params") or {}) if spec is not None else {}
    search = tuned.get("search") or {}
    missing = {key: value for key, value in search.items() if key not in params}
    if not missing:
        return params
    if "ef" in missing:
        missing["ef"] = max(int(missing["ef"]), k)
    return {**params, **missing}
