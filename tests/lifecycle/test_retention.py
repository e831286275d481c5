"""Retention: spare physical versions are dropped; the serving version, the rollback
target, versions being built and experiment arms never are; a crash between the
event and the drop is finished on reopen."""

from __future__ import annotations

import pytest

from keeldb.errors import InvalidArgument
from tests.lifecycle.helpers import register_hashing, reopen, text_schema, word_rows


@pytest.fixture
def four_versions(client, tmp_path):
    """docs over enc-a..enc-d: a serves first, then b, then c (rollback target b); d unused."""
    for i, name in enumerate(("enc-a", "enc-b", "enc-c", "enc-d")):
        register_hashing(client, tmp_path, name, 8 + 8 * i, seed=i)
    lc = client.lifecycle
    lc.create_versioned_collection("docs", "enc-a:1", text_schema(8))
    client.insert("docs", word_rows(60))
    for name in ("enc-b", "enc-c", "enc-d"):
        assert lc.start_reembed("docs", f"{name}:1").wait(60)["state"] == "done"
    lc.promote("docs", to="docs__enc_b_1")
    lc.promote("docs", to="docs__enc_c_1")
    return client


def _versions(client):
    return list(client.lifecycle.versioned.require("default", "docs").versions)


def test_spares_beyond_keep_are_dropped_oldest_first(four_versions):
    client = four_versions
    lc = client.lifecycle
    # serving c, rollback target b; spares in the order added: a, d
    assert lc.drop_old_versions("docs", keep=1) == ["docs__enc_a_1"]
    assert not client.has_collection("docs__enc_a_1")
    assert _versions(client) == ["docs__enc_b_1", "docs__enc_c_1", "docs__enc_d_1"]
    assert lc.drop_old_versions("docs", keep=0) == ["docs__enc_d_1"]
    assert _versions(client) == ["docs__enc_b_1", "docs__enc_c_1"]
    assert lc.drop_old_versions("docs", keep=0) == []  # serving + rollback target stay


def test_rollback_and_dual_writes_still_work_after_retention(four_versions):
    client = four_versions
    lc = client.lifecycle
    lc.drop_old_versions("docs", keep=0)
    client.insert("docs", word_rows(1, 500))  # reaches the two live versions only
    for physical in ("docs__enc_b_1", "docs__enc_c_1"):
        assert client.get(physical, ids=[500])[0]["id"] == 500
    move = lc.rollback("docs")
    assert (move.old, move.new) == ("docs__enc_c_1", "docs__enc_b_1")
    assert client.describe_alias("docs")["collection_name"] == "docs__enc_b_1"


def test_experiment_arms_are_protected(four_versions):
    client = four_versions
    lc = client.lifecycle
    lc.start_experiment("docs", challenger="docs__enc_d_1", mode="shadow")
    assert lc.drop_old_versions("docs", keep=0) == ["docs__enc_a_1"]
    assert "docs__enc_d_1" in _versions(client)


def test_drop_events_survive_reopen_and_leftovers_are_dropped(four_versions):
    client = four_versions
    # a crash after the event and before the drop: write the event alone
    client.lifecycle.append(
        "collection_version_dropped", db="default", name="docs", physical="docs__enc_a_1",
        reason="test: crash before the drop",
    )  # fmt: skip
    assert client.has_collection("docs__enc_a_1")
    client = reopen(client)
    assert not client.has_collection("docs__enc_a_1")
    assert "docs__enc_a_1" not in _versions(client)
    assert client.describe_alias("docs")["collection_name"] == "docs__enc_c_1"


@pytest.mark.parametrize("keep", [-1, 1.5, True, "2"])
def test_bad_keep_is_refused(four_versions, keep):
    with pytest.raises(InvalidArgument, match="keep must be an integer >= 0"):
        four_versions.lifecycle.drop_old_versions("docs", keep=keep)
