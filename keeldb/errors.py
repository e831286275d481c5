"""The keeldb exception tree.

Every error keeldb raises derives from :class:`KeelError`. The category a class
sits under decides how it is reported at every boundary: the gRPC status code,
the HTTP status and the Milvus status code pymilvus turns into
``MilvusException(code=...)``. The mapping lives on the classes as attributes, so
it is found by walking the class hierarchy and a new subclass inherits a sensible
one instead of falling through to "unexpected".

    KeelError                         (milvus 1   / grpc UNKNOWN       / http 500)
    ├── InvalidArgument               (milvus 1100 / INVALID_ARGUMENT  / 400)
    │   ├── SchemaError               field or collection schema is invalid
    │   ├── DataError                 a row or column does not fit the schema
    │   ├── FilterError               a filter expression is malformed or ill-typed
    │   └── IndexParamError           index type or parameters are invalid
    ├── NotFound                      (milvus 100-ish / NOT_FOUND      / 404)
    │   ├── CollectionNotFound        (milvus 100)
    │   ├── PartitionNotFound         (milvus 200)
    │   ├── IndexNotFound             (milvus 700)
    │   ├── AliasNotFound             (milvus 1600)
    │   ├── DatabaseNotFound          (milvus 800)
    │   └── FieldNotFound             (milvus 1100, Milvus treats it as a bad parameter)
    ├── AlreadyExists                 (milvus 65535 / ALREADY_EXISTS   / 409)
    ├── FailedPrecondition            (milvus 65535 / FAILED_PRECONDITION / 412)
    │   ├── NotLoaded                 (milvus 101, "collection not loaded")
    │   └── DataDirLocked             another process holds the data directory
    ├── ResourceExhausted             (milvus 8    / RESOURCE_EXHAUSTED / 429)
    ├── Unimplemented                 (milvus 1    / UNIMPLEMENTED     / 501)
    ├── StorageError                  (milvus 1    / INTERNAL          / 500)
    │   └── CorruptionError           checksum mismatch, torn file (DATA_LOSS)
    └── ClosedError                   the client or database was closed

Messages say what failed and why, quote the bad value and give a hint where one
helps. :func:`did_you_mean` builds the usual "did you mean 'x'?" suffix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KeelError(Exception):
    """Base of every keeldb error. ``code`` is the Milvus status code."""

    code: int = 1
    grpc_status: str = "UNKNOWN"
    http_status: int = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class InvalidArgument(KeelError):
    code = 1100
    grpc_status = "INVALID_ARGUMENT"
    http_status = 400


class SchemaError(InvalidArgument):
    """A field or collection schema breaks a rule."""


class DataError(InvalidArgument):
    """Data offered for insert or upsert does not fit the schema."""


class FilterError(InvalidArgument):
    """A filter expression is malformed or ill-typed.

    ``position`` is the 0-based character offset of the problem when known;
    the message then shows the expression with a caret under that character.
    """

    def __init__(
        self,
        message: str,
        *,
        expression: str | None = None,
        position: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.expression = expression
        self.position = position
        if expression is not None and position is not None:
            pointer = " " * max(0, position) + "^"
            message = f"{message}\n  {expression}\n  {pointer}"
        super().__init__(message, hint=hint)


class IndexParamError(InvalidArgument):
    """An index type or its parameters are invalid for the field."""


class NotFound(KeelError):
    code = 100
    grpc_status = "NOT_FOUND"
    http_status = 404


class CollectionNotFound(NotFound):
    code = 100


class PartitionNotFound(NotFound):
    code = 200


class IndexNotFound(NotFound):
    code = 700


class AliasNotFound(NotFound):
    code = 1600


class DatabaseNotFound(NotFound):
    code = 800


class FieldNotFound(NotFound):
    code = 1100


class AlreadyExists(KeelError):
    code = 65535
    grpc_status = "ALREADY_EXISTS"
    http_status = 409


class FailedPrecondition(KeelError):
    code = 65535
    grpc_status = "FAILED_PRECONDITION"
    http_status = 412


class NotLoaded(FailedPrecondition):
    code = 101


class DataDirLocked(FailedPrecondition):
    """Another process has the data directory open for writing."""


class ResourceExhausted(KeelError):
    code = 8
    grpc_status = "RESOURCE_EXHAUSTED"
    http_status = 429


class Unimplemented(KeelError):
    code = 1
    grpc_status = "UNIMPLEMENTED"
    http_status = 501


class StorageError(KeelError):
    code = 1
    grpc_status = "INTERNAL"
    http_status = 500


class CorruptionError(StorageError):
    grpc_status = "DATA_LOSS"


class ClosedError(FailedPrecondition):
    """The client or database has been closed."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """Return a "did you mean ..." hint for a misspelt name, or None."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if matches:
        return f"did you mean '{matches[0]}'?"
    return None
