"""CLI verbs for models, online experiments, drift and description.

keel models list | show REF | alias MODEL ALIAS VERSION | register NAME --kind K ...
keel experiments start COLLECTION [--mode shadow|split] [--percent P] [--challenger REF]
keel experiments stop ID | list [COLLECTION] | show ID [--json]
keel drift COLLECTION [--stream queries|vectors] [--reset] [--json]
keel lifecycle describe COLLECTION

Every verb opens the data directory, makes one ``client.lifecycle`` call and prints
the answer; the logic lives in the lifecycle modules, not here. Experiments only
see traffic searched through ``lifecycle.search`` (embedded, REST or remote), so
``start`` here prepares a server or application that then serves the traffic.
"""

from __future__ import annotations

import json
from typing import Any

import click

from keeldb.lifecycle.cli import _DATA, _client, models_command

__all__ = ["describe_command", "drift_command", "experiments_group", "models_group"]


@click.group("models")
def models_group() -> None:
    """Registered models: list, show, move aliases, register versions."""


models_group.add_command(models_command, "list")


@models_group.command("show")
@click.argument("ref")
@_DATA
def show_model(ref: str, data_dir: str) -> None:
    """Print one model version (name:3 or name@alias) as JSON."""
    with _client(data_dir) as client:
        click.echo(json.dumps(client.lifecycle.model(ref).to_json(), indent=2))


@models_group.command("alias")
@click.argument("model")
@click.argument("alias")
@click.argument("version", type=int)
@click.option("--reason", default="", help="Why (recorded in the history).")
@_DATA
def alias_model(model: str, alias: str, version: int, reason: str, data_dir: str) -> None:
    """Point MODEL@ALIAS at VERSION."""
    with _client(data_dir) as client:
        move = client.lifecycle.set_model_alias(model, alias, version, reason)
        click.echo(f"{model}@{alias}: {move.old} → {move.new}")


@models_group.command("register")
@click.argument("name")
@click.option("--kind", required=True,
              type=click.Choice(["sentence_transformers", "entry_point", "tfidf_svd"]))  # fmt: skip
@click.option("--path", default=None, help="sentence_transformers: directory (default MiniLM).")
@click.option("--entry-point", default=None, help="entry_point: package.module:callable.")
@click.option("--collection", default=None, help="tfidf_svd: train on this collection's text.")
@click.option("--text-field", default="text", show_default=True)
@click.option("--dim", type=int, default=None, help="Output dimension.")
@click.option("--description", default="")
@_DATA
def register_model(
    name: str, kind: str, path: str | None, entry_point: str | None, collection: str | None,
    text_field: str, dim: int | None, description: str, data_dir: str,
) -> None:  # fmt: skip
    """Register the next version of model NAME."""
    with _client(data_dir) as client:
        lc = client.lifecycle
        if kind == "sentence_transformers":
            mv = lc.register_sentence_transformer(name, path, dim=dim or 384,
                                                  description=description)  # fmt: skip
        elif kind == "entry_point":
            if not entry_point or not dim:
                raise click.UsageError("--kind entry_point needs --entry-point and --dim")
            mv = lc.register_entry_point(name, entry_point, dim=dim, description=description)
        else:
            if not collection:
                raise click.UsageError("--kind tfidf_svd needs --collection (its text trains it)")
            texts = _texts_of(client, collection, text_field)
            lineage = {"collection": collection, "rows": len(texts)}
            mv = lc.train_tfidf_svd(
                name, texts, dim=dim or 256, description=description, lineage=lineage
            )
        click.echo(f"registered {mv.ref} ({mv.kind}, {mv.dim}-d, sha256 {mv.artifact.sha256[:12]})")


def _texts_of(client: Any, collection: str, text_field: str) -> list[str]:
    texts: list[str] = []
    it = client.query_iterator(collection, batch_size=4096, output_fields=[text_field])
    while batch := it.next():
        texts.extend(r[text_field] for r in batch if isinstance(r.get(text_field), str))
    return texts


@click.group("experiments")
def experiments_group() -> None:
    """Online experiments: shadow or split traffic between champion and challenger."""


@experiments_group.command("start")
@click.argument("collection")
@click.option("--mode", type=click.Choice(["shadow", "split"]), default="shadow", show_default=True)
@click.option("--percent", type=float, default=10.0, show_default=True,
              help="split: share of users the challenger serves.")  # fmt: skip
@click.option("--challenger", default=None, help="Version or model ref (default: newest other).")
@click.option("--k", "k", type=int, default=10, show_default=True, help="Depth compared.")
@click.option("--reason", default="")
@_DATA
def start_experiment(
    collection: str, mode: str, percent: float, challenger: str | None, k: int, reason: str,
    data_dir: str,
) -> None:  # fmt: skip
    """Start an experiment on COLLECTION."""
    with _client(data_dir) as client:
        ex = client.lifecycle.start_experiment(
            collection, mode=mode, percent=percent, challenger=challenger, k=k, reason=reason
        )
        click.echo(f"{ex.experiment_id}: {ex.mode} {ex.champion} vs {ex.challenger}")


@experiments_group.command("stop")
@click.argument("experiment_id")
@click.option("--reason", default="")
@_DATA
def stop_experiment(experiment_id: str, reason: str, data_dir: str) -> None:
    """Stop experiment EXPERIMENT_ID."""
    with _client(data_dir) as client:
        ex = client.lifecycle.stop_experiment(experiment_id, reason)
        click.echo(f"{ex.experiment_id}: stopped")


@experiments_group.command("list")
@click.argument("collection", required=False)
@_DATA
def list_experiments(collection: str | None, data_dir: str) -> None:
    """Experiments (of COLLECTION, or all)."""
    with _client(data_dir) as client:
        for ex in client.lifecycle.list_experiments(collection):
            state = "running" if ex["stopped_ms"] is None else "stopped"
            split = f" {ex['percent']:g}%" if ex["mode"] == "split" else ""
            click.echo(f"{ex['experiment_id']}  {ex['name']}  {ex['mode']}{split}  {state}  "
                       f"{ex['champion']} vs {ex['challenger']}  {ex['reason']}")  # fmt: skip


@experiments_group.command("show")
@click.argument("experiment_id")
@click.option("--json", "as_json", is_flag=True)
@_DATA
def show_experiment(experiment_id: str, as_json: bool, data_dir: str) -> None:
    """Per-arm figures (95% intervals) of EXPERIMENT_ID."""
    with _client(data_dir) as client:
        summary = client.lifecycle.experiment_metrics(experiment_id)
    click.echo(json.dumps(summary, indent=2) if as_json else render_experiment(summary))


def render_experiment(summary: dict[str, Any]) -> str:
    ex = summary["experiment"]
    lines = [f"{ex['experiment_id']} on {ex['name']}: {ex['mode']}, {summary['requests']} "
             f"requests, {summary['feedback']} with feedback"]  # fmt: skip
    for arm in ("champion", "challenger"):
        figures = summary["arms"][arm]
        parts = [f"{arm:10s} {ex[arm]}", f"served {figures['served']}"]
        for name in ("p50_ms", "p99_ms", "ctr", "ndcg@10"):
            if name in figures:
                low, high = figures[f"{name}_ci"]
                parts.append(f"{name} {figures[name]:.3f} [{low:.3f}, {high:.3f}]")
        lines.append("  " + ", ".join(parts))
    for name, value in summary.get("agreement", {}).items():
        if isinstance(value, float) and not name.endswith("_ci"):
            lines.append(f"  agreement {name} {value:.3f}")
    return "\n".join(lines)


@click.command("drift")
@click.argument("collection")
@click.option("--stream", type=click.Choice(["queries", "vectors"]), default="queries",
              show_default=True)  # fmt: skip
@click.option("--reset", is_flag=True, help="Adopt the recent window as the new reference.")
@click.option("--json", "as_json", is_flag=True)
@_DATA
def drift_command(collection: str, stream: str, reset: bool, as_json: bool, data_dir: str) -> None:
    """Drift of COLLECTION's recent traffic against its reference window; exit 1 if drifted."""
    with _client(data_dir) as client:
        if reset:
            client.lifecycle.reset_drift_reference(collection, stream)
        report = client.lifecycle.drift_report(collection, stream)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif report["drifted"] is None:
        click.echo(f"{collection} {stream}: no verdict ({report['reason']})")
    else:
        click.echo(
            f"{collection} {stream}: {'DRIFTED' if report['drifted'] else 'no drift'} — "
            f"mean shift {report['mean_shift']:.4f} (threshold "
            f"{report['mean_shift_threshold']:.4f}), projection KS {report['projection_ks']:.3f} "
            f"(threshold {report['projection_ks_threshold']:.3f})"
        )
    if report["drifted"]:
        raise SystemExit(1)


@click.command("describe")
@click.argument("collection")
@_DATA
def describe_command(collection: str, data_dir: str) -> None:
    """Versions, what serves, the running experiment and drift of COLLECTION (JSON)."""
    with _client(data_dir) as client:
        click.echo(json.dumps(client.lifecycle.describe(collection), indent=2))
