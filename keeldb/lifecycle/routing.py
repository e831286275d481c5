"""What the client's write and search paths ask the lifecycle layer.

A :class:`WriteRoute` says where rows written to a name go and how their
vectors are made:

- a bound physical collection: one target; rows without the vector get it from
  the bound model (rows that carry a vector are written as they are);
- a versioned collection (its logical name): every live version is a target,
  each filled by its own model (dual write). Rows must carry the text and no
  vector (a vector belongs to one space only). Writes to all targets happen
  under the collection's lock, so every version sees the same order of writes,
  and the re-embedding job's check-then-write cannot interleave with them.

:func:`query_vectors` turns search ``data`` into vectors of the field's space:
text is embedded with the bound version; :class:`SpaceVectors` or a ``model=``
reference from another space is rejected.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from keeldb.errors import DataError, InvalidArgument
from keeldb.lifecycle.encoders import Encoder
from keeldb.lifecycle.spaces import EmbeddingSpace, SpaceVectors

__all__ = ["WriteRoute", "query_vectors", "rows_of"]

EncoderFor = Callable[[EmbeddingSpace], Encoder]


def rows_of(data: Any, text_field: str) -> list[dict[str, Any]]:
    """User write data (rows, one row, columns, Arrow, pandas) as a list of row dicts."""
    if isinstance(data, dict):
        column = data.get(text_field)
        if isinstance(column, (list, tuple, np.ndarray)):  # columnar: {field: values}
            n = len(column)
            return [{k: v[i] for k, v in data.items()} for i in range(n)]
        return [dict(data)]
    if hasattr(data, "to_pylist"):  # pyarrow Table / RecordBatch
        return data.to_pylist()
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas DataFrame
        return data.to_dict("records")
    if isinstance(data, (list, tuple)):
        return [dict(row) for row in data]
    raise DataError(f"cannot read rows from {type(data).__name__}")


class WriteRoute:
    def __init__(
        self,
        targets: list[tuple[str, EmbeddingSpace]],
        primary: str,
        encoder_for: EncoderFor,
        lock: threading.RLock | None = None,
        observe: Callable[[EmbeddingSpace, Any], None] | None = None,
    ) -> None:
        self.targets = targets
        self.primary = primary
        self.encoder_for = encoder_for
        self.lock = lock
        self.observe = observe  # sees the vectors a model made (drift monitoring)

    @property
    def fan_out(self) -> bool:
        return self.lock is not None

    def write(self, data: Any, write_fn: Callable[[str, Any], list[Any]]) -> list[Any]:
        """Fill vectors, then ``write_fn(target, rows)`` for every target; the primary's ids."""
        prepared = self.prepare(data)
        if self.lock is None:
            return write_fn(self.primary, prepared[self.primary])
        with self.lock:
            ids = write_fn(self.primary, prepared[self.primary])
            for target, _ in self.targets:
                if target != self.primary:
                    write_fn(target, prepared[target])
        return ids

    def delete(self, delete_fn: Callable[[str], Any]) -> Any:
        if self.lock is None:
            return delete_fn(self.primary)
        with self.lock:
            result = delete_fn(self.primary)
            for target, _ in self.targets:
                if target != self.primary:
                    delete_fn(target)
        return result

    def prepare(self, data: Any) -> dict[str, Any]:
        field_name = self.targets[0][1].field
        text_field = self.targets[0][1].text_field
        if not self.fan_out and _has_vectors(data, field_name):
            return {self.primary: data}  # fast path: vectors given, nothing to embed
        rows = rows_of(data, text_field)
        missing = [i for i, r in enumerate(rows) if r.get(field_name) is None]
        if self.fan_out and len(missing) != len(rows):
            bad = next(i for i, r in enumerate(rows) if r.get(field_name) is not None)
            raise DataError(
                f"row {bad} carries '{field_name}', but this versioned collection makes its "
                f"vectors from '{text_field}' with each version's model",
                hint=f"leave '{field_name}' out and pass '{text_field}'",
            )
        texts = []
        for i in missing:
            text = rows[i].get(text_field)
            if not isinstance(text, str):
                raise DataError(
                    f"row {i} has neither '{field_name}' nor a text '{text_field}' to embed",
                    hint=f"'{text_field}' must be a string",
                )
            texts.append(text)
        out: dict[str, Any] = {}
        for target, space in self.targets:
            vectors = self.encoder_for(space).encode(texts) if texts else None
            if vectors is not None and self.observe is not None:
                self.observe(space, vectors)
            filled = [dict(r) for r in rows] if self.fan_out else rows
            for j, i in enumerate(missing):
                filled[i][field_name] = vectors[j]  # type: ignore[index]
            out[target] = filled
        return out


def _has_vectors(data: Any, field_name: str) -> bool:
    if isinstance(data, dict):
        return data.get(field_name) is not None
    if hasattr(data, "column_names"):
        return field_name in data.column_names
    if hasattr(data, "columns"):
        return field_name in data.columns
    if isinstance(data, (list, tuple)):
        return bool(data) and all(
            isinstance(r, dict) and r.get(field_name) is not None for r in data
        )
    return False


def _is_text(data: Any) -> bool:
    if isinstance(data, str):
        return True
    return isinstance(data, (list, tuple)) and bool(data) and all(isinstance(x, str) for x in data)


def query_vectors(
    space: EmbeddingSpace | None,
    collection: str,
    field_name: str,
    data: Any,
    model_space_key: str | None,
    encoder_for: EncoderFor,
) -> Any:
    """Search data as vectors of ``space``; text is embedded, foreign spaces rejected."""
    tagged = data.space_key if isinstance(data, SpaceVectors) else model_space_key
    if tagged and space is not None and tagged != space.key:
        raise InvalidArgument(
            f"query vectors come from embedding space {tagged} but field '{field_name}' of "
            f"'{collection}' holds vectors of space {space.key}; their distances mean nothing",
            hint=f"embed the query with model {space.model_ref} (or search with text)",
        )
    if tagged and space is None:
        raise InvalidArgument(
            f"query vectors come from embedding space {tagged} but field '{field_name}' of "
            f"'{collection}' is not bound to any model",
            hint="bind the field with lifecycle.bind_space(...) or search with plain vectors",
        )
    if not _is_text(data):
        if isinstance(data, Sequence) and any(isinstance(x, str) for x in data):
            raise InvalidArgument("search data mixes text and vectors; pass one kind")
        return data
    if space is None:
        raise InvalidArgument(
            f"search with text needs an embedding space, but field '{field_name}' of "
            f"'{collection}' is not bound to a model",
            hint="bind it with client.lifecycle.bind_space(collection, model=...)",
        )
    texts = [data] if isinstance(data, str) else list(data)
    return encoder_for(space).encode(texts)
