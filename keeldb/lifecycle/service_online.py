"""The online half of :class:`~keeldb.lifecycle.service.Lifecycle`: experiments, the
experiment-aware search and feedback, drift and description.

A mixin, so ``client.lifecycle`` stays one object while ``service.py`` stays
small; every method is a thin call into ``experiments``, ``online``, ``drift`` or
``describe``, which hold the logic and the invariants.
"""

from __future__ import annotations

from typing import Any

from keeldb.errors import InvalidArgument
from keeldb.lifecycle.spaces import EmbeddingSpace

__all__ = ["OnlineFacade"]


class OnlineFacade:
    """Methods of ``Lifecycle`` over ``self.online``, ``self.drift`` and ``self.experiments``."""

    online: Any
    drift: Any
    experiments: Any

    def default_db(self) -> str:  # provided by Lifecycle
        raise NotImplementedError

    def space_of(self, collection: str, field: str | None = None, db: str = "") -> Any:
        raise NotImplementedError  # provided by Lifecycle

    # -- online experiments (experiments.py, online.py) ------------------------------------
    def start_experiment(self, name: str, **kwargs: Any) -> Any:
        """Shadow or split live traffic of ``name`` between champion and a challenger."""
        from keeldb.lifecycle.experiments import start_experiment

        return start_experiment(self, name, **kwargs)

    def stop_experiment(self, experiment_id: str, reason: str = "") -> Any:
        from keeldb.lifecycle.experiments import stop_experiment

        return stop_experiment(self, experiment_id, reason)

    def list_experiments(self, name: str | None = None, db: str = "") -> list[dict[str, Any]]:
        db = db or self.default_db()
        return [e.to_json() for e in self.experiments.all()
                if name is None or (e.db == db and e.name == name)]  # fmt: skip

    def experiment_metrics(self, experiment_id: str) -> dict[str, Any]:
        """Per-arm figures with 95% intervals (and shadow agreement) of an experiment."""
        self.online.flush()
        return self.online.log_for(self.experiments.get(experiment_id)).summary()

    def search(self, name: str, data: str, *, user_key: str | None = None, limit: int = 10,
               db: str = "", **kw: Any) -> dict[str, Any]:  # fmt: skip
        """Search versioned collection ``name`` with one query text under its experiment.

        Returns ``{"request_id", "arm", "results"}``; pass the id to :meth:`feedback`.
        """
        return self.online.search(db or self.default_db(), name, data, user_key=user_key,
                                  limit=limit, **kw)  # fmt: skip

    def feedback(self, request_id: str, clicked: list[Any] | None = None,
                 grades: dict[str, float] | None = None) -> dict[str, Any]:  # fmt: skip
        """Record what the user clicked, or graded, on the results of ``request_id``."""
        return self.online.feedback(request_id, clicked, grades)

    # -- drift and description (drift.py, describe.py) ----------------------------------------
    def describe(self, name: str, db: str = "") -> dict[str, Any]:
        """Versions, what serves, the running experiment and each space's drift."""
        from keeldb.lifecycle.describe import describe_collection

        return describe_collection(self, name, db)

    def drift_report(
        self, collection: str, stream: str = "queries", *, field: str | None = None, db: str = ""
    ) -> dict[str, Any]:
        """Drift of recent ``stream`` traffic ("queries" or "vectors") against the reference."""
        return self.drift.report(self._require_space(collection, field, db), stream)

    def reset_drift_reference(
        self, collection: str, stream: str = "queries", *, field: str | None = None, db: str = ""
    ) -> dict[str, Any]:
        """Adopt the recent window as the reference (after a change you accept)."""
        return self.drift.reset_reference(self._require_space(collection, field, db), stream)

    def _require_space(self, collection: str, field: str | None, db: str) -> EmbeddingSpace:
        space = self.space_of(collection, field, db)
        if space is None:
            raise InvalidArgument(
                f"'{collection}' is not bound to a model, so it has no embedding space to watch",
                hint="bind it with bind_space(...)",
            )
        return space
