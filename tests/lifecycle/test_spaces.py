"""Embedding spaces through keeldb.Client: text in, text search, wrong-space rejection."""

from __future__ import annotations

import numpy as np
import pytest

import keeldb
from keeldb.errors import DataError, InvalidArgument
from tests.lifecycle.helpers import register_hashing, reopen, text_schema, word_rows


def _bound(client, tmp_path, dim=16, metric="COSINE"):
    register_hashing(client, tmp_path, "enc", dim)
    index = [{"field_name": "vector", "index_type": "FLAT", "metric_type": metric}]
    client.create_collection("docs", schema=text_schema(dim), index_params=index)
    return client.lifecycle.bind_space("docs", "enc:1")


def test_text_insert_fills_vectors_and_text_search_embeds_the_query(client, tmp_path):
    space = _bound(client, tmp_path)
    assert (space.model_ref, space.dim, space.metric, space.normalize) == (
        "enc:1",
        16,
        "COSINE",
        True,
    )
    client.insert("docs", word_rows(60))
    stored = client.get("docs", ids=[7], output_fields=["vector"])[0]["vector"]
    expected = client.lifecycle.encoder("enc:1").encode([word_rows(1, 7)[0]["text"]])[0]
    np.testing.assert_allclose(stored, expected, atol=1e-6)
    text = word_rows(1, 7)[0]["text"]
    assert client.search("docs", data=[text], limit=1)[0][0]["id"] == 7
    assert client.search("docs", data=text, limit=1)[0][0]["id"] == 7  # a bare string works


def test_text_the_model_embeds_as_zero_gets_no_hits(client, tmp_path):
    _bound(client, tmp_path)
    client.insert("docs", word_rows(20))
    assert not client.lifecycle.embed("enc:1", [""]).any()  # no terms: a zero vector
    text = word_rows(1, 7)[0]["text"]
    hits = client.search("docs", data=["", text, ""], limit=2)
    alone = client.search("docs", data=[text], limit=2)[0]
    assert [len(h) for h in hits] == [0, 2, 0]
    assert [h["id"] for h in hits[1]] == [h["id"] for h in alone] and 7 in [h["id"] for h in alone]
    assert client.search("docs", data=[""], limit=2) == [[]]
    # a zero vector given as a vector is still refused: the caller made it
    with pytest.raises(InvalidArgument, match="zero vector: COSINE similarity is undefined"):
        client.search("docs", data=[[0.0] * 16], limit=2)


def test_binding_survives_reopen(client, tmp_path):
    _bound(client, tmp_path)
    client = reopen(client)
    try:
        client.insert("docs", word_rows(5))
        assert (
            client.query("docs", filter="id >= 0", output_fields=["count(*)"])[0]["count(*)"] == 5
        )
        assert client.lifecycle.space_of("docs").model_ref == "enc:1"
    finally:
        client.close()


def test_rows_with_vectors_pass_through_and_rows_with_neither_fail(client, tmp_path):
    _bound(client, tmp_path)
    vec = np.ones(16, dtype=np.float32) / 4
    client.insert("docs", [{"id": 1, "text": "x", "section": "a", "vector": vec}])
    got = client.get("docs", ids=[1], output_fields=["vector"])[0]["vector"]
    np.testing.assert_allclose(got, vec, atol=1e-6)
    with pytest.raises(DataError, match="neither 'vector' nor a text 'text'"):
        client.insert("docs", [{"id": 2, "section": "a"}])


def test_vectors_from_another_space_are_rejected(client, tmp_path):
    _bound(client, tmp_path)
    register_hashing(client, tmp_path, "other", 16, seed=5)
    client.insert("docs", word_rows(20))
    foreign = client.lifecycle.embed("other:1", ["apple banana"])
    with pytest.raises(InvalidArgument, match="embedding space other:1/16/COSINE/unit"):
        client.search("docs", data=foreign, limit=3)
    with pytest.raises(InvalidArgument, match="embed the query with model enc:1"):
        client.search("docs", data=np.asarray(foreign).tolist(), limit=3, model="other:1")
    own = client.lifecycle.embed("enc:1", ["apple banana"])
    assert len(client.search("docs", data=own, limit=3)[0]) == 3
    assert len(client.search("docs", data=own.tolist(), limit=3, model="enc:1")[0]) == 3


def test_text_search_without_a_space_says_how_to_bind(client):
    client.create_collection("plain", dimension=4)
    client.insert("plain", [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}])
    with pytest.raises(InvalidArgument, match="not bound to a model"):
        client.search("plain", data=["some text"], limit=1)


def test_binding_checks_dim_metric_and_text_field(client, tmp_path):
    register_hashing(client, tmp_path, "enc", 16)
    l2 = [{"field_name": "vector", "index_type": "FLAT", "metric_type": "L2"}]
    client.create_collection("wrong_dim", schema=text_schema(8), index_params=l2)
    with pytest.raises(InvalidArgument, match="makes 16-d vectors but field 'vector'"):
        client.lifecycle.bind_space("wrong_dim", "enc:1")
    client.create_collection("wrong_metric", schema=text_schema(16), index_params=l2)
    with pytest.raises(InvalidArgument, match="meant for COSINE but the index"):
        client.lifecycle.bind_space("wrong_metric", "enc:1")
    cosine = [{"field_name": "vector", "index_type": "FLAT", "metric_type": "COSINE"}]
    client.create_collection("ok", schema=text_schema(16), index_params=cosine)
    with pytest.raises(keeldb.errors.SchemaError, match="must be VARCHAR"):
        client.lifecycle.bind_space("ok", "enc:1", text_field="id")


def test_a_recreated_collection_is_not_bound(client, tmp_path):
    _bound(client, tmp_path)
    client.drop_collection("docs")
    index = [{"field_name": "vector", "index_type": "FLAT", "metric_type": "COSINE"}]
    client.create_collection("docs", schema=text_schema(16), index_params=index)
    assert client.lifecycle.space_of("docs") is None
    with pytest.raises(DataError):
        client.insert("docs", [{"id": 1, "text": "apple", "section": "a"}])
