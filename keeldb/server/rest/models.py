"""Request bodies of the REST API, validated with pydantic.

Field names are Milvus's camelCase JSON keys (``collectionName``,
``outputFields``, ``elementTypeParams``, ...), generated from the snake_case
attribute names; ``autoId`` is also accepted as ``autoID`` (the spelling of
Milvus's quick-setup docs). Unknown keys are ignored, as Milvus does. Every
body may name its database with ``dbName`` (default: ``default``).

:func:`parse` turns a validation failure into a :class:`RequestError`: a
missing (or empty) required parameter is code 1802, a value of the wrong type
code 1801; the message names the parameter by its JSON path
(``schema.fields[1].dataType``) and quotes the bad value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from keeldb.client.embedded import Client
from keeldb.server.rest.replies import CODE_BAD_REQUEST_FORMAT, CODE_MISSING_PARAMETER, RequestError

#: a required name: present and non-empty
Name = Annotated[str, StringConstraints(min_length=1)]
Key = int | str
_AUTO_ID = AliasChoices("autoId", "autoID", "auto_id")
_MISSING = {"missing", "string_too_short", "too_short"}
_TYPE_LABELS = {"int", "str", "float", "bool"}


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Body(Model):
    db_name: str = ""


class CollectionBody(Body):
    collection_name: Name


# -- collections ------------------------------------------------------------------------
class FieldBody(Model):
    field_name: Name
    data_type: Name
    is_primary: bool = False
    auto_id: bool = Field(False, validation_alias=_AUTO_ID)
    nullable: bool = False
    default_value: Any = None
    element_data_type: str | None = None
    element_type_params: dict[str, Any] = {}
    is_partition_key: bool = False
    is_clustering_key: bool = False
    description: str = ""


class SchemaBody(Model):
    auto_id: bool = Field(False, validation_alias=_AUTO_ID)
    enable_dynamic_field: bool = False
    description: str = ""
    fields: Annotated[list[FieldBody], Field(min_length=1)]
    functions: list[Any] = []


class IndexParamBody(Model):
    field_name: Name
    index_name: str = ""
    metric_type: str = ""
    index_type: str = ""
    params: dict[str, Any] = {}


class CreateCollectionBody(CollectionBody):
    dimension: Annotated[int, Field(gt=0)] | None = None
    metric_type: str = "COSINE"
    id_type: str = "Int64"
    auto_id: bool = Field(False, validation_alias=_AUTO_ID)
    primary_field_name: Name = "id"
    vector_field_name: Name = "vector"
    description: str = ""
    collection_schema: SchemaBody | None = Field(None, alias="schema")
    index_params: list[IndexParamBody] = []
    params: dict[str, Any] = {}


class RenameBody(CollectionBody):
    new_collection_name: Name
    new_db_name: str = ""


class LoadStateBody(CollectionBody):
    partition_names: list[Name] = []


# -- entities ---------------------------------------------------------------------------
class InsertBody(CollectionBody):
    data: list[dict[str, Any]] | dict[str, Any]
    partition_name: str = ""


class DeleteBody(CollectionBody):
    filter: Name
    partition_name: str = ""


class GetBody(CollectionBody):
    id: list[Key] | Key
    output_fields: list[str] = []
    partition_names: list[Name] = []


class QueryBody(CollectionBody):
    filter: str = ""
    output_fields: list[str] = []
    limit: int | None = None
    offset: Annotated[int, Field(ge=0)] = 0
    partition_names: list[Name] = []


class SearchBody(CollectionBody):
    # float vectors (numbers), sparse ones ({"index": value}), base64 text of byte vectors
    data: Annotated[list[list[float] | dict[str, float] | str], Field(min_length=1)]
    anns_field: str | None = None
    filter: str = ""
    limit: int = 100
    offset: Annotated[int, Field(ge=0)] = 0
    output_fields: list[str] = []
    search_params: dict[str, Any] = {}
    partition_names: list[Name] = []
    grouping_field: str = ""
    group_size: Annotated[int, Field(ge=1)] | None = None
    strict_group_size: bool = False


# -- indexes ----------------------------------------------------------------------------
class CreateIndexBody(CollectionBody):
    index_params: Annotated[list[IndexParamBody], Field(min_length=1)]


class IndexBody(CollectionBody):
    index_name: Name


class ListIndexesBody(CollectionBody):
    field_name: str = ""


# -- partitions -------------------------------------------------------------------------
class PartitionBody(CollectionBody):
    partition_name: Name


class PartitionsBody(CollectionBody):
    partition_names: Annotated[list[Name], Field(min_length=1)]


# -- aliases and databases ----------------------------------------------------------------
class AliasBody(Body):
    alias_name: Name


class AliasCollectionBody(AliasBody):
    collection_name: Name


class ListAliasesBody(Body):
    collection_name: str = ""


class DatabaseBody(Model):
    db_name: Name
    properties: dict[str, Any] | list[Any] = {}


M = TypeVar("M", bound=Model)


def parse(model: type[M], payload: Any) -> M:
    """Validate a decoded JSON body; a failure becomes a :class:`RequestError`."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise _request_error(exc) from None


def _request_error(exc: ValidationError) -> RequestError:
    first = exc.errors(include_url=False)[0]
    where = _path(first["loc"]) or "the body"
    if first["type"] in _MISSING:
        return RequestError(
            CODE_MISSING_PARAMETER, f"missing required parameters, error: {where} is required"
        )
    got = repr(first.get("input"))
    got = got if len(got) <= 60 else got[:57] + "..."
    return RequestError(
        CODE_BAD_REQUEST_FORMAT, f"invalid parameter {where}: {first['msg']} (got {got})"
    )


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" not in part and part not in _TYPE_LABELS:  # skip union branch labels
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True)
class Endpoint:
    """One REST endpoint: its path under ``/v2/vectordb/``, body model and handler.

    The handler runs in a worker thread with the shared client and the validated
    body; it returns the ``data`` of the reply (or a ``Reply`` with extras).
    """

    path: str
    body: type[Model]
    handler: Callable[[Client, Any], Any]


def endpoint(
    registry: list[Endpoint], path: str, body: type[M]
) -> Callable[[Callable[[Client, M], Any]], Callable[[Client, M], Any]]:
    """Decorate ``handler(client, body)`` to register it in ``registry`` under ``path``."""

    def register(handler: Callable[[Client, M], Any]) -> Callable[[Client, M], Any]:
        registry.append(Endpoint(path, body, handler))
        return handler

    return register
