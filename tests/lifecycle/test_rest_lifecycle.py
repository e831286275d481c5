"""The lifecycle over a real ``keel serve`` subprocess: REST endpoints driven through the
remote client (``keeldb.Client(uri).lifecycle``), with real TF-IDF/SVD models trained on
Debian descriptions, and the errors a REST caller gets."""

from __future__ import annotations

import pytest

import keeldb
from keeldb.errors import FailedPrecondition, InvalidArgument, NotFound
from tests.integration.conftest import RestClient, ServerProcess
from tests.lifecycle.helpers import text_schema

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("keel-serve-lifecycle")
    proc = ServerProcess(root / "data", root / "server.log")
    proc.start()
    client = keeldb.Client(proc.uri, rest_uri=proc.rest_url)
    try:
        yield proc, client
    finally:
        client.close()
        code = proc.stop()
        assert code == 0, proc.log()


def test_the_whole_lifecycle_over_rest(served, debian_corpus, debian_queries):
    proc, client = served
    lc = client.lifecycle
    queries = debian_queries[:40]
    wanted = sorted({int(i) for q in queries for i in q["relevant"]} | set(range(0, 4000, 40)))
    docs = [debian_corpus[i] for i in wanted if debian_corpus[i]["long_description"]]
    texts = [d["long_description"] for d in docs]
    champion = lc.train_tfidf_svd("lsa", texts, dim=32, description="small")
    challenger = lc.train_tfidf_svd("lsa-wide", texts, dim=64)
    assert (champion["version"], champion["kind"], challenger["dim"]) == (1, "tfidf_svd", 64)
    assert {m["model"] for m in lc.models()} == {"lsa", "lsa-wide"}
    move = lc.set_model_alias("lsa", "champion", 1, reason="first")
    assert (move["old"], move["new"]) == (None, 1)
    lc.create_versioned_collection("pkgs", "lsa:1", text_schema(8), index_type="FLAT")
    rows = [{"id": d["id"], "text": d["long_description"], "section": d["section"]}
            for d in docs]  # fmt: skip
    assert lc.insert("pkgs", rows)["insertCount"] == len(rows)
    job = lc.start_reembed("pkgs", "lsa-wide:1", batch_size=64)
    status = job.wait(300)
    assert status["state"] == "done" and status["rows_done"] == len(rows)
    record = lc.evaluate("pkgs", queries, bootstrap_samples=200, gate="ndcg@10 >= 0")
    assert record["queries"]["count"] == 40 and record["gate"]["passed"] is True
    assert 0 < record["champion"]["summary"]["ndcg@10"] <= 1

    ex = lc.start_experiment("pkgs", mode="shadow", reason="over rest")
    replies = [lc.search("pkgs", q["text"], user_key="u", limit=10) for q in queries[:15]]
    assert all(r["arm"] == "champion" and r["results"] for r in replies)
    first = replies[0]
    assert lc.feedback(first["request_id"], clicked=[first["results"][0]["id"]])["recorded"]
    metrics = lc.experiment_metrics(ex["experiment_id"])
    assert metrics["requests"] == 15 and metrics["agreement"]["compared"] == 15
    assert metrics["arms"]["champion"]["ctr"] == pytest.approx(1 / 15)
    assert [e["experiment_id"] for e in lc.list_experiments("pkgs")] == [ex["experiment_id"]]
    described = lc.describe("pkgs")
    assert described["serving"] == "pkgs__lsa_1" and described["experiment"]["mode"] == "shadow"
    assert {v["physical"] for v in described["versions"]} == {"pkgs__lsa_1", "pkgs__lsa_wide_1"}

    with pytest.raises(FailedPrecondition, match="blocked by the gate"):
        lc.promote("pkgs", evaluation_id=record["id"], gate="ndcg@10 >= champion + 1")
    gate = "ndcg@10 >= 0, online.p99_ms <= champion * 1000"
    moved = lc.promote(
        "pkgs", evaluation_id=record["id"], experiment_id=ex["experiment_id"], gate=gate
    )
    assert (moved["old"], moved["new"], moved["action"]) == (
        "pkgs__lsa_1", "pkgs__lsa_wide_1", "promote",
    )  # fmt: skip
    assert lc.list_experiments("pkgs")[0]["stopped_ms"] is not None
    back = lc.rollback("pkgs", reason="oops")
    assert back["new"] == "pkgs__lsa_1"
    assert [m["action"] for m in lc.collection_history("pkgs")] == ["create", "promote", "rollback"]
    drift = lc.drift_report("pkgs")
    assert drift["stream"] == "queries" and drift["recent_rows"] > 0


def test_registering_the_bundled_minilm_over_rest(served):
    pytest.importorskip("sentence_transformers")
    _, client = served
    mv = client.lifecycle.register_sentence_transformer("minilm-remote", description="server's")
    assert (mv["kind"], mv["dim"], mv["artifact"]["mode"]) == (
        "sentence_transformers", 384, "reference",
    )  # fmt: skip
    assert client.lifecycle.model("minilm-remote:1")["description"] == "server's"


def test_rest_errors_name_the_problem(served):
    proc, client = served
    lc = client.lifecycle
    with pytest.raises(NotFound, match="model 'nope' is not registered"):
        lc.model("nope:1")
    with pytest.raises(NotFound, match=r"collection not found.*ghost"):
        lc.describe("ghost")
    with pytest.raises(NotFound, match="'rq-x' is not part of any experiment"):
        lc.feedback("rq-x", clicked=[1])
    with pytest.raises(InvalidArgument, match="cannot be registered over REST"):
        lc._call("models/register", model_name="m", kind="hashing")
    rest = RestClient(proc.rest_url)
    code, message = rest.error("lifecycle/experiments/start", collectionName="ghost", mode="x")
    assert "mode 'x' is not known" in message
    code, message = rest.error("lifecycle/feedback")
    assert code == 1802 and "requestId is required" in message
