"""The entry-point model kind: recorded freely, run only when this process allows it."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from keeldb.errors import DataError, FailedPrecondition, InvalidArgument
from tests.lifecycle.helpers import reopen, text_schema, word_rows

MODULE = textwrap.dedent(
    """
    import numpy as np
    from keeldb.lifecycle.encoders import HashingEncoder

    CALLS = []

    def make(dim=8, seed=0):
        CALLS.append((dim, seed))
        return HashingEncoder(dim, seed)

    def wrong_dim():
        return lambda texts: np.ones((len(texts), 3))
    """
)


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / "keel_test_plugin.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("KEELDB_ALLOW_ENTRY_POINTS", raising=False)
    import importlib

    import keel_test_plugin

    importlib.reload(keel_test_plugin)
    return keel_test_plugin


def test_an_entry_point_runs_only_once_allowed(client, plugin):
    lc = client.lifecycle
    mv = lc.register_entry_point("plug", "keel_test_plugin:make", dim=8, params={"seed": 4})
    assert (mv.kind, mv.dim, mv.lineage["code"]) == ("entry_point", 8, "keel_test_plugin:make")
    with pytest.raises(FailedPrecondition, match="has not allowed") as info:
        lc.encoder(mv.ref)
    assert "allow_entry_points" in str(info.value)
    assert plugin.CALLS == []  # refused before a line of the module's code ran for the model
    lc.allow_entry_points(["keel_test_plugin:make"])
    vectors = lc.encoder(mv.ref).encode(["apple banana", "kernel"])
    assert vectors.shape == (2, 8) and plugin.CALLS == [(8, 4)]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    lc.create_versioned_collection("docs", mv.ref, text_schema(8))
    client.insert("docs", word_rows(30))
    assert client.search("docs", data=[word_rows(1, 7)[0]["text"]], limit=1)[0][0]["id"] == 7
    # a reopened directory remembers the version, not the permission
    client2 = reopen(client)
    try:
        with pytest.raises(FailedPrecondition, match="has not allowed"):
            client2.lifecycle.encoder(mv.ref)
    finally:
        client2.close()


def test_environment_allow_list_and_module_wildcard(tmp_path, plugin, monkeypatch):
    import keeldb
    from tests.lifecycle.helpers import SETTINGS

    monkeypatch.setenv("KEELDB_ALLOW_ENTRY_POINTS", "other:thing, keel_test_plugin:*")
    with keeldb.Client(str(tmp_path / "d"), settings=SETTINGS) as client:
        mv = client.lifecycle.register_entry_point("plug", "keel_test_plugin:make", dim=8)
        assert client.lifecycle.encoder(mv.ref).encode(["x"]).shape == (1, 8)


def test_bad_entry_points_fail_clearly(client, plugin):
    lc = client.lifecycle
    with pytest.raises(InvalidArgument, match="'keel_test_plugin.make' is not of the form"):
        lc.register_entry_point("plug", "keel_test_plugin.make", dim=8)
    mv = lc.register_entry_point("bad", "keel_test_plugin:wrong_dim", dim=8)
    lc.allow_entry_points(["keel_test_plugin:wrong_dim"])
    with pytest.raises(DataError, match=r"returned shape \(2, 3\) .* registered as 8-d"):
        lc.encoder(mv.ref).encode(["a", "b"])
