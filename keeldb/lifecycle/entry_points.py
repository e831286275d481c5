"""The ``entry_point`` model kind: an encoder made by Python code the operator trusts.

A version of this kind stores only a small JSON artifact, hashed like any other::

    {"entry_point": "package.module:callable", "params": {...}}

Loading it imports ``package.module`` from the running environment and calls
``callable(**params)``. The result is either an encoder (an object with
``encode(texts) -> (n, dim) array``) or a plain function ``texts -> array``,
which is wrapped. Every encode checks the output is ``(n, dim)`` and finite,
and rows are L2-normalised when the version says ``normalize``.

Trust model. Importing code executes it, so this kind is the one exception to
"models are never code", and it is closed by default:

- a data directory can *record* an entry point, but can never *authorise* it:
  loading is refused (``FailedPrecondition``) unless the process that opened the
  directory allowed that exact ``module:callable`` (or ``module:*``) —
  ``client.lifecycle.allow_entry_points([...])`` or the environment variable
  ``KEELDB_ALLOW_ENTRY_POINTS`` (comma-separated). A data directory copied from
  elsewhere therefore runs none of its entry points until someone decides to;
- the artifact's hash pins the reference and its parameters, not the code: the
  code is whatever that module is in the environment, so pin the package version
  (its version is recorded in ``lineage`` at registration when it is installed
  as a distribution).
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from keeldb.errors import DataError, FailedPrecondition, InvalidArgument
from keeldb.lifecycle.encoders import l2_normalize

__all__ = ["ENV_ALLOW", "EntryPointPolicy", "check_entry_point", "load_entry_point"]

ENV_ALLOW = "KEELDB_ALLOW_ENTRY_POINTS"
_REFERENCE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


def check_entry_point(reference: str) -> tuple[str, str]:
    """``"pkg.mod:make"`` → ("pkg.mod", "make"); anything else is InvalidArgument."""
    if not isinstance(reference, str) or not _REFERENCE.match(reference):
        raise InvalidArgument(
            f"entry point {reference!r} is not of the form 'package.module:callable'",
            hint="e.g. 'mycompany.embeddings:make_encoder'",
        )
    module, attr = reference.split(":", 1)
    return module, attr


class EntryPointPolicy:
    """Which entry points this process allows (never stored in the data directory)."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        env = [p.strip() for p in os.environ.get(ENV_ALLOW, "").split(",") if p.strip()]
        self._allowed: set[str] = set()
        self.allow([*env, *allowed])

    def allow(self, references: Iterable[str]) -> None:
        for ref in references:
            module, attr = ref.split(":", 1) if ":" in ref else (ref, "")
            if attr != "*":
                check_entry_point(ref)
            self._allowed.add(f"{module}:{attr}")

    def allows(self, reference: str) -> bool:
        module = reference.split(":", 1)[0]
        return reference in self._allowed or f"{module}:*" in self._allowed


class _FunctionEncoder:
    """Wraps what the entry point made, checking every output against the version."""

    def __init__(self, made: Any, model_ref: str, dim: int, metric: str, normalize: bool) -> None:
        self._encode: Callable[[Sequence[str]], Any] = (
            made.encode if hasattr(made, "encode") else made
        )
        self.model_ref = model_ref
        self.dim, self.metric, self.normalize = dim, metric, normalize

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.array(self._encode(list(texts)), dtype=np.float32, copy=True)
        if out.shape != (len(texts), self.dim):
            raise DataError(
                f"model {self.model_ref} (entry point) returned shape {out.shape} for "
                f"{len(texts)} texts; the version is registered as {self.dim}-d"
            )
        if not np.isfinite(out).all():
            raise DataError(f"model {self.model_ref} (entry point) returned NaN or infinity")
        return l2_normalize(out) if self.normalize else out


def load_entry_point(path: str, mv: Any, policy: EntryPointPolicy) -> _FunctionEncoder:
    """Build the encoder of an ``entry_point`` version whose verified artifact is ``path``."""
    config_path = path if os.path.isfile(path) else os.path.join(path, "entry_point.json")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    reference = config.get("entry_point", "")
    module_name, attr = check_entry_point(reference)
    if not policy.allows(reference):
        raise FailedPrecondition(
            f"model {mv.ref} runs Python code ({reference}), which this process has not allowed",
            hint=f"allow it with client.lifecycle.allow_entry_points([{reference!r}]) or "
            f"{ENV_ALLOW}={reference}",
        )
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise InvalidArgument(f"entry point {reference} is not callable")
    made = target(**config.get("params", {}))
    if not (callable(made) or hasattr(made, "encode")):
        raise InvalidArgument(
            f"entry point {reference} returned {type(made).__name__}, "
            "not an encoder or a function of texts"
        )
    return _FunctionEncoder(made, mv.ref, mv.dim, mv.metric, mv.normalize)


def distribution_version(module_name: str) -> str | None:
    """The installed version of the distribution providing ``module_name``, if known."""
    from importlib import metadata

    top = module_name.split(".", 1)[0]
    for dist in metadata.packages_distributions().get(top, []):
        try:
            return f"{dist}=={metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return None
