"""``keel lifecycle …``: models, re-embedding, evaluation, gates, promotion, rollback.

keel lifecycle models   --data-dir D                      models, versions, aliases
keel lifecycle alias    NAME ALIAS VERSION --reason R      move a model alias
keel lifecycle history  COLLECTION [--at ISO-TIME]         what the collection served (when)
keel lifecycle reembed  COLLECTION --model REF             build a version (progress bar)
keel lifecycle eval     COLLECTION --queries FILE [--gate EXPR] [--json]
keel lifecycle promote  COLLECTION (--to REF | --evaluation ID | --experiment ID) [--gate EXPR]
keel lifecycle rollback COLLECTION --reason R
keel lifecycle experiments|drift|describe …   (cli_online.py)

The same commands are top-level verbs: ``keel models``, ``keel eval``,
``keel promote``, ``keel rollback``, ``keel experiments``, ``keel drift``, ``keel demo``.

``eval --gate`` exits 1 when the challenger fails a clause (gate syntax in
:mod:`keeldb.lifecycle.gate`), so it can block a model change in any CI system;
``promote --gate`` refuses to move the alias in the same case.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

import click

__all__ = ["lifecycle_group"]

_DATA = click.option("--data-dir", default="./data", show_default=True, help="Data directory.")


def _client(data_dir: str) -> Any:
    import keeldb

    return keeldb.Client(data_dir)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).isoformat(timespec="milliseconds")


@click.group("lifecycle")
def lifecycle_group() -> None:
    """Model lifecycle: registry, re-embedding, evaluation, promotion, rollback."""


@lifecycle_group.command("models")
@_DATA
def models_command(data_dir: str) -> None:
    """List models, their versions and aliases."""
    with _client(data_dir) as client:
        registry = client.lifecycle.registry
        for name in registry.models():
            aliases = ", ".join(f"{a}→{v}" for a, v in sorted(registry.aliases(name).items()))
            click.echo(f"{name}  aliases: {aliases or '-'}")
            for mv in registry.versions(name):
                click.echo(
                    f"  {mv.version}: {mv.kind} dim={mv.dim} {mv.metric} "
                    f"sha256={mv.artifact.sha256[:12]} {mv.description}"
                )


@lifecycle_group.command("alias")
@click.argument("model")
@click.argument("alias")
@click.argument("version", type=int)
@click.option("--reason", default="", help="Why (recorded in the history).")
@_DATA
def alias_command(model: str, alias: str, version: int, reason: str, data_dir: str) -> None:
    """Point MODEL@ALIAS at VERSION."""
    with _client(data_dir) as client:
        move = client.lifecycle.set_model_alias(model, alias, version, reason)
        click.echo(f"{model}@{alias}: {move.old} → {move.new}")


@lifecycle_group.command("history")
@click.argument("collection")
@click.option("--at", "at", default=None, help="ISO time: what served then.")
@_DATA
def history_command(collection: str, at: str | None, data_dir: str) -> None:
    """Every alias move of a versioned collection, or what served at --at."""
    with _client(data_dir) as client:
        lc = client.lifecycle
        if at is not None:
            ms = int(datetime.fromisoformat(at).timestamp() * 1000)
            click.echo(lc.serving_at(collection, ms) or "-")
            return
        for move in lc.collection_history(collection):
            click.echo(
                f"{_iso(move.time_ms)}  {move.extra.get('action')}: {move.old} → {move.new}  "
                f"{move.reason}"
                + (f" [{move.extra['evaluation_id']}]" if move.extra.get("evaluation_id") else "")
            )


@lifecycle_group.command("reembed")
@click.argument("collection")
@click.option("--model", required=True, help="Model reference, e.g. minilm:1 or minilm@challenger.")
@click.option("--batch-size", default=256, show_default=True)
@_DATA
def reembed_command(collection: str, model: str, batch_size: int, data_dir: str) -> None:
    """Build (or resume) COLLECTION's version for MODEL from the stored text."""
    with _client(data_dir) as client:
        job = client.lifecycle.start_reembed(collection, model, batch_size=batch_size)
        _follow(job)
        status = job.status()
        click.echo(f"{job.job_id}: {status['state']}, {status['rows_done']} rows")
        if status["state"] != "done":
            sys.exit(1)


def _follow(job: Any) -> None:
    try:
        from tqdm import tqdm
    except ImportError:
        job.wait()
        return
    status = job.status()
    with tqdm(total=status["rows_total"], initial=status["rows_done"], unit="rows") as bar:
        while job.alive:
            time.sleep(0.2)
            status = job.status()
            bar.update(status["rows_done"] - bar.n)
        bar.update(job.status()["rows_done"] - bar.n)


@lifecycle_group.command("eval")
@click.argument("collection")
@click.option(
    "--queries", required=True, help="Labelled queries (JSON lines: qid, text, relevant)."
)
@click.option("--limit-queries", type=int, default=None, help="Use only the first N queries.")
@click.option("--champion", default=None, help="Version or model ref (default: what serves).")
@click.option("--challenger", default=None, help="Version or model ref (default: newest other).")
@click.option("--gate", default=None, help='e.g. "ndcg@10 >= champion - 0.01"; exit 1 on failure.')
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@_DATA
def eval_command(
    collection: str, queries: str, limit_queries: int | None, champion: str | None,
    challenger: str | None, gate: str | None, as_json: bool, data_dir: str,
) -> None:  # fmt: skip
    """Evaluate champion vs challenger on labelled queries; optionally gate."""
    from keeldb.errors import InvalidArgument
    from keeldb.lifecycle.evaluation import load_queries, render_markdown
    from keeldb.lifecycle.gate import Gate

    try:
        checked = Gate.parse(gate) if gate else None  # a bad gate fails before any work
    except InvalidArgument as exc:
        raise click.BadParameter(str(exc), param_hint="--gate") from exc  # exit code 2
    with _client(data_dir) as client:
        record = client.lifecycle.evaluate(
            collection, load_queries(queries, limit_queries),
            champion=champion, challenger=challenger,
        )  # fmt: skip
    click.echo(json.dumps(record) if as_json else render_markdown(record))
    if checked is not None:
        result = checked.check(record)
        click.echo(f"gate {'passed' if result.passed else 'FAILED'}: {result.summary()}")
        if not result.passed:
            sys.exit(1)


@lifecycle_group.command("promote")
@click.argument("collection")
@click.option("--to", default=None, help="Version or model ref to serve.")
@click.option("--evaluation", default=None, help="Evaluation id (its challenger is promoted).")
@click.option("--experiment", default=None, help="Experiment id (online. gate clauses).")
@click.option("--gate", default=None, help="Refuse unless the evaluation passes this gate.")
@click.option("--reason", default="", help="Why (recorded in the history).")
@_DATA
def promote_command(
    collection: str, to: str | None, evaluation: str | None, experiment: str | None,
    gate: str | None, reason: str, data_dir: str,
) -> None:  # fmt: skip
    """Point COLLECTION at the challenger."""
    from keeldb.errors import FailedPrecondition

    with _client(data_dir) as client:
        try:
            move = client.lifecycle.promote(
                collection, to=to, evaluation_id=evaluation, experiment_id=experiment, gate=gate,
                reason=reason,
            )  # fmt: skip
        except FailedPrecondition as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        click.echo(f"{collection}: {move.old} → {move.new}")


@lifecycle_group.command("rollback")
@click.argument("collection")
@click.option("--reason", default="", help="Why (recorded in the history).")
@_DATA
def rollback_command(collection: str, reason: str, data_dir: str) -> None:
    """Point COLLECTION back at the version that served before."""
    with _client(data_dir) as client:
        move = client.lifecycle.rollback(collection, reason=reason)
        click.echo(f"{collection}: {move.old} → {move.new}")
