"""Drift monitoring on a bound space: reference window from traffic, unshifted vs shifted
queries, the stored-vector reference, persistence, and the report in describe."""

from __future__ import annotations

import random

import pytest

from keeldb.errors import InvalidArgument
from tests.lifecycle.helpers import register_hashing, reopen, text_schema, word_rows

TOPIC_A = ["apple", "banana", "cherry", "delta", "echo", "foxtrot", "golf", "hotel"]
TOPIC_B = ["kernel", "driver", "firmware", "module", "socket", "printer", "codec", "daemon"]


def _queries(words, n, seed):
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(4)) for _ in range(n)]


@pytest.fixture
def bound(client, tmp_path):
    register_hashing(client, tmp_path, "enc", 32, seed=1)
    client.lifecycle.create_versioned_collection("docs", "enc:1", text_schema(32))
    client.insert("docs", word_rows(300))
    client.lifecycle.drift.window = 200
    return client


def _search_all(client, texts):
    for text in texts:
        client.search("docs", data=[text], limit=3)


def test_unshifted_traffic_does_not_alarm_and_shifted_traffic_does(bound):
    lc = bound.lifecycle
    first = lc.drift_report("docs")
    assert first["drifted"] is None and first["reason"] == "waiting for a reference window"
    _search_all(bound, _queries(TOPIC_A, 200, seed=1))  # fills and freezes the reference
    _search_all(bound, _queries(TOPIC_A, 200, seed=2))  # same distribution, new sample
    calm = lc.drift_report("docs")
    assert calm["reference_rows"] == calm["recent_rows"] == 200
    assert calm["reference_source"] == "traffic"
    assert calm["drifted"] is False
    assert calm["mean_shift"] <= calm["mean_shift_threshold"]
    _search_all(bound, _queries(TOPIC_B, 200, seed=3))  # users ask about something else
    shifted = lc.drift_report("docs")
    assert shifted["drifted"] is True
    assert shifted["mean_shift"] > shifted["mean_shift_threshold"]
    described = lc.describe("docs")
    assert described["versions"][0]["drift"]["queries"]["drifted"] is True
    # the reference and the last recent window survive a restart
    client = reopen(bound)
    try:
        client.lifecycle.drift.window = 200
        after = client.lifecycle.drift_report("docs")
        assert after["reference_rows"] == 200 and after["recent_rows"] == 200
        assert after["drifted"] is True and after["mean_shift"] == shifted["mean_shift"]
        _search_all(client, _queries(TOPIC_A, 200, seed=4))
        assert client.lifecycle.drift_report("docs")["drifted"] is False
        # accepting the change: the recent window becomes the reference
        _search_all(client, _queries(TOPIC_B, 200, seed=5))
        assert client.lifecycle.drift_report("docs")["drifted"] is True
        client.lifecycle.reset_drift_reference("docs")
        _search_all(client, _queries(TOPIC_B, 200, seed=6))
        assert client.lifecycle.drift_report("docs")["drifted"] is False
    finally:
        client.close()


def test_inserted_vectors_are_compared_with_a_sample_of_the_stored_ones(bound):
    lc = bound.lifecycle
    similar = [{"id": 1000 + i, "text": r["text"], "section": r["section"]}
               for i, r in enumerate(word_rows(120, 5))]  # fmt: skip
    bound.insert("docs", similar)
    report = lc.drift_report("docs", "vectors")
    assert report["reference_source"] == "stored sample" and report["reference_rows"] == 200
    assert report["drifted"] is False
    foreign = [{"id": 5000 + i, "text": t, "section": "x"}
               for i, t in enumerate(_queries(TOPIC_B, 200, seed=9))]  # fmt: skip
    bound.insert("docs", foreign)
    assert lc.drift_report("docs", "vectors")["drifted"] is True


def test_drift_input_errors(bound):
    with pytest.raises(InvalidArgument, match="drift stream 'clicks'"):
        bound.lifecycle.drift_report("docs", "clicks")
    bound.create_collection("plain", dimension=4)
    with pytest.raises(InvalidArgument, match="'plain' is not bound"):
        bound.lifecycle.drift_report("plain")
