"""Offline champion–challenger evaluation on a labelled query set.

Query set format (JSON lines, as ``queries-dev.jsonl``): ``{"qid", "text",
"relevant": {"<id>": grade}}``; ids are compared as strings.

For each arm (a physical version of a versioned collection) and each query:
embed with the arm's model and search through the data API (timed together:
``p50_ms`` / ``p99_ms``; search alone: ``search_p50_ms`` / ``search_p99_ms``);
exact top-k over all the arm's vectors gives ``ann_recall``. Per-query
recall@k, nDCG@10 and reciprocal rank feed the summaries and the paired
bootstrap of (challenger − champion).

Record (``lifecycle/evaluations/<id>/evaluation.json``, checked JSON)::

    {"id", "collection", "db", "created_ms", "limit", "k_values",
     "queries": {"path", "sha256", "count"},
     "champion"/"challenger": {"physical", "model", "summary": {metric: value},
                               "per_query": {"ndcg@10": [...], "recall@10": [...], "mrr": [...]}},
     "diff": {metric: {"mean", "ci_low", "ci_high", "confidence", "p_not_better"}},
     "bootstrap": {"samples", "seed"}}

``report.md`` and (with matplotlib) ``plot.png`` sit beside it; an
``evaluation_recorded`` event names it.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from keeldb.errors import InvalidArgument, NotFound
from keeldb.index.exact import exact_search
from keeldb.lifecycle import metrics as m
from keeldb.storage import read_checked_json, write_atomic, write_checked_json

__all__ = ["evaluate", "load_evaluation", "load_queries", "render_markdown"]

_PAIRED = ("recall@10", "ndcg@10", "mrr")


def load_queries(path: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Read a JSON-lines labelled query set (the first ``limit`` queries)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                if not isinstance(q.get("text"), str) or not isinstance(q.get("relevant"), dict):
                    raise InvalidArgument(
                        f"query line {len(out) + 1} of '{path}' needs text and relevant"
                    )
                out.append(q)
            if limit is not None and len(out) >= limit:
                break
    return out


def _queries_digest(queries: Sequence[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for q in queries:
        digest.update(json.dumps(q, sort_keys=True).encode())
    return digest.hexdigest()


def _all_vectors(
    lc: Any, physical: str, pk: str, field: str, db: str
) -> tuple[list[Any], np.ndarray]:
    rows = []
    it = lc.data.query_iterator(physical, batch_size=4096, output_fields=[pk, field], db_name=db)
    while batch := it.next():
        rows.extend(batch)
    ids = [r[pk] for r in rows]
    return ids, np.asarray([r[field] for r in rows], dtype=np.float32)


def _run_arm(
    lc: Any, vc: Any, physical: str, queries: Sequence[dict[str, Any]], limit: int,
    k_values: Sequence[int],
) -> dict[str, Any]:  # fmt: skip
    version = vc.version(physical)
    encoder = lc.encoder(version.model_ref)
    pk = lc.engine.resolve(vc.db, physical).schema.primary_field.name
    ranked, total_ms, search_ms, vectors = [], [], [], []
    for q in queries:
        t0 = time.perf_counter()
        vec = encoder.encode([q["text"]])
        t1 = time.perf_counter()
        if vec.any():
            hits = lc.data.search(
                physical, data=vec, limit=limit, anns_field=vc.field, db_name=vc.db
            )[0]
        else:
            hits = []  # the model knows nothing of this text (no known terms): no ranking
        t2 = time.perf_counter()
        ranked.append([h["id"] for h in hits])
        total_ms.append((t2 - t0) * 1000.0)
        search_ms.append((t2 - t1) * 1000.0)
        vectors.append(vec[0])
    ids, matrix = _all_vectors(lc, physical, pk, vc.field, vc.db)
    space = lc.spaces.get(vc.db, lc.engine.resolve(vc.db, physical).collection_id, vc.field)
    exact = exact_search(matrix, np.asarray(vectors), min(limit, len(ids)), space.metric)
    exact_ids = [[ids[i] for i in row if i >= 0] for row in exact.ids]
    per_query: dict[str, list[float]] = {f"recall@{k}": [] for k in k_values}
    per_query.update({"ndcg@10": [], "mrr": [], "ann_recall": []})
    for q, got, truth in zip(queries, ranked, exact_ids):
        for k in k_values:
            per_query[f"recall@{k}"].append(m.recall_at(got, q["relevant"], k))
        per_query["ndcg@10"].append(m.ndcg_at(got, q["relevant"], 10))
        per_query["mrr"].append(m.reciprocal_rank(got, q["relevant"]))
        per_query["ann_recall"].append(m.ann_recall(got, truth, min(10, limit)))
    summary = {name: float(np.mean(values)) for name, values in per_query.items()}
    summary.update(
        p50_ms=m.percentile_ms(total_ms, 50), p99_ms=m.percentile_ms(total_ms, 99),
        search_p50_ms=m.percentile_ms(search_ms, 50), search_p99_ms=m.percentile_ms(search_ms, 99),
    )  # fmt: skip
    keep = {name: [round(v, 6) for v in per_query[name]] for name in _PAIRED if name in per_query}
    return {"physical": physical, "model": version.model_ref, "summary": summary,
            "per_query": keep}  # fmt: skip


def evaluate(
    lc: Any, name: str, queries: Sequence[dict[str, Any]] | str, *,
    champion: str | None = None, challenger: str | None = None, limit: int = 100,
    k_values: Sequence[int] = (1, 5, 10, 100), bootstrap_samples: int = 1000, seed: int = 0,
    db: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Evaluate champion vs challenger of versioned collection ``name``; store the record."""
    from keeldb.lifecycle.promotion import _physical

    db = db or lc.default_db()
    vc = lc.versioned.require(db, name)
    source = queries if isinstance(queries, str) else None
    if isinstance(queries, str):
        queries = load_queries(queries)
    if not queries:
        raise InvalidArgument("the query set is empty")
    champ = _physical(vc, champion) if champion else vc.serving
    chall = _physical(vc, challenger) if challenger else _default_challenger(vc, champ)
    if limit < 10:
        raise InvalidArgument(f"evaluation limit must be at least 10 (nDCG@10), got {limit}")
    k_values = sorted({k for k in k_values if k <= limit} | {10})
    arms = {role: _run_arm(lc, vc, phys, queries, limit, k_values)
            for role, phys in (("champion", champ), ("challenger", chall))}  # fmt: skip
    diff = {
        metric: m.paired_bootstrap(
            arms["champion"]["per_query"][metric],
            arms["challenger"]["per_query"][metric],
            samples=bootstrap_samples,
            seed=seed,
        )  # fmt: skip
        for metric in _PAIRED
    }
    count = sum(1 for e in lc.events() if e["type"] == "evaluation_recorded")
    record = {
        "id": f"ev-{count + 1:04d}", "collection": name, "db": db,
        "created_ms": time.time_ns() // 1_000_000, "limit": limit, "k_values": list(k_values),
        "queries": {"path": source, "sha256": _queries_digest(queries), "count": len(queries)},
        **arms, "diff": diff, "bootstrap": {"samples": bootstrap_samples, "seed": seed},
    }  # fmt: skip
    _store(lc, record)
    return record


def _default_challenger(vc: Any, champion: str) -> str:
    others = [p for p in vc.versions if p != champion]
    if not others:
        raise InvalidArgument(f"'{vc.name}' has only one version; add a challenger first")
    return others[-1]


def _store(lc: Any, record: dict[str, Any]) -> None:
    directory = posixpath.join(lc.root, "evaluations", record["id"])
    lc.fs.makedirs(directory)
    write_checked_json(lc.fs, posixpath.join(directory, "evaluation.json"), record)
    write_atomic(lc.fs, posixpath.join(directory, "report.md"), render_markdown(record).encode())
    png = render_plot(record)
    if png is not None:
        write_atomic(lc.fs, posixpath.join(directory, "plot.png"), png)
    summary = {role: record[role]["summary"] for role in ("champion", "challenger")}
    lc.append(
        "evaluation_recorded", evaluation_id=record["id"], db=record["db"],
        name=record["collection"], champion=record["champion"]["physical"],
        challenger=record["challenger"]["physical"], summary=summary,
    )  # fmt: skip


def load_evaluation(lc: Any, evaluation_id: str) -> dict[str, Any]:
    path = posixpath.join(lc.root, "evaluations", evaluation_id, "evaluation.json")
    record = read_checked_json(lc.fs, path)
    if record is None:
        raise NotFound(f"evaluation {evaluation_id!r} not found")
    return record


def render_markdown(record: dict[str, Any]) -> str:
    champ, chall = record["champion"], record["challenger"]
    lines = [
        f"# Evaluation {record['id']}: {record['collection']}",
        "",
        f"{record['queries']['count']} labelled queries, top {record['limit']}.",
        f"Champion `{champ['physical']}` ({champ['model']}) vs challenger "
        f"`{chall['physical']}` ({chall['model']}).",
        "",
        "| metric | champion | challenger | diff (95% CI) |",
        "|---|---|---|---|",
    ]
    for metric in champ["summary"]:
        a, b = champ["summary"][metric], chall["summary"][metric]
        d = record["diff"].get(metric)
        ci = f"{d['mean']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]" if d else f"{b - a:+.4f}"
        lines.append(f"| {metric} | {a:.4f} | {b:.4f} | {ci} |")
    return "\n".join(lines) + "\n"


def render_plot(record: dict[str, Any]) -> bytes | None:
    """A bar chart of the quality metrics as PNG bytes; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [k for k in record["champion"]["summary"] if not k.endswith("_ms")]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for offset, role in ((-0.2, "champion"), (0.2, "challenger")):
        values = [record[role]["summary"][n] for n in names]
        ax.bar(x + offset, values, 0.4, label=f"{role} {record[role]['model']}")
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title(f"{record['id']}: {record['collection']}")
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()
