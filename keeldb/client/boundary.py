"""Where the embedded API turns ``OSError`` into ``StorageError``.

Every public method of ``Client`` is wrapped once so a file-system error
surfaces as ``StorageError`` with the cause chained. A method on the search hot
path may translate inside its own body instead (``@translates_storage_errors``):
the wrapper's re-packing of arguments costs a few microseconds per call, a
noticeable share of a batch-1 search.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from keeldb.storage.fs import storage_error

F = TypeVar("F", bound=Callable[..., Any])
_OWN = "_translates_storage_errors"


def translates_storage_errors(method: F) -> F:
    """Mark ``method`` as catching ``OSError`` itself (the boundary skips it)."""
    setattr(method, _OWN, True)
    return method


def storage_errors_at_boundary(cls: type) -> type:
    """Wrap every public method of ``cls`` not marked ``translates_storage_errors``."""
    for name in dir(cls):
        method = getattr(cls, name)
        if (
            name.startswith("_")
            or not callable(method)
            or getattr(method, _OWN, False)
            or isinstance(inspect.getattr_static(cls, name), staticmethod)
        ):
            continue
        setattr(cls, name, _translated(method))
    return cls


def _translated(method: Any) -> Any:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except OSError as exc:
            raise storage_error(f"{method.__name__}", exc) from exc

    return call
