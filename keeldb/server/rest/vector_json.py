"""Vectors in REST JSON (Milvus's RESTful API v2 conventions).

In: dense vectors as arrays of numbers (BINARY: the packed bytes as numbers
0..255); the byte-stored types (FLOAT16, BFLOAT16, INT8, BINARY) may also come
as a base64 string of their bytes, as Milvus's REST layer accepts; sparse
vectors as ``{"index": value}`` objects (JSON keys are strings).
Out: byte-stored vectors as base64 strings (Milvus's REST layer marshals Go
byte slices so), sparse vectors as ``{"index": value}``, float vectors as arrays.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from keeldb.errors import DataError
from keeldb.schema.collection import CollectionSchema
from keeldb.types import DataType

_BYTE_TYPES = (
    DataType.FLOAT16_VECTOR,
    DataType.BFLOAT16_VECTOR,
    DataType.INT8_VECTOR,
    DataType.BINARY_VECTOR,
)


def byte_vector_fields(schema: CollectionSchema) -> list[str]:
    return [f.name for f in schema.vector_fields if f.dtype in _BYTE_TYPES]


def decode_base64(value: Any, where: str) -> Any:
    """A base64 string as bytes; anything else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DataError(f"{where}: a vector string must be base64 of the vector's bytes") from exc


def decode_rows(schema: CollectionSchema, rows: list[Any]) -> list[Any]:
    names = byte_vector_fields(schema)
    if not names:
        return rows
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, dict) and any(isinstance(row.get(n), str) for n in names):
            row = dict(row)
            for name in names:
                row[name] = decode_base64(row.get(name), f"row {i}, field '{name}'")
        out.append(row)
    return out


def encode_value(value: Any) -> Any:
    """A result value as REST JSON: bytes (or a query's ``[bytes]``) → base64 text."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], bytes):
        value = value[0]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def encode_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: encode_value(v) for k, v in row.items()} for row in rows]
