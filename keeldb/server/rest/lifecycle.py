"""REST endpoints ``/v2/vectordb/lifecycle/*``: the model lifecycle of ``keel serve``.

A keeldb extension beside the Milvus API, in the same envelope (``POST``, JSON
body, ``{"code": 0, "data": ...}`` or ``{"code", "message"}``). Every handler is
one call of the shared client's ``lifecycle`` (``keeldb.lifecycle.Lifecycle``),
so the embedded client, the CLI and this API run the same code:

    models/list  models/describe  models/alias  models/register
    collections/create  collections/describe  collections/history
    reembed/start  reembed/status  evaluate  promote  rollback
    experiments/start  experiments/stop  experiments/list  experiments/describe
    search  feedback  drift

Paths named in bodies (``models/register`` ``path``, ``evaluate`` ``queriesPath``)
are paths on the server's machine. ``models/register`` takes the kinds that need no
upload: ``sentence_transformers`` (a local directory, default the bundled MiniLM),
``entry_point`` (runs only if the server process allows it) and ``tfidf_svd``
(trained on the ``texts`` of the body).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from keeldb.client.embedded import Client
from keeldb.errors import InvalidArgument, NotFound
from keeldb.schema.collection import CollectionSchema
from keeldb.server.rest import schema_codec
from keeldb.server.rest.models import Body, CollectionBody, Endpoint, Model, Name, SchemaBody
from keeldb.server.rest.models import endpoint as _endpoint

ROUTES: list[Endpoint] = []


def endpoint(path: str, body: Any) -> Any:
    return _endpoint(ROUTES, f"lifecycle/{path}", body)


# -- bodies -------------------------------------------------------------------------------
class ModelRefBody(Body):
    model: Name


class ModelAliasBody(Body):
    model_name: Name
    alias: Name
    version: int | None
    reason: str = ""


class RegisterBody(Body):
    model_name: Name
    kind: Name
    path: str | None = None
    entry_point: str | None = None
    texts: list[str] = []
    dim: int | None = None
    metric: str = "COSINE"
    normalize: bool = True
    params: dict[str, Any] = {}
    description: str = ""
    tags: dict[str, Any] = {}


class CreateVersionedBody(CollectionBody):
    model: Name
    collection_schema: SchemaBody | None = Field(None, alias="schema")
    schema_definition: dict[str, Any] | None = Field(None, alias="schemaJson")
    text_field: str = "text"
    field: str = "vector"
    index_type: str = "AUTOINDEX"
    index_params: dict[str, Any] = {}
    reason: str = "created"


class ReembedBody(CollectionBody):
    model: Name
    batch_size: int = Field(256, gt=0)


class JobBody(Body):
    job_id: Name


class EvaluateBody(CollectionBody):
    queries: list[dict[str, Any]] = []
    queries_path: str | None = None
    champion: str | None = None
    challenger: str | None = None
    limit: int = 100
    bootstrap_samples: int = Field(1000, gt=0)
    gate: str | None = None


class PromoteBody(CollectionBody):
    to: str | None = None
    evaluation_id: str | None = None
    experiment_id: str | None = None
    gate: str | None = None
    reason: str = ""


class ReasonBody(CollectionBody):
    reason: str = ""


class StartExperimentBody(CollectionBody):
    mode: str = "shadow"
    challenger: str | None = None
    percent: float = 10.0
    k: int = 10
    reason: str = ""


class ExperimentBody(Body):
    experiment_id: Name
    reason: str = ""


class ListExperimentsBody(Body):
    collection_name: str | None = None


class SearchBody(CollectionBody):
    data: str
    user_key: str | None = None
    limit: int = Field(10, gt=0)
    filter: str = ""
    output_fields: list[str] = []


class FeedbackBody(Model):
    request_id: Name
    clicked: list[Any] | None = None
    grades: dict[str, float] | None = None


class DriftBody(CollectionBody):
    stream: str = "queries"
    reset: bool = False


# -- models -------------------------------------------------------------------------------
@endpoint("models/list", Body)
def list_models(client: Client, body: Body) -> list[dict[str, Any]]:
    registry = client.lifecycle.registry
    return [{"model": name, "aliases": registry.aliases(name),
             "versions": [mv.to_json() for mv in registry.versions(name)]}
            for name in registry.models()]  # fmt: skip


@endpoint("models/describe", ModelRefBody)
def describe_model(client: Client, body: ModelRefBody) -> dict[str, Any]:
    return client.lifecycle.model(body.model).to_json()


@endpoint("models/alias", ModelAliasBody)
def move_model_alias(client: Client, body: ModelAliasBody) -> dict[str, Any]:
    move = client.lifecycle.set_model_alias(body.model_name, body.alias, body.version, body.reason)
    return _move(move)


@endpoint("models/register", RegisterBody)
def register_model(client: Client, body: RegisterBody) -> dict[str, Any]:
    lc = client.lifecycle
    meta: dict[str, Any] = {"description": body.description, "tags": body.tags}
    if body.kind == "sentence_transformers":
        mv = lc.register_sentence_transformer(
            body.model_name, body.path, dim=body.dim or 384, **meta
        )
    elif body.kind == "entry_point":
        if not body.entry_point or body.dim is None:
            raise InvalidArgument("kind 'entry_point' needs entryPoint and dim")
        mv = lc.register_entry_point(
            body.model_name, body.entry_point, dim=body.dim, metric=body.metric,
            normalize=body.normalize, params=body.params, **meta,
        )  # fmt: skip
    elif body.kind == "tfidf_svd":
        if not body.texts:
            raise InvalidArgument("kind 'tfidf_svd' needs texts to train on")
        mv = lc.train_tfidf_svd(
            body.model_name, body.texts, dim=body.dim or 256,
            description=body.description, tags=body.tags,
        )  # fmt: skip
    else:
        raise InvalidArgument(
            f"kind {body.kind!r} cannot be registered over REST",
            hint="use sentence_transformers, entry_point or tfidf_svd",
        )
    return mv.to_json()


# -- versioned collections ---------------------------------------------------------------
@endpoint("collections/create", CreateVersionedBody)
def create_versioned(client: Client, body: CreateVersionedBody) -> dict[str, Any]:
    if body.collection_schema is not None:
        schema = schema_codec.decode_schema(body.collection_schema)
    elif body.schema_definition is not None:
        schema = CollectionSchema.from_json(body.schema_definition)
    else:
        raise InvalidArgument("collections/create needs schema (Milvus REST form) or schemaJson")
    vc = client.lifecycle.create_versioned_collection(
        body.collection_name, body.model, schema, text_field=body.text_field, field=body.field,
        index_type=body.index_type, index_params=body.index_params, db=body.db_name,
        reason=body.reason,
    )  # fmt: skip
    return {"collectionName": vc.name, "serving": vc.serving}


@endpoint("collections/describe", CollectionBody)
def describe_versioned(client: Client, body: CollectionBody) -> dict[str, Any]:
    return client.lifecycle.describe(body.collection_name, db=body.db_name)


@endpoint("collections/history", CollectionBody)
def history(client: Client, body: CollectionBody) -> list[dict[str, Any]]:
    return [_move(m) for m in client.lifecycle.collection_history(body.collection_name,
                                                                   db=body.db_name)]  # fmt: skip


# -- building, evaluating, switching ------------------------------------------------------
@endpoint("reembed/start", ReembedBody)
def start_reembed(client: Client, body: ReembedBody) -> dict[str, Any]:
    job = client.lifecycle.start_reembed(
        body.collection_name, body.model, batch_size=body.batch_size, db=body.db_name
    )
    return job.status()


@endpoint("reembed/status", JobBody)
def reembed_status(client: Client, body: JobBody) -> dict[str, Any]:
    job = client.lifecycle.jobs.get(body.job_id)
    if job is not None:
        return job.status()
    from keeldb.lifecycle.reembed import read_checkpoint

    checkpoint = read_checkpoint(client.lifecycle, body.job_id)
    if checkpoint is None:
        raise NotFound(f"re-embedding job {body.job_id!r} not found")
    return checkpoint


@endpoint("evaluate", EvaluateBody)
def evaluate(client: Client, body: EvaluateBody) -> dict[str, Any]:
    from keeldb.lifecycle.gate import Gate

    checked = Gate.parse(body.gate) if body.gate else None  # a bad gate fails before any work
    queries: Any = body.queries or body.queries_path
    if not queries:
        raise InvalidArgument("evaluate needs queries (a list) or queriesPath")
    record = client.lifecycle.evaluate(
        body.collection_name, queries, champion=body.champion, challenger=body.challenger,
        limit=body.limit, bootstrap_samples=body.bootstrap_samples, db=body.db_name,
    )  # fmt: skip
    if checked is not None:
        record["gate"] = checked.check(record).to_json()
    return record


@endpoint("promote", PromoteBody)
def promote(client: Client, body: PromoteBody) -> dict[str, Any]:
    move = client.lifecycle.promote(
        body.collection_name, to=body.to, evaluation_id=body.evaluation_id,
        experiment_id=body.experiment_id, gate=body.gate, reason=body.reason, db=body.db_name,
    )  # fmt: skip
    return _move(move)


@endpoint("rollback", ReasonBody)
def rollback(client: Client, body: ReasonBody) -> dict[str, Any]:
    return _move(client.lifecycle.rollback(body.collection_name, reason=body.reason,
                                           db=body.db_name))  # fmt: skip


# -- online experiments -------------------------------------------------------------------
@endpoint("experiments/start", StartExperimentBody)
def start_experiment(client: Client, body: StartExperimentBody) -> dict[str, Any]:
    experiment = client.lifecycle.start_experiment(
        body.collection_name, mode=body.mode, challenger=body.challenger, percent=body.percent,
        k=body.k, reason=body.reason, db=body.db_name,
    )  # fmt: skip
    return experiment.to_json()


@endpoint("experiments/stop", ExperimentBody)
def stop_experiment(client: Client, body: ExperimentBody) -> dict[str, Any]:
    return client.lifecycle.stop_experiment(body.experiment_id, body.reason).to_json()


@endpoint("experiments/list", ListExperimentsBody)
def list_experiments(client: Client, body: ListExperimentsBody) -> list[dict[str, Any]]:
    return client.lifecycle.list_experiments(body.collection_name, db=body.db_name)


@endpoint("experiments/describe", ExperimentBody)
def describe_experiment(client: Client, body: ExperimentBody) -> dict[str, Any]:
    return client.lifecycle.experiment_metrics(body.experiment_id)


@endpoint("search", SearchBody)
def search(client: Client, body: SearchBody) -> dict[str, Any]:
    reply = client.lifecycle.search(
        body.collection_name, body.data, user_key=body.user_key, limit=body.limit,
        filter=body.filter, output_fields=body.output_fields or None, db=body.db_name,
    )  # fmt: skip
    reply["results"] = [dict(hit) for hit in reply["results"]]
    return reply


@endpoint("feedback", FeedbackBody)
def feedback(client: Client, body: FeedbackBody) -> dict[str, Any]:
    event = client.lifecycle.feedback(body.request_id, body.clicked, body.grades)
    return {"requestId": event["request_id"], "recorded": True}


@endpoint("drift", DriftBody)
def drift(client: Client, body: DriftBody) -> dict[str, Any]:
    lc = client.lifecycle
    if body.reset:
        lc.reset_drift_reference(body.collection_name, body.stream, db=body.db_name)
    return lc.drift_report(body.collection_name, body.stream, db=body.db_name)


def _move(move: Any) -> dict[str, Any]:
    return {"alias": move.alias, "old": move.old, "new": move.new, "timeMs": move.time_ms,
            "reason": move.reason, **move.extra}  # fmt: skip
