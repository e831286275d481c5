"""L5: the model lifecycle — models, versions, aliases, embedding spaces, evaluation,
promotion and rollback. Formats and paths: ``docs/lifecycle.md``.

- ``events``: the append-only, checksummed event log every state change goes through.
- ``artifacts`` / ``registry`` / ``loading``: model versions, their hashed artifacts, safe loading.
- ``encoders`` / ``tfidf_svd`` / ``sentence_transformers``: the ``Encoder`` implementations.
- ``spaces`` / ``routing``: fields bound to model versions; the client's write/search hooks.
- ``versioned`` / ``reembed`` / ``promotion``: versions behind an alias, building them, switching.
- ``metrics`` / ``evaluation`` / ``gate``: offline champion–challenger evaluation and CI gates.
- ``experiments`` / ``online`` / ``online_metrics``: online shadow and split experiments.
- ``drift`` / ``describe``: drift of each space's traffic; what ``describe`` reports.
- ``entry_points``: the ``entry_point`` model kind and who may run it.
- ``service`` (+ ``service_online``): :class:`Lifecycle`, the facade the client exposes as
  ``client.lifecycle``. ``cli`` / ``cli_online`` / ``demo`` are the ``keel`` verbs (L7).
"""

from keeldb.lifecycle.encoders import Encoder, HashingEncoder
from keeldb.lifecycle.gate import Gate, GateResult
from keeldb.lifecycle.registry import AliasMove, ModelVersion
from keeldb.lifecycle.service import Lifecycle
from keeldb.lifecycle.spaces import EmbeddingSpace, SpaceVectors

__all__ = [
    "AliasMove",
    "EmbeddingSpace",
    "Encoder",
    "Gate",
    "GateResult",
    "HashingEncoder",
    "Lifecycle",
    "ModelVersion",
    "SpaceVectors",
]
