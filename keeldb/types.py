"""Shared value types: data types, metrics, load states.

``DataType`` has the member names and integer values of pymilvus's ``DataType`` so
code written against pymilvus ports by changing an import, and so the server can
put the values on the wire unchanged.
"""

from __future__ import annotations

import enum


class DataType(enum.IntEnum):
    NONE = 0
    BOOL = 1
    INT8 = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    FLOAT = 10
    DOUBLE = 11
    STRING = 20
    VARCHAR = 21
    ARRAY = 22
    JSON = 23
    GEOMETRY = 24
    TEXT = 25
    TIMESTAMPTZ = 26
    BINARY_VECTOR = 100
    FLOAT_VECTOR = 101
    FLOAT16_VECTOR = 102
    BFLOAT16_VECTOR = 103
    SPARSE_FLOAT_VECTOR = 104
    INT8_VECTOR = 105
    UNKNOWN = 999

    @classmethod
    def coerce(cls, value: object) -> DataType:
        """Accept a keeldb or pymilvus DataType, an int, or a name like 'int64'."""
        if isinstance(value, cls):
            return value
        name = getattr(value, "name", None)
        if isinstance(name, str) and name in cls.__members__:
            return cls[name]
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        raise ValueError(f"unknown data type {value!r}")

    @property
    def is_vector(self) -> bool:
        return 100 <= self.value < 200

    @property
    def is_dense_float_vector(self) -> bool:
        """A vector type searched as float32 (FLOAT, FLOAT16, BFLOAT16, INT8)."""
        return self in _DENSE_FLOAT_VECTORS

    @property
    def is_integer(self) -> bool:
        return self in _INTEGER_TYPES

    @property
    def is_float(self) -> bool:
        return self in (DataType.FLOAT, DataType.DOUBLE)

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.is_float

    @property
    def is_string(self) -> bool:
        return self in (DataType.VARCHAR, DataType.STRING, DataType.TEXT)


_DENSE_FLOAT_VECTORS = frozenset(
    {
        DataType.FLOAT_VECTOR,
        DataType.FLOAT16_VECTOR,
        DataType.BFLOAT16_VECTOR,
        DataType.INT8_VECTOR,
    }
)
_INTEGER_TYPES = frozenset({DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64})

#: Inclusive value ranges of the integer types, for validation.
INTEGER_RANGES = {
    DataType.INT8: (-(2**7), 2**7 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
}


class MetricType(str, enum.Enum):
    """Vector metrics and Milvus's score conventions.

    L2 results carry the squared Euclidean distance (smaller is closer); IP and
    COSINE carry a similarity (larger is closer), as Milvus reports them.
    HAMMING (differing bits) and JACCARD (1 - |a & b| / |a | b|) score binary
    vectors as distances (smaller is closer); sparse vectors use IP.
    """

    L2 = "L2"
    IP = "IP"
    COSINE = "COSINE"
    HAMMING = "HAMMING"
    JACCARD = "JACCARD"

    @property
    def higher_is_closer(self) -> bool:
        return self is MetricType.IP or self is MetricType.COSINE


#: The metrics of the float-vector types (FLOAT, FLOAT16, BFLOAT16, INT8).
FLOAT_METRICS = (MetricType.L2, MetricType.IP, MetricType.COSINE)
#: The metrics of BINARY_VECTOR fields.
BINARY_METRICS = (MetricType.HAMMING, MetricType.JACCARD)


class LoadState(enum.IntEnum):
    NotExist = 0
    NotLoad = 1
    Loading = 2
    Loaded = 3
