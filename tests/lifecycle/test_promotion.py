"""Promotion, rollback, history, recovery of an unrecorded move, and the CLI gate's exit code."""

from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner

import keeldb
from keeldb.cli import main
from keeldb.errors import FailedPrecondition
from tests.lifecycle.helpers import SETTINGS, register_hashing, text_schema, word_rows


@pytest.fixture
def two_versions(client, tmp_path):
    register_hashing(client, tmp_path, "enc-a", 8, seed=1)
    register_hashing(client, tmp_path, "enc-b", 32, seed=2)
    client.lifecycle.create_versioned_collection("docs", "enc-a:1", text_schema(8))
    client.insert("docs", word_rows(200))
    assert client.lifecycle.start_reembed("docs", "enc-b:1").wait(60)["state"] == "done"
    queries = [
        {"qid": f"q{i}", "text": row["text"], "relevant": {str(row["id"]): 1}}
        for i, row in enumerate(word_rows(200)[::9])
    ]
    return client, queries


def test_promote_with_gate_then_rollback(two_versions):
    client, queries = two_versions
    lc = client.lifecycle
    record = lc.evaluate("docs", queries, bootstrap_samples=200)
    assert record["champion"]["physical"] == "docs__enc_a_1"
    assert record["challenger"]["physical"] == "docs__enc_b_1"
    assert lc.evaluation(record["id"]) == record
    with pytest.raises(FailedPrecondition, match="blocked by the gate"):
        lc.promote("docs", evaluation_id=record["id"], gate="ndcg@10 >= champion + 1")
    assert client.describe_alias("docs")["collection_name"] == "docs__enc_a_1"
    before = time.time_ns() // 1_000_000
    time.sleep(0.01)
    move = lc.promote("docs", evaluation_id=record["id"], gate="mrr >= 0", reason="ship it")
    assert (move.old, move.new, move.extra["evaluation_id"]) == (
        "docs__enc_a_1", "docs__enc_b_1", record["id"],
    )  # fmt: skip
    assert client.describe_alias("docs")["collection_name"] == "docs__enc_b_1"
    text = word_rows(1, 5)[0]["text"]
    assert client.search("docs", data=[text], limit=1)[0][0]["id"] == 5  # served by enc-b now
    time.sleep(0.01)
    back = lc.rollback("docs", reason="regression in prod")
    assert (back.old, back.new) == ("docs__enc_b_1", "docs__enc_a_1")
    assert client.describe_alias("docs")["collection_name"] == "docs__enc_a_1"
    actions = [m.extra["action"] for m in lc.collection_history("docs")]
    assert actions == ["create", "promote", "rollback"]
    assert lc.serving_at("docs", before) == "docs__enc_a_1"
    assert lc.serving_at("docs", move.time_ms) == "docs__enc_b_1"
    assert lc.serving_at("docs", back.time_ms) == "docs__enc_a_1"


def test_queries_never_see_a_half_switched_alias(two_versions):
    client, _ = two_versions
    lc = client.lifecycle
    errors, done = [], threading.Event()

    def reader():
        text = word_rows(1, 5)[0]["text"]
        while not done.is_set():
            try:
                hits = client.search("docs", data=[text], limit=5)[0]
                assert len(hits) == 5 and 5 in [h["id"] for h in hits]
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for _ in range(10):
        lc.promote("docs", to="enc-b:1")
        lc.rollback("docs")
    done.set()
    for t in threads:
        t.join()
    assert errors == []
    assert len(lc.collection_history("docs")) == 21


def test_an_alias_move_without_its_event_is_recovered_on_open(two_versions):
    client, _ = two_versions
    client.alter_alias("docs__enc_b_1", "docs")  # as if the process died before the append
    path = client.path
    client.close()
    with keeldb.Client(path, settings=SETTINGS) as reopened:
        last = reopened.lifecycle.collection_history("docs")[-1]
        assert (last.new, last.extra["action"]) == ("docs__enc_b_1", "recovered")


def test_cli_gate_exit_codes_and_promotion(two_versions, tmp_path):
    client, queries = two_versions
    path = client.path
    client.close()
    qfile = tmp_path / "queries.jsonl"
    qfile.write_text("".join(json.dumps(q) + "\n" for q in queries))
    runner = CliRunner()
    base = ["lifecycle", "eval", "docs", "--queries", str(qfile), "--data-dir", path]
    failing = runner.invoke(main, [*base, "--gate", "ndcg@10 >= champion + 1"])
    assert failing.exit_code == 1, failing.output
    assert "gate FAILED" in failing.output
    passing = runner.invoke(main, [*base, "--gate", "ndcg@10 >= champion - 1, p99_ms >= 0"])
    assert passing.exit_code == 0, passing.output
    assert "| ndcg@10 |" in passing.output
    bad = runner.invoke(main, [*base, "--gate", "ndcg is great"])
    assert bad.exit_code != 0
    refused = runner.invoke(
        main, ["lifecycle", "promote", "docs", "--evaluation", "ev-0002",
               "--gate", "mrr >= champion + 1", "--data-dir", path],
    )  # fmt: skip
    assert refused.exit_code == 1
    promoted = runner.invoke(
        main,
        ["lifecycle", "promote", "docs", "--to", "enc-b:1", "--reason", "ci", "--data-dir", path],
    )
    assert promoted.exit_code == 0 and "docs__enc_a_1 → docs__enc_b_1" in promoted.output
    rolled = runner.invoke(main, ["lifecycle", "rollback", "docs", "--data-dir", path])
    assert rolled.exit_code == 0 and "→ docs__enc_a_1" in rolled.output
    history = runner.invoke(main, ["lifecycle", "history", "docs", "--data-dir", path])
    assert [line.split()[1] for line in history.output.splitlines()] == [
        "create:", "promote:", "rollback:",
    ]  # fmt: skip
    models = runner.invoke(main, ["lifecycle", "models", "--data-dir", path])
    assert "enc-a" in models.output and "1: hashing dim=8" in models.output
