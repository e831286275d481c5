"""Turning user data into validated columns.

``to_batch`` accepts the forms ``insert`` / ``upsert`` take — a row dict, a list
of row dicts, a dict of columns (numpy arrays, Arrow arrays or lists), an Arrow
table or record batch, a pandas DataFrame — and returns a :class:`RowBatch`: an
Arrow table of the scalar fields (plus ``$meta`` for dynamic keys) and one
column per vector field (a float32 ``(n, dim)`` array for FLOAT_VECTOR; the
other types in :mod:`keeldb.schema.vector_values`). Every rule is checked here, before
anything reaches the write-ahead log, so a bad batch is rejected whole.

A dict counts as columnar when its primary-key or vector value is an array
object (numpy, Arrow, pandas) of column shape; otherwise it is one row. In the
columnar forms a ``$meta`` column (one JSON object per row, as the Milvus wire
protocol carries dynamic fields) supplies the dynamic keys of each row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from keeldb.errors import DataError, did_you_mean
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.field import META_COLUMN, FieldSchema
from keeldb.schema.vector_values import VectorColumn, coerce_vector_column
from keeldb.types import INTEGER_RANGES, DataType

_MISSING = object()


@dataclass(frozen=True)
class RowBatch:
    table: pa.Table
    #: one column per vector field (see keeldb.schema.vector_values for each type's form)
    vectors: dict[str, VectorColumn]

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


def to_batch(
    schema: CollectionSchema,
    data: Any,
    *,
    allocate_ids: Callable[[int], np.ndarray] | None = None,
    partial: bool = False,
) -> RowBatch:
    """Validate ``data`` against ``schema``; ``allocate_ids(n)`` fills auto ids."""
    del partial  # partial upserts are not supported yet; every field is required
    columns, extra, n = _columns_of(schema, data)
    if n == 0:
        raise DataError("no rows to write: the data is empty")
    pk = schema.primary_field
    arrays: dict[str, pa.Array] = {}
    vectors: dict[str, VectorColumn] = {}
    for f in schema.fields:
        values = columns.get(f.name, _MISSING)
        if f.is_primary and f.auto_id:
            if values is not _MISSING:
                raise DataError(
                    f"the primary key '{f.name}' is auto-generated (auto_id=True); "
                    "do not pass it in the data",
                    hint="drop the field from your rows, or use a collection with auto_id=False",
                )
            if allocate_ids is None:
                raise DataError(f"auto_id field '{f.name}' needs generated ids")
            ids = allocate_ids(n)
            arrays[f.name] = pa.array(ids if f.dtype == DataType.INT64 else ids.astype(str))
            continue
        if f.is_vector:
            vectors[f.name] = _vector_column(f, values, n)
        else:
            arrays[f.name] = _scalar_column(f, values, n)
    if schema.enable_dynamic_field:
        arrays[META_COLUMN] = _meta_column(extra, n)
    _check_unique_pks(pk, arrays[pk.name])
    table = pa.Table.from_arrays(list(arrays.values()), names=list(arrays.keys()))
    return RowBatch(table=table, vectors=vectors)


# -- shape detection ----------------------------------------------------------


def _columns_of(
    schema: CollectionSchema, data: Any
) -> tuple[dict[str, Any], list[dict] | None, int]:
    """Return (field -> column values, per-row dynamic dicts or None, row count)."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if _is_dataframe(data):
        data = pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, pa.Table):
        return _from_columns(schema, {n: data.column(n) for n in data.column_names}, data.num_rows)
    if isinstance(data, Mapping):
        if _is_columnar(schema, data):
            lengths = {len(v) for v in data.values()}
            if len(lengths) != 1:
                raise DataError(
                    "columns have different lengths: "
                    + ", ".join(f"{k}={len(v)}" for k, v in data.items())
                )
            return _from_columns(schema, dict(data), lengths.pop())
        data = [data]
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise DataError(
            f"data must be a row dict, a list of row dicts, a dict of columns or an "
            f"Arrow table, not {type(data).__name__}"
        )
    return _from_rows(schema, data)


def _is_dataframe(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns")


def _is_columnar(schema: CollectionSchema, data: Mapping[str, Any]) -> bool:
    for f in schema.fields:
        value = data.get(f.name)
        if value is None:
            continue
        if isinstance(value, (pa.Array, pa.ChunkedArray)) or type(value).__name__ == "Series":
            return True
        if isinstance(value, np.ndarray):
            return value.ndim == (2 if f.is_vector else 1)
        if f.dtype == DataType.SPARSE_FLOAT_VECTOR and hasattr(value, "tocsr"):
            return value.shape[0] != 1  # a scipy matrix of several rows is a column
    return False


def _from_columns(
    schema: CollectionSchema, cols: dict[str, Any], n: int
) -> tuple[dict[str, Any], list[dict] | None, int]:
    names = set(schema.field_names)
    unknown = [k for k in cols if k not in names and k != META_COLUMN]
    if unknown and not schema.enable_dynamic_field:
        _reject_unknown(schema, unknown[0])
    extra = None
    if unknown:
        lists = {k: _to_pylist(cols[k]) for k in unknown}
        extra = [{k: lists[k][i] for k in unknown} for i in range(n)]
    if META_COLUMN in cols and schema.enable_dynamic_field:
        metas = [_meta_dict(v, i) for i, v in enumerate(_to_pylist(cols[META_COLUMN]))]
        extra = metas if extra is None else [{**m, **e} for m, e in zip(metas, extra)]
    return {k: cols[k] for k in cols if k in names}, extra, n


def _meta_dict(value: Any, row: int) -> dict:
    """One row of a ``$meta`` column (a JSON object as text or bytes, a dict, or null)."""
    if value is None:
        return {}
    if isinstance(value, (str, bytes)):
        try:
            value = orjson.loads(value) if value else {}
        except orjson.JSONDecodeError as exc:
            raise DataError(
                f"row {row}: the dynamic field ($meta) is not valid JSON: {exc}"
            ) from exc
    if not isinstance(value, Mapping):
        raise DataError(
            f"row {row}: the dynamic field ($meta) must be a JSON object, "
            f"not {type(value).__name__}"
        )
    return dict(value)


def _from_rows(
    schema: CollectionSchema, rows: Sequence[Any]
) -> tuple[dict[str, Any], list[dict] | None, int]:
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DataError(f"row {i} must be a dict of field values, not {type(row).__name__}")
    names = schema.field_names
    columns = {name: [row.get(name, _MISSING) for row in rows] for name in names}
    for name in names:
        if all(v is _MISSING for v in columns[name]):
            columns[name] = _MISSING
    known = set(names)
    extra: list[dict] | None = None
    if schema.enable_dynamic_field:
        extra = [
            {k: v for k, v in row.items() if k not in known and k != META_COLUMN} for row in rows
        ]
    else:
        for row in rows:
            for key in row:
                if key not in known:
                    _reject_unknown(schema, key)
    return columns, extra, len(rows)


def _reject_unknown(schema: CollectionSchema, key: str) -> None:
    raise DataError(
        f"field '{key}' is not in the collection schema and dynamic fields are disabled",
        hint=did_you_mean(key, schema.field_names)
        or "enable_dynamic_field=True stores extra keys as dynamic fields",
    )


def _to_pylist(values: Any) -> list:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.to_pylist()
    if isinstance(values, np.ndarray):
        return values.tolist()
    return list(values)


# -- columns ------------------------------------------------------------------


def _vector_column(f: FieldSchema, values: Any, n: int) -> VectorColumn:
    if values is _MISSING:
        raise DataError(f"missing vector field '{f.name}': every row needs a vector")
    if f.dtype != DataType.FLOAT_VECTOR:
        if isinstance(values, list) and any(v is _MISSING for v in values):
            i = next(i for i, v in enumerate(values) if v is _MISSING)
            raise DataError(f"row {i}: missing vector field '{f.name}'")
        return coerce_vector_column(f, values, n)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.FixedSizeListArray):
        arr = values.flatten().to_numpy(zero_copy_only=False).reshape(len(values), -1)
    elif isinstance(values, pa.Array):
        values = values.to_pylist()
    if not isinstance(values, pa.Array):
        if isinstance(values, list) and any(v is _MISSING or v is None for v in values):
            i = next(i for i, v in enumerate(values) if v is _MISSING or v is None)
            raise DataError(f"row {i}: missing vector field '{f.name}'")
        try:
            arr = np.asarray(values, dtype=np.float32)
        except (ValueError, TypeError) as exc:
            raise DataError(_dim_message(f, values) or f"vector field '{f.name}': {exc}") from exc
    if arr.ndim != 2 or arr.shape[1] != f.dim or arr.shape[0] != n:
        raise DataError(_dim_message(f, values) or f"vector field '{f.name}' has shape {arr.shape}")
    if not np.isfinite(arr).all():
        row = int(np.nonzero(~np.isfinite(arr).all(axis=1))[0][0])
        raise DataError(
            f"vector field '{f.name}', row {row}: NaN or infinite values are not allowed"
        )
    return np.ascontiguousarray(arr, dtype=np.float32)


def _dim_message(f: FieldSchema, values: Any) -> str | None:
    try:
        for i, v in enumerate(values):
            if len(v) != f.dim:
                return (
                    f"the dim ({len(v)}) of vector field '{f.name}' in row {i} does not match "
                    f"the schema's dim ({f.dim})"
                )
    except TypeError:
        return f"vector field '{f.name}' expects a list of {f.dim} floats per row"
    return None


def _scalar_column(f: FieldSchema, values: Any, n: int) -> pa.Array:
    if values is _MISSING:
        values = [_MISSING] * n
    if isinstance(values, (pa.Array, pa.ChunkedArray)) and f.dtype != DataType.JSON:
        arr = _cast_arrow(f, values)
    else:
        if isinstance(values, (pa.Array, pa.ChunkedArray)) or (
            isinstance(values, np.ndarray) and values.dtype == object
        ):
            values = values.to_pylist() if hasattr(values, "to_pylist") else values.tolist()
        if isinstance(values, list):
            values = _fill_missing(f, values)
        if f.dtype == DataType.JSON:
            return _json_column(f, values)
        try:
            arr = pa.array(values, type=f.arrow_type(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            raise DataError(_type_message(f, values, exc)) from exc
    if arr.null_count and not f.nullable:
        row = int(np.nonzero(arr.is_null().to_numpy(zero_copy_only=False))[0][0])
        raise DataError(f"field '{f.name}', row {row}: null is not allowed (field is not nullable)")
    _check_limits(f, arr)
    return arr


def _cast_arrow(f: FieldSchema, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    try:
        arr = values.cast(f.arrow_type())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise DataError(
            f"field '{f.name}': column of Arrow type {values.type} does not fit type "
            f"{f.dtype.name}: {exc}"
        ) from exc
    if f.default_value is not None and arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(f.default_value, type=arr.type))
    return arr


def _fill_missing(f: FieldSchema, values: list) -> list:
    out = values
    for i, v in enumerate(values):
        if v is _MISSING or v is None:
            if out is values:
                out = list(values)
            if f.default_value is not None:
                out[i] = f.default_value
            elif f.nullable:
                out[i] = None
            elif v is _MISSING:
                raise DataError(
                    f"row {i} is missing field '{f.name}', which is neither nullable nor has "
                    "a default value"
                )
            else:
                raise DataError(f"field '{f.name}', row {i}: null is not allowed (not nullable)")
    return out


def _json_column(f: FieldSchema, values: Any) -> pa.Array:
    if isinstance(values, np.ndarray):
        values = values.tolist()
    out: list[str | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        try:
            out.append(orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        except TypeError as exc:
            raise DataError(
                f"field '{f.name}', row {i}: value is not JSON-serialisable: {exc}"
            ) from exc
    return pa.array(out, type=pa.string())


def _meta_column(extra: list[dict] | None, n: int) -> pa.Array:
    if extra is None:
        return pa.array(["{}"] * n, type=pa.string())
    try:
        return pa.array(
            [orjson.dumps(d, option=orjson.OPT_SERIALIZE_NUMPY).decode() for d in extra],
            type=pa.string(),
        )
    except TypeError as exc:
        raise DataError(f"a dynamic field value is not JSON-serialisable: {exc}") from exc


def _type_message(f: FieldSchema, values: Any, exc: Exception) -> str:
    expected = f.dtype.name if f.dtype != DataType.ARRAY else f"ARRAY of {f.element_type.name}"
    sample = None
    try:
        for i, v in enumerate(values):
            if v is not None and not _fits(f, v):
                sample = (i, v)
                break
    except TypeError:
        pass
    if sample:
        return (
            f"field '{f.name}', row {sample[0]}: value {sample[1]!r} "
            f"({type(sample[1]).__name__}) does not fit type {expected}"
        )
    return f"field '{f.name}': values do not fit type {expected}: {exc}"


def _fits(f: FieldSchema, v: Any) -> bool:
    try:
        check_scalar(f, v)
        return True
    except DataError:
        return False


def check_scalar(f: FieldSchema, v: Any) -> None:
    """Check one scalar value (a default value, say) against a field's type."""
    t = f.dtype
    if t == DataType.BOOL:
        ok = isinstance(v, (bool, np.bool_))
    elif t.is_integer:
        ok = isinstance(v, (int, np.integer)) and not isinstance(v, bool)
        if ok:
            low, high = INTEGER_RANGES[t]
            if not low <= int(v) <= high:
                raise DataError(f"value {v} is out of range for {t.name} [{low}, {high}]")
    elif t.is_float:
        ok = isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
    elif t == DataType.VARCHAR:
        ok = isinstance(v, str)
        if ok and f.max_length is not None and len(v.encode()) > f.max_length:
            raise DataError(f"length {len(v.encode())} exceeds max_length {f.max_length}")
    elif t == DataType.ARRAY:
        ok = isinstance(v, (list, tuple, np.ndarray))
    else:
        ok = True
    if not ok:
        raise DataError(f"value {v!r} is not a valid {t.name}")


def _check_limits(f: FieldSchema, arr: pa.Array) -> None:
    if f.dtype.is_float:
        bad = ~np.isfinite(arr.to_numpy(zero_copy_only=False).astype(np.float64))
        bad &= ~arr.is_null().to_numpy(zero_copy_only=False)
        if bad.any():
            i = int(np.nonzero(bad)[0][0])
            raise DataError(
                f"field '{f.name}', row {i}: value '{arr[i].as_py()}' is not a number or infinity",
                hint="NaN and infinite values are not allowed",
            )
    elif f.dtype == DataType.VARCHAR:
        _check_lengths(f.name, arr, f.max_length, "max_length")
    elif f.dtype == DataType.ARRAY:
        lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
        too_long = np.nonzero(np.nan_to_num(lengths, nan=0) > f.max_capacity)[0]
        if len(too_long):
            i = int(too_long[0])
            raise DataError(
                f"field '{f.name}', row {i}: the array has {int(lengths[i])} elements, "
                f"more than max_capacity {f.max_capacity}"
            )
        if f.element_type == DataType.VARCHAR:
            _check_lengths(f.name, pc.list_flatten(arr), f.max_length, "max_length")


def _check_lengths(name: str, arr: pa.Array, limit: int | None, rule: str) -> None:
    if limit is None or len(arr) == 0:
        return
    lengths = pc.binary_length(arr).fill_null(0).to_numpy(zero_copy_only=False)
    over = np.nonzero(lengths > limit)[0]
    if len(over):
        i = int(over[0])
        raise DataError(
            f"field '{name}': the length ({int(lengths[i])} bytes) of value {i} exceeds "
            f"{rule} ({limit})",
            hint=f"shorten the value or raise {rule}",
        )


def _check_unique_pks(pk: FieldSchema, arr: pa.Array) -> None:
    if len(arr) < 2:
        return
    if pc.count_distinct(arr).as_py() != len(arr):
        counts = pc.value_counts(arr)
        dup = next(c["values"] for c in counts.to_pylist() if c["counts"] > 1)
        raise DataError(
            f"duplicate primary key {dup!r} in field '{pk.name}' within one batch",
            hint="each row in a batch needs a distinct primary key",
        )


def coerce_keys(pk: FieldSchema, keys: list[Any]) -> list[Any]:
    """Primary-key values given to get / delete / query(ids=...) in the key's type.

    INT64 keys accept ints and integer strings (pymilvus turns ``ids`` into an
    expression, so ``"3"`` works there too); VARCHAR keys accept strings.
    """
    out: list[Any] = []
    for key in keys:
        if pk.dtype == DataType.INT64:
            if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer, str)):
                raise DataError(
                    f"primary key '{pk.name}' is INT64; {key!r} ({type(key).__name__}) is not an id"
                )
            try:
                key = int(key)
            except ValueError:
                raise DataError(f"primary key '{pk.name}' is INT64; {key!r} is not an id") from None
        elif not isinstance(key, str):
            raise DataError(
                f"primary key '{pk.name}' is VARCHAR; {key!r} ({type(key).__name__}) is not an id"
            )
        out.append(key)
    return out
