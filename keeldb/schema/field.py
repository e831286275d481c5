"""Field schemas: one typed column of a collection, validated the way Milvus does.

A ``FieldSchema`` is immutable once its collection exists. ``field_id`` is
assigned by the collection schema, starting at 100 as in Milvus. Each field maps
to one Arrow type (``arrow_type``), which is how rows are held in memory, in the
WAL and in segment files:

    BOOL -> bool         INT8..INT64 -> int8..int64    FLOAT -> float32
    DOUBLE -> float64    VARCHAR -> string              JSON -> string (JSON text)
    ARRAY(e) -> list<e>  FLOAT_VECTOR(dim) -> fixed_size_list<float32, dim>
    FLOAT16_VECTOR(dim) -> fixed_size_list<float16, dim>
    BFLOAT16_VECTOR(dim) -> fixed_size_list<float32, dim> (values rounded to bfloat16)
    INT8_VECTOR(dim) -> fixed_size_list<int8, dim>
    BINARY_VECTOR(dim) -> fixed_size_list<uint8, dim / 8>   (packed bits, MSB first)
    SPARSE_FLOAT_VECTOR -> struct<indices: list<uint32>, values: list<float32>>

Vector columns are kept outside the Arrow table in memory (see
``keeldb.schema.vector_values``); their Arrow types describe WAL records.

A null is an Arrow null. Dynamic fields live in the hidden ``$meta`` column as a
JSON object text per row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from keeldb.errors import SchemaError
from keeldb.types import INTEGER_RANGES, DataType

NAME_MAX_LENGTH = 255
MAX_LENGTH_LIMIT = 65_535
MAX_CAPACITY_LIMIT = 4_096
DIM_LIMIT = 32_768
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Words of the filter language; Milvus refuses them as field names (any casing).
FILTER_KEYWORDS = frozenset(
    {
        "like", "exists", "and", "or", "not", "in", "true", "false", "null",
        "json_contains", "json_contains_all", "json_contains_any",
        "array_contains", "array_contains_all", "array_contains_any", "array_length",
        "text_match", "phrase_match", "random_sample", "is",
    }
)  # fmt: skip

#: Column names keeldb keeps for itself; user fields may not use them.
META_COLUMN = "$meta"
SEQ_COLUMN = "$seq"
PARTITION_COLUMN = "$partition"
RESERVED_FIELD_NAMES = frozenset({META_COLUMN, SEQ_COLUMN, PARTITION_COLUMN, "$meta"})

SCALAR_TYPES = frozenset(
    {
        DataType.BOOL,
        DataType.INT8,
        DataType.INT16,
        DataType.INT32,
        DataType.INT64,
        DataType.FLOAT,
        DataType.DOUBLE,
        DataType.VARCHAR,
        DataType.JSON,
        DataType.ARRAY,
    }
)
VECTOR_TYPES = frozenset(
    {
        DataType.FLOAT_VECTOR,
        DataType.FLOAT16_VECTOR,
        DataType.BFLOAT16_VECTOR,
        DataType.INT8_VECTOR,
        DataType.BINARY_VECTOR,
        DataType.SPARSE_FLOAT_VECTOR,
    }
)
#: Milvus's bound on a binary vector's dimension (bits): 8 x the float limit.
BINARY_DIM_LIMIT = 8 * 32_768
ARRAY_ELEMENT_TYPES = frozenset(
    {
        DataType.BOOL,
        DataType.INT8,
        DataType.INT16,
        DataType.INT32,
        DataType.INT64,
        DataType.FLOAT,
        DataType.DOUBLE,
        DataType.VARCHAR,
    }
)

_ARROW_SCALARS: dict[DataType, pa.DataType] = {
    DataType.BOOL: pa.bool_(),
    DataType.INT8: pa.int8(),
    DataType.INT16: pa.int16(),
    DataType.INT32: pa.int32(),
    DataType.INT64: pa.int64(),
    DataType.FLOAT: pa.float32(),
    DataType.DOUBLE: pa.float64(),
    DataType.VARCHAR: pa.string(),
    DataType.JSON: pa.string(),
}


def validate_name(name: object, what: str) -> str:
    """Check a collection, field, partition or alias name against Milvus's rules."""
    if not isinstance(name, str) or not name:
        raise SchemaError(f"{what} name should not be empty", hint=f"got {name!r}")
    if len(name) > NAME_MAX_LENGTH:
        raise SchemaError(
            f"the length of a {what} name must be less than {NAME_MAX_LENGTH} characters",
            hint=f"'{name[:20]}...' has {len(name)}",
        )
    if not (name[0].isalpha() or name[0] == "_") or not name[0].isascii():
        raise SchemaError(
            f"the first character of a {what} name must be an underscore or letter: '{name}'"
        )
    if not _NAME_RE.match(name):
        raise SchemaError(
            f"{what} name can only contain numbers, letters and underscores: '{name}'"
        )
    return name


@dataclass(frozen=True)
class FieldSchema:
    name: str
    dtype: DataType
    is_primary: bool = False
    auto_id: bool = False
    dim: int | None = None
    max_length: int | None = None
    element_type: DataType | None = None
    max_capacity: int | None = None
    nullable: bool = False
    default_value: Any = None
    is_partition_key: bool = False
    description: str = ""
    field_id: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def is_vector(self) -> bool:
        return self.dtype.is_vector

    @property
    def has_default(self) -> bool:
        return self.default_value is not None

    def with_id(self, field_id: int) -> FieldSchema:
        return replace(self, field_id=field_id)

    def arrow_type(self) -> pa.DataType:
        if self.is_vector:
            from keeldb.schema.vector_values import vector_arrow_type  # imports this module

            return vector_arrow_type(self)
        if self.dtype == DataType.ARRAY:
            assert self.element_type is not None
            return pa.list_(_ARROW_SCALARS[self.element_type])
        return _ARROW_SCALARS[self.dtype]

    def validate(self) -> None:
        """Raise SchemaError if this field breaks a rule on its own."""
        validate_name(self.name, "field")
        if self.name.lower() in FILTER_KEYWORDS:
            raise SchemaError(
                f"Invalid field name: {self.name}. {self.name} is keyword in milvus.",
                hint="filters could not tell the field from the keyword; pick another name",
            )
        if self.dtype not in SCALAR_TYPES | VECTOR_TYPES:
            supported = ", ".join(t.name for t in sorted(SCALAR_TYPES | VECTOR_TYPES))
            raise SchemaError(
                f"field '{self.name}': data type {self.dtype.name} is not supported yet",
                hint=f"supported: {supported}",
            )
        if self.is_primary:
            self._validate_primary()
        elif self.auto_id:
            raise SchemaError(f"field '{self.name}': auto_id can only be set on the primary key")
        if self.is_vector:
            self._validate_vector()
        if self.dtype == DataType.VARCHAR:
            _check_range(self.name, "max_length", self.max_length, 1, MAX_LENGTH_LIMIT)
        if self.dtype == DataType.ARRAY:
            self._validate_array()
        if self.default_value is not None:
            self._validate_default()
        if self.is_partition_key and self.dtype not in (DataType.INT64, DataType.VARCHAR):
            raise SchemaError(
                f"field '{self.name}': the partition key must be of type INT64 or VARCHAR, "
                f"not {self.dtype.name}"
            )

    def _validate_primary(self) -> None:
        if self.dtype not in (DataType.INT64, DataType.VARCHAR):
            raise SchemaError(
                f"primary key field '{self.name}' must be of type INT64 or VARCHAR, "
                f"not {self.dtype.name}"
            )
        if self.nullable:
            raise SchemaError(f"primary key field '{self.name}' cannot be nullable")
        if self.default_value is not None:
            raise SchemaError(f"primary key field '{self.name}' cannot have a default value")

    def _validate_vector(self) -> None:
        if self.dtype == DataType.SPARSE_FLOAT_VECTOR:
            if self.dim is not None:
                raise SchemaError(
                    f"dim should not be specified for sparse vector field {self.name}",
                    hint="a sparse vector's dimensions are the indices of its entries",
                )
        elif self.dim is None:
            raise SchemaError(
                f"dimension is not defined in field type params of field {self.name}, "
                "check type param `dim` for vector field",
                hint="pass dim=... to add_field",
            )
        elif self.dtype == DataType.BINARY_VECTOR:
            _check_binary_dim(self.name, self.dim)
        elif self.dtype == DataType.FLOAT_VECTOR:
            _check_range(self.name, "dim", self.dim, 2, DIM_LIMIT)
        else:
            _check_dim(self.name, self.dim, 2, DIM_LIMIT, f"{_KIND_WORDS[self.dtype]} vector")
        if self.nullable:
            raise SchemaError(f"vector field '{self.name}' cannot be nullable yet")
        if self.default_value is not None:
            raise SchemaError(f"vector field '{self.name}' cannot have a default value")

    def _validate_array(self) -> None:
        if self.element_type is None:
            raise SchemaError(
                f"array field '{self.name}' needs an element_type",
                hint="pass element_type=DataType.INT64 (or another scalar type)",
            )
        if self.element_type not in ARRAY_ELEMENT_TYPES:
            raise SchemaError(
                f"array field '{self.name}': element type {self.element_type.name} "
                "is not supported",
                hint="use BOOL, INT8..INT64, FLOAT, DOUBLE or VARCHAR",
            )
        _check_range(self.name, "max_capacity", self.max_capacity, 1, MAX_CAPACITY_LIMIT)
        if self.element_type == DataType.VARCHAR:
            _check_range(self.name, "max_length", self.max_length, 1, MAX_LENGTH_LIMIT)

    def _validate_default(self) -> None:
        from keeldb.schema.values import check_scalar  # local: values imports this module

        if self.dtype in (DataType.JSON, DataType.ARRAY) or self.is_vector:
            raise SchemaError(
                f"field '{self.name}': default values are not supported for {self.dtype.name}"
            )
        try:
            check_scalar(self, self.default_value)
        except SchemaError:
            raise
        except Exception as exc:  # DataError from check_scalar
            raise SchemaError(
                f"field '{self.name}': invalid default value {self.default_value!r}: {exc}"
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field_id": self.field_id,
            "name": self.name,
            "description": self.description,
            "type": self.dtype,
            "params": self.type_params(),
        }
        if self.element_type is not None:
            out["element_type"] = self.element_type
        if self.is_primary:
            out["is_primary"] = True
        if self.auto_id:
            out["auto_id"] = True
        if self.is_partition_key:
            out["is_partition_key"] = True
        if self.nullable:
            out["nullable"] = True
        if self.default_value is not None:
            out["default_value"] = self.default_value
        return out

    def type_params(self) -> dict[str, Any]:
        params = dict(self.params)
        if self.dim is not None:
            params["dim"] = self.dim
        if self.max_length is not None:
            params["max_length"] = self.max_length
        if self.max_capacity is not None:
            params["max_capacity"] = self.max_capacity
        return params

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form for the catalog (enums as names)."""
        out = self.to_dict()
        out["type"] = self.dtype.name
        if self.element_type is not None:
            out["element_type"] = self.element_type.name
        out["params"] = self.params
        for key in ("dim", "max_length", "max_capacity"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldSchema:
        element = data.get("element_type")
        return cls(
            name=data["name"],
            dtype=DataType[data["type"]],
            is_primary=data.get("is_primary", False),
            auto_id=data.get("auto_id", False),
            dim=data.get("dim"),
            max_length=data.get("max_length"),
            element_type=DataType[element] if element else None,
            max_capacity=data.get("max_capacity"),
            nullable=data.get("nullable", False),
            default_value=data.get("default_value"),
            is_partition_key=data.get("is_partition_key", False),
            description=data.get("description", ""),
            field_id=data.get("field_id", 0),
            params=data.get("params", {}),
        )


def _check_range(name: str, param: str, value: object, low: int, high: int) -> None:
    if value is None:
        raise SchemaError(f"field '{name}': {param} is required", hint=f"pass {param}=...")
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            raise SchemaError(
                f"field '{name}': {param} must be an integer, got {value!r}"
            ) from None
    if not low <= value <= high:
        raise SchemaError(
            f"field '{name}': {param} {value} is out of range",
            hint=f"{param} must be in [{low}, {high}]",
        )


_KIND_WORDS = {
    DataType.FLOAT16_VECTOR: "float16",
    DataType.BFLOAT16_VECTOR: "bfloat16",
    DataType.INT8_VECTOR: "int8",
}


def _dim_value(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            return int(str(value))
        except ValueError:
            raise SchemaError(f"field '{name}': dim must be an integer, got {value!r}") from None
    return value


def _check_dim(name: str, value: object, low: int, high: int, kind: str) -> None:
    """Milvus's dimension rule and wording for the dense vector types."""
    dim = _dim_value(name, value)
    if not low <= dim <= high:
        raise SchemaError(
            f"invalid dimension: {dim} of field {name}. "
            f"{kind} dimension should be in range {low} ~ {high}"
        )


def _check_binary_dim(name: str, value: object) -> None:
    dim = _dim_value(name, value)
    if dim <= 0 or dim % 8:
        raise SchemaError(
            f"invalid dimension: {dim} of field {name}. "
            "binary vector dimension should be multiple of 8.",
            hint="a binary vector packs 8 dimensions into each byte",
        )
    if dim > BINARY_DIM_LIMIT:
        raise SchemaError(
            f"invalid dimension: {dim} of field {name}. "
            f"binary vector dimension should be in range 8 ~ {BINARY_DIM_LIMIT}"
        )


def integer_range(dtype: DataType) -> tuple[int, int]:
    return INTEGER_RANGES[dtype]
