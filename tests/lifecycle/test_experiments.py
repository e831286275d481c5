"""Online experiments: shadow and split traffic, stickiness, feedback metrics checked
against hand-computed values, the bounded shadow queue, durability, online gates."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from keeldb.errors import FailedPrecondition, InvalidArgument, NotFound
from keeldb.lifecycle import metrics as m
from keeldb.lifecycle import online_metrics as om
from keeldb.lifecycle.encoders import HashingEncoder
from tests.lifecycle.helpers import register_hashing, reopen, text_schema, word_rows

CHAMPION, CHALLENGER = "docs__enc_a_1", "docs__enc_b_1"


@pytest.fixture
def docs(client, tmp_path):
    register_hashing(client, tmp_path, "enc-a", 8, seed=1)
    register_hashing(client, tmp_path, "enc-b", 32, seed=2)
    client.lifecycle.create_versioned_collection("docs", "enc-a:1", text_schema(8))
    client.insert("docs", word_rows(200))
    assert client.lifecycle.start_reembed("docs", "enc-b:1").wait(60)["state"] == "done"
    return client


def _texts(n: int) -> list[str]:
    return [r["text"] for r in word_rows(n * 7)[::7]]


def _ids(client, physical: str, text: str, limit: int = 10) -> list[int]:
    return [h["id"] for h in client.search(physical, data=[text], limit=limit)[0]]


def test_shadow_serves_champion_and_records_agreement(docs):
    lc = docs.lifecycle
    ex = lc.start_experiment("docs", mode="shadow", k=10, reason="try enc-b")
    assert (ex.champion, ex.challenger, ex.mode) == (CHAMPION, CHALLENGER, "shadow")
    texts = _texts(20)
    for text in texts:
        reply = lc.search("docs", text, user_key="u1")
        assert reply["arm"] == "champion" and reply["request_id"].startswith("rq-")
        assert [h["id"] for h in reply["results"]] == _ids(docs, CHAMPION, text)
    summary = lc.experiment_metrics(ex.experiment_id)
    assert summary["requests"] == 20 and summary["shadow_dropped"] == 0
    assert summary["arms"]["champion"]["served"] == 20
    assert summary["arms"]["challenger"]["served"] == 0
    assert summary["arms"]["challenger"]["measured"] == 20  # the shadow runs were timed
    assert summary["arms"]["challenger"]["p99_ms"] >= summary["arms"]["challenger"]["p50_ms"] > 0
    pairs = [(_ids(docs, CHAMPION, t), _ids(docs, CHALLENGER, t)) for t in texts]
    expected_overlap = np.mean([om.overlap_at(a, b, 10) for a, b in pairs])
    expected_rbo = np.mean([om.rank_biased_overlap(a, b) for a, b in pairs])
    agreement = summary["agreement"]
    assert agreement["compared"] == 20
    assert agreement["overlap@10"] == pytest.approx(expected_overlap)
    assert agreement["rbo"] == pytest.approx(expected_rbo)
    low, high = agreement["overlap@10_ci"]
    assert low <= agreement["overlap@10"] <= high


def test_feedback_metrics_match_hand_computed_values(docs):
    lc = docs.lifecycle
    ex = lc.start_experiment("docs", mode="shadow")
    replies = [lc.search("docs", t) for t in _texts(10)]
    clicked_requests = 0
    grades_by_request = {}
    for i, reply in enumerate(replies):
        shown = [h["id"] for h in reply["results"]]
        if i % 2 == 0:  # clicks on the third result of every other request
            lc.feedback(reply["request_id"], clicked=[shown[2]])
            clicked_requests += 1
            grades_by_request[reply["request_id"]] = {str(shown[2]): 1.0}
    summary = lc.experiment_metrics(ex.experiment_id)
    champ = summary["arms"]["champion"]
    assert champ["ctr"] == pytest.approx(clicked_requests / 10)
    assert champ["ctr_ci"] == pytest.approx(list(om.wilson_interval(5, 10)))
    # a click at rank 3 of a single relevant id: nDCG = (1/log2 4) / 1 = 0.5
    assert champ["ndcg@10"] == pytest.approx(0.5) and champ["judged"] == 5
    challenger_ndcg = [
        m.ndcg_at(_ids(docs, CHALLENGER, t), grades_by_request[r["request_id"]], 10)
        for t, r in zip(_texts(10), replies) if r["request_id"] in grades_by_request
    ]  # fmt: skip
    assert summary["arms"]["challenger"]["ndcg@10"] == pytest.approx(np.mean(challenger_ndcg))
    diff = summary["diff"]["ndcg@10"]
    assert diff["mean"] == pytest.approx(np.mean(challenger_ndcg) - 0.5)
    # graded feedback replaces clicks as the judgement for nDCG
    first = replies[1]
    shown = [h["id"] for h in first["results"]]
    lc.feedback(first["request_id"], grades={str(shown[0]): 3, str(shown[1]): 1})
    ideal = (2**3 - 1) / 1 + (2**1 - 1) / np.log2(3)
    assert m.ndcg_at(shown, {str(shown[0]): 3, str(shown[1]): 1}) == pytest.approx(ideal / ideal)
    after = lc.experiment_metrics(ex.experiment_id)["arms"]["champion"]
    assert after["judged"] == 6 and after["ndcg@10"] == pytest.approx((0.5 * 5 + 1.0) / 6)


def test_split_is_sticky_per_user_and_serves_the_challenger_share(docs):
    lc = docs.lifecycle
    ex = lc.start_experiment("docs", mode="split", percent=30)
    text = _texts(1)[0]
    arms = {}
    for user in range(400):
        arms[user] = lc.search("docs", text, user_key=f"user-{user}")["arm"]
    share = sum(a == "challenger" for a in arms.values()) / len(arms)
    assert 0.30 - 4 * np.sqrt(0.3 * 0.7 / 400) < share < 0.30 + 4 * np.sqrt(0.3 * 0.7 / 400)
    for user in range(0, 400, 37):  # the same user always lands in the same arm
        for _ in range(3):
            reply = lc.search("docs", text, user_key=f"user-{user}")
            assert reply["arm"] == arms[user]
            physical = CHALLENGER if reply["arm"] == "challenger" else CHAMPION
            assert [h["id"] for h in reply["results"]] == _ids(docs, physical, text)
    summary = lc.experiment_metrics(ex.experiment_id)
    served = summary["arms"]["champion"]["served"] + summary["arms"]["challenger"]["served"]
    assert served == summary["requests"] == 400 + 11 * 3
    assert "agreement" not in summary


def test_shadow_never_waits_for_the_challenger_and_drops_when_the_queue_is_full(docs):
    lc = docs.lifecycle
    gate = threading.Event()

    class BlockedEncoder(HashingEncoder):
        def encode(self, texts):
            gate.wait(30)
            return super().encode(texts)

    lc.encoders.put(lc.model("enc-b:1"), BlockedEncoder(32, 2))
    lc.online._shadows.maxsize = 3  # a small bound, to fill it
    ex = lc.start_experiment("docs", mode="shadow")
    replies = [lc.search("docs", t) for t in _texts(8)]  # returns although no shadow can run
    assert all(r["arm"] == "champion" and r["results"] for r in replies)
    gate.set()
    summary = lc.experiment_metrics(ex.experiment_id)
    assert summary["requests"] == 8
    assert summary["shadow_dropped"] >= 1  # the full queue cost samples, not user latency
    assert summary["agreement"]["compared"] == 8 - summary["shadow_dropped"]
    # every request reached the disk, shadowed or not
    lines = lc.online.log_for(lc.experiments.get(ex.experiment_id))._log.events
    assert sorted(e["request_id"] for e in lines if e["type"] == "request") == sorted(
        r["request_id"] for r in replies
    )


def test_experiments_and_feedback_survive_reopen(docs):
    lc = docs.lifecycle
    ex = lc.start_experiment("docs", mode="split", percent=50, reason="ab")
    replies = [lc.search("docs", t, user_key=t) for t in _texts(6)]
    lc.feedback(replies[0]["request_id"], clicked=[replies[0]["results"][0]["id"]])
    before = lc.experiment_metrics(ex.experiment_id)
    client = reopen(docs)
    try:
        listed = client.lifecycle.list_experiments("docs")
        assert [e["experiment_id"] for e in listed] == [ex.experiment_id]
        assert listed[0]["mode"] == "split" and listed[0]["stopped_ms"] is None
        after = client.lifecycle.experiment_metrics(ex.experiment_id)
        assert after["requests"] == 6 and after["feedback"] == 1
        assert after["arms"] == before["arms"]
        # feedback on a request made before the restart still finds it
        client.lifecycle.feedback(replies[1]["request_id"], clicked=[])
        stopped = client.lifecycle.stop_experiment(ex.experiment_id, reason="enough")
        assert stopped.stopped_ms is not None and stopped.stop_reason == "enough"
        reply = client.lifecycle.search("docs", _texts(1)[0], user_key="x")
        assert reply["arm"] == "champion"  # no experiment: the champion serves
        with pytest.raises(NotFound, match="not part of any experiment"):
            client.lifecycle.feedback(reply["request_id"], clicked=[1])
    finally:
        client.close()


def test_online_gate_blocks_or_allows_promotion_and_stops_the_experiment(docs):
    lc = docs.lifecycle
    ex = lc.start_experiment("docs", mode="shadow")
    for t in _texts(30):
        lc.search("docs", t)
    with pytest.raises(FailedPrecondition, match="blocked by the gate"):
        lc.promote("docs", experiment_id=ex.experiment_id, gate="online.p99_ms <= champion * 0")
    with pytest.raises(InvalidArgument, match="not in the experiment.s challenger arm"):
        lc.promote("docs", experiment_id=ex.experiment_id, gate="online.ctr >= champion")
    with pytest.raises(InvalidArgument, match="needs an offline evaluation"):
        lc.promote("docs", experiment_id=ex.experiment_id, gate="ndcg@10 >= champion")
    assert docs.describe_alias("docs")["collection_name"] == CHAMPION
    move = lc.promote(
        "docs", experiment_id=ex.experiment_id, gate="online.p99_ms <= champion * 1000"
    )
    assert (move.old, move.new) == (CHAMPION, CHALLENGER)
    stopped = lc.experiments.get(ex.experiment_id)
    assert not stopped.running and "promote" in stopped.stop_reason


def test_bad_experiment_input_names_the_field(docs):
    lc = docs.lifecycle
    with pytest.raises(InvalidArgument, match="mode 'canary'"):
        lc.start_experiment("docs", mode="canary")
    with pytest.raises(InvalidArgument, match="split percent .* got 120"):
        lc.start_experiment("docs", mode="split", percent=120)
    with pytest.raises(InvalidArgument, match="is what 'docs' serves"):
        lc.start_experiment("docs", challenger=CHAMPION)
    ex = lc.start_experiment("docs")
    with pytest.raises(FailedPrecondition, match="already running"):
        lc.start_experiment("docs")
    with pytest.raises(InvalidArgument, match="one non-empty query text"):
        lc.search("docs", [0.1] * 8)
    reply = lc.search("docs", "apple")
    with pytest.raises(InvalidArgument, match=r"grades\['5'\] = -1"):
        lc.feedback(reply["request_id"], grades={"5": -1})
    with pytest.raises(InvalidArgument, match="clicked ids or relevance grades"):
        lc.feedback(reply["request_id"])
    with pytest.raises(NotFound, match="'rq-nope'"):
        lc.feedback("rq-nope", clicked=[1])
    lc.stop_experiment(ex.experiment_id)
    with pytest.raises(FailedPrecondition, match="already stopped"):
        lc.stop_experiment(ex.experiment_id)


def test_concurrent_queries_see_one_whole_version_while_the_alias_flips(docs):
    """Every answer during promote/rollback equals exactly one version's full answer."""
    lc = docs.lifecycle
    texts = _texts(4)
    expected = {t: {tuple(_ids(docs, CHAMPION, t, 8)), tuple(_ids(docs, CHALLENGER, t, 8))}
                for t in texts}  # fmt: skip
    assert all(len(v) == 2 for v in expected.values())  # the versions answer differently
    seen, errors, done = [], [], threading.Event()

    def reader(use_lifecycle: bool) -> None:
        i = 0
        while not done.is_set():
            text = texts[i % len(texts)]
            i += 1
            try:
                if use_lifecycle:
                    hits = lc.search("docs", text, limit=8)["results"]
                else:
                    hits = docs.search("docs", data=[text], limit=8)[0]
                seen.append(tuple(h["id"] for h in hits) in expected[text])
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=reader, args=(flag,)) for flag in (True, False)]
    for t in threads:
        t.start()
    for _ in range(8):
        lc.promote("docs", to="enc-b:1")
        lc.rollback("docs")
    done.set()
    for t in threads:
        t.join()
    assert errors == [] and seen and all(seen)
