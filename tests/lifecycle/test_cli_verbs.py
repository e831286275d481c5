"""The top-level lifecycle verbs (`keel models|eval|promote|rollback|experiments|drift`)
run the same commands as `keel lifecycle ...`, and `keel demo` tells the whole story."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import keeldb
from keeldb.cli import main
from keeldb.lifecycle.demo import run_demo
from keeldb.lifecycle.demo_data import load_sample
from tests.lifecycle.helpers import SETTINGS, register_hashing, text_schema, word_rows


@pytest.fixture
def data_with_versions(tmp_path):
    path = str(tmp_path / "data")
    with keeldb.Client(path, settings=SETTINGS) as client:
        register_hashing(client, tmp_path, "enc-a", 8, seed=1)
        register_hashing(client, tmp_path, "enc-b", 16, seed=2)
        client.lifecycle.create_versioned_collection("docs", "enc-a:1", text_schema(8))
        client.insert("docs", word_rows(120))
        assert client.lifecycle.start_reembed("docs", "enc-b:1").wait(60)["state"] == "done"
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(
        json.dumps({"qid": f"q{r['id']}", "text": r["text"], "relevant": {str(r["id"]): 1}}) + "\n"
        for r in word_rows(120)[::6]
    ))  # fmt: skip
    return path, str(queries)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_top_level_verbs(data_with_versions):
    path, queries = data_with_versions
    code, out = _run("models", "list", "--data-dir", path)
    assert code == 0 and "enc-a" in out and "enc-b" in out
    code, out = _run("models", "alias", "enc-b", "challenger", "1", "--data-dir", path)
    assert code == 0 and "enc-b@challenger: None → 1" in out
    code, out = _run("models", "show", "enc-b@challenger", "--data-dir", path)
    assert code == 0 and json.loads(out)["dim"] == 16
    code, out = _run("eval", "docs", "--queries", queries, "--gate", "mrr >= champion + 5",
                     "--data-dir", path)  # fmt: skip
    assert code == 1 and "gate FAILED" in out
    result = CliRunner().invoke(main, ["eval", "docs", "--queries", queries, "--gate",
                                       "ndcg@10 >> 1", "--data-dir", path])  # fmt: skip
    assert result.exit_code == 2 and "cannot parse gate clause 'ndcg@10 >> 1'" in result.output
    code, out = _run("eval", "docs", "--queries", queries, "--json", "--data-dir", path)
    evaluation = json.loads(out)["id"]
    code, out = _run("experiments", "start", "docs", "--mode", "split", "--percent", "25",
                     "--data-dir", path)  # fmt: skip
    assert code == 0 and out.startswith("ex-0001: split docs__enc_a_1 vs docs__enc_b_1")
    with keeldb.Client(path, settings=SETTINGS) as client:  # traffic from an application
        for i, row in enumerate(word_rows(40)):
            reply = client.lifecycle.search("docs", row["text"], user_key=f"u{i}")
            client.lifecycle.feedback(reply["request_id"], clicked=[row["id"]])
    code, out = _run("experiments", "list", "docs", "--data-dir", path)
    assert code == 0 and "ex-0001  docs  split 25%  running" in out
    code, out = _run("experiments", "show", "ex-0001", "--json", "--data-dir", path)
    summary = json.loads(out)
    assert summary["requests"] == 40 and summary["feedback"] == 40
    code, out = _run("experiments", "show", "ex-0001", "--data-dir", path)
    assert "champion" in out and "ctr" in out
    code, out = _run("promote", "docs", "--evaluation", evaluation, "--experiment", "ex-0001",
                     "--gate", "online.ctr >= champion + 2", "--data-dir", path)  # fmt: skip
    assert code == 1
    code, out = _run("promote", "docs", "--evaluation", evaluation, "--gate", "mrr >= 0",
                     "--reason", "ok", "--data-dir", path)  # fmt: skip
    assert code == 0 and "docs__enc_a_1 → docs__enc_b_1" in out
    code, out = _run("rollback", "docs", "--data-dir", path)
    assert code == 0 and "docs__enc_b_1 → docs__enc_a_1" in out
    code, out = _run("experiments", "list", "--data-dir", path)
    assert "stopped" in out  # the promotion ended the experiment
    code, out = _run("drift", "docs", "--json", "--data-dir", path)
    # kept from the earlier processes: two evaluations of 20 queries, the champion arm's traffic
    served = summary["arms"]["champion"]["served"]
    assert code == 0 and json.loads(out)["recent_rows"] == 2 * 20 + served
    code, out = _run("lifecycle", "describe", "docs", "--data-dir", path)
    assert json.loads(out)["serving"] == "docs__enc_a_1"


def test_demo_story_on_a_slice_of_the_packaged_sample(client):
    docs, queries = load_sample()
    assert len(docs) == 3000 and len(queries) == 400
    needed = {int(i) for q in queries[:30] for i in q["relevant"]}
    others = [d for d in docs if d["id"] not in needed][:270]
    subset = [d for d in docs if d["id"] in needed] + others
    lines: list[str] = []
    figures = run_demo(client, subset, queries[:30], echo=lines.append, online_queries=30)
    text = "\n".join(lines)
    for step in ("1. trained", "4. re-embedded", "5. offline evaluation", "6. shadow experiment",
                 "7. gate", "rolled back at once", "8. history", "9. drift"):  # fmt: skip
        assert step in text
    evaluation = figures["evaluation"]
    assert 0 < evaluation["champion"]["ndcg@10"] <= 1 and 0 < evaluation["challenger"]["mrr"] <= 1
    assert figures["experiment"]["requests"] == 30
    assert [m.extra["action"] for m in client.lifecycle.collection_history("packages")] == [
        "create", "promote", "rollback",
    ]  # fmt: skip
